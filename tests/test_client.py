"""Discovery resolves a kind by reading only the group versions it needs, and survives groups
that come and go while other tests run."""

from __future__ import annotations

from pathlib import Path

import pytest
from kubernetes.client.exceptions import ApiException
from kubernetes.dynamic.exceptions import NotFoundError, ResourceNotFoundError

from kconformance.client import Cluster, Discovery


class FakeSource:
    """Group versions served by a fake server; ``gone`` ones answer 404 like a deleted CRD group."""

    def __init__(self, served: dict[str, list[str]]) -> None:
        self.served = served
        self.gone: set[str] = set()
        self.reads: list[str] = []

    def group_versions(self) -> list[str]:
        return [gv for gv in self.served if gv != "v1"]

    def kinds(self, api_version: str) -> dict[str, list[str]]:
        self.reads.append(api_version)
        if api_version in self.gone or api_version not in self.served:
            raise NotFoundError(ApiException(status=404, reason="Not Found"))
        return {kind: [f"{kind}@{api_version}"] for kind in self.served[api_version]}


def cluster_with(source: FakeSource) -> Cluster:
    cluster = Cluster(name="c", kubeconfig=Path("/nonexistent"), release="1.28")
    cluster.__dict__["discovery"] = Discovery(source)
    return cluster


SERVED = {
    "v1": ["Pod", "ServiceAccount"],
    "apps/v1": ["Deployment"],
    "kc-test-a.example.com/v1": ["Widget"],
    "kc-test-b.example.com/v1": ["Gadget"],
}


def test_core_kind_reads_only_the_core_group():
    source = FakeSource(dict(SERVED))
    assert cluster_with(source).resource("ServiceAccount") == "ServiceAccount@v1"
    assert source.reads == ["v1"]


def test_a_group_deleted_meanwhile_does_not_break_another_lookup():
    """What a concurrent test's CRD deletion did to `resource("ServiceAccount")` with -n 4."""
    source = FakeSource(dict(SERVED))
    cluster = cluster_with(source)
    assert cluster.resource("Gadget") == "Gadget@kc-test-b.example.com/v1"  # walks, caches
    source.gone.add("kc-test-a.example.com/v1")
    del source.served["kc-test-a.example.com/v1"]
    assert cluster.resource("ServiceAccount") == "ServiceAccount@v1"
    assert (
        cluster.resource("Gadget", "kc-test-b.example.com/v1") == "Gadget@kc-test-b.example.com/v1"
    )


def test_a_404_group_is_skipped_while_walking_for_a_kind():
    source = FakeSource(dict(SERVED))
    source.gone.add("kc-test-a.example.com/v1")  # listed in /apis, but already gone
    assert cluster_with(source).resource("Gadget") == "Gadget@kc-test-b.example.com/v1"


def test_versioned_lookup_reads_only_its_group_version():
    source = FakeSource(dict(SERVED))
    assert cluster_with(source).resource("Deployment", "apps/v1") == "Deployment@apps/v1"
    assert source.reads == ["apps/v1"]


def test_missing_kind_refreshes_once_then_finds_a_new_crd():
    source = FakeSource(dict(SERVED))
    cluster = cluster_with(source)
    cluster.resource("Widget", "kc-test-a.example.com/v1")
    source.served["kc-test-a.example.com/v1"] = ["Widget", "Sprocket"]  # CRD just established
    assert cluster.resource("Sprocket", "kc-test-a.example.com/v1").startswith("Sprocket@")
    assert source.reads.count("kc-test-a.example.com/v1") == 2


def test_unknown_kind_still_raises_after_refresh():
    source = FakeSource(dict(SERVED))
    with pytest.raises(ResourceNotFoundError, match="no kind Nope"):
        cluster_with(source).resource("Nope")
