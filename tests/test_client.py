"""Cluster.resource re-reads discovery once when a kind is missing (a CRD just added)."""

from __future__ import annotations

from pathlib import Path

import pytest
from kubernetes.dynamic.exceptions import ResourceNotFoundError

from kconformance.client import Cluster


class FakeDiscovery:
    def __init__(self, known_after_refresh: bool) -> None:
        self.fresh = False
        self.known_after_refresh = known_after_refresh
        self.invalidations = 0

    def get(self, **query):
        if self.fresh and self.known_after_refresh:
            return f"resource {query['kind']}"
        raise ResourceNotFoundError(f"no {query}")

    def invalidate_cache(self):
        self.invalidations += 1
        self.fresh = True


class FakeDynamic:
    def __init__(self, discovery: FakeDiscovery) -> None:
        self.resources = discovery


def cluster_with(discovery: FakeDiscovery) -> Cluster:
    cluster = Cluster(name="c", kubeconfig=Path("/nonexistent"), release="1.28")
    cluster.__dict__["dynamic"] = FakeDynamic(discovery)
    return cluster


def test_missing_kind_refreshes_discovery_once():
    discovery = FakeDiscovery(known_after_refresh=True)
    assert cluster_with(discovery).resource("MyCRD", "x.example.com/v1") == "resource MyCRD"
    assert discovery.invalidations == 1


def test_unknown_kind_still_raises_after_refresh():
    discovery = FakeDiscovery(known_after_refresh=False)
    with pytest.raises(ResourceNotFoundError):
        cluster_with(discovery).resource("Nope")
    assert discovery.invalidations == 1
