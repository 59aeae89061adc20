"""kube.defer: changes to shared objects are undone after the test, newest first; a node
taint's undo removes only the taint the test added, kube.hold's only its finalizer."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from kubernetes.client import ApiClient, V1Taint

from kconformance.workspace import HOLD_FINALIZER, Kube


class FakeCore:
    def __init__(self, taints: list[dict]) -> None:
        self.taints = [V1Taint(**t) for t in taints]
        self.version = 1
        self.conflicts = 0

    def read_node(self, name: str) -> Any:
        return SimpleNamespace(
            spec=SimpleNamespace(taints=list(self.taints)),
            metadata=SimpleNamespace(resource_version=str(self.version)),
        )

    def patch_node(self, name: str, body: dict) -> None:
        from kubernetes.client.exceptions import ApiException

        if self.conflicts:
            self.conflicts -= 1
            self.version += 1
            raise ApiException(status=409, reason="Conflict")
        assert body["metadata"]["resourceVersion"] == str(self.version)
        self.taints = [V1Taint(**t) for t in body["spec"]["taints"]]
        self.version += 1


def kube_with(core: FakeCore) -> Kube:
    cluster = SimpleNamespace(core=core, api=ApiClient())
    return Kube(cluster, "ns", manifests=None)  # type: ignore[arg-type]


def keys(core: FakeCore) -> list[str]:
    return [t.key for t in core.taints]


def test_undo_removes_only_the_taint_the_test_added():
    core = FakeCore([{"key": "node.kubernetes.io/unreachable", "effect": "NoSchedule"}])
    kube = kube_with(core)
    kube.add_node_taint(
        "w", {"key": "node.kubernetes.io/out-of-service", "value": "x", "effect": "NoExecute"}
    )
    assert keys(core) == ["node.kubernetes.io/unreachable", "node.kubernetes.io/out-of-service"]
    # the node controller adds its own taint meanwhile: it must survive the undo
    core.taints.append(V1Taint(key="node.kubernetes.io/not-ready", effect="NoExecute"))
    core.conflicts = 1  # and the node changes under the undo once: read again
    assert kube.cleanup() == []
    assert keys(core) == ["node.kubernetes.io/unreachable", "node.kubernetes.io/not-ready"]


def test_undos_run_newest_first_and_a_failure_does_not_stop_the_rest():
    kube = kube_with(FakeCore([]))
    ran: list[str] = []
    kube.defer(lambda: ran.append("first"), "first")

    def broken() -> None:
        ran.append("broken")
        raise RuntimeError("apiserver went away")

    kube.defer(broken, "broken")
    kube.defer(lambda: ran.append("last"), "last")
    problems = kube.cleanup()
    assert ran == ["last", "broken", "first"]
    assert problems == ["undo broken: apiserver went away"]
    assert kube.cleanup() == []  # undos run once


class FakeResource:
    """A namespaced object with finalizers, patched by merge patch guarded by resourceVersion."""

    namespaced = True

    def __init__(self, finalizers: list[str]) -> None:
        self.finalizers = finalizers
        self.version = 1
        self.conflicts = 0

    def get(self, name: str, namespace: str | None) -> Any:
        meta = SimpleNamespace(resourceVersion=str(self.version), finalizers=list(self.finalizers))
        return SimpleNamespace(metadata=meta)

    def patch(self, name: str, namespace: str | None, body: dict, content_type: str) -> None:
        from kubernetes.client.exceptions import ApiException

        assert content_type == "application/merge-patch+json"
        if self.conflicts:
            self.conflicts -= 1
            self.version += 1
            raise ApiException(status=409, reason="Conflict")
        assert body["metadata"]["resourceVersion"] == str(self.version)
        self.finalizers = body["metadata"]["finalizers"]
        self.version += 1


def test_hold_adds_a_finalizer_and_the_undo_removes_only_that_one():
    resource = FakeResource(["example.com/theirs"])
    cluster = SimpleNamespace(resource=lambda kind, api_version=None: resource)
    kube = Kube(cluster, "ns", manifests=None)  # type: ignore[arg-type]
    resource.conflicts = 1
    kube.hold("Pod", "p")
    assert resource.finalizers == ["example.com/theirs", HOLD_FINALIZER]
    resource.finalizers.append("example.com/later")  # another controller's, added meanwhile
    assert kube.cleanup() == []
    assert resource.finalizers == ["example.com/theirs", "example.com/later"]
