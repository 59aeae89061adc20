"""A test's view of its cluster: its own namespace, manifests to apply, waits, cleanup.

Namespaced objects go away with the namespace; cluster-scoped ones (CRDs, PVs, StorageClasses,
admission policies) are remembered and deleted after the test, so no test leaks into the next.
Changes to objects the test does not own (a node's taints, a StorageClass's annotation) register
their undo with ``defer``; undos run after the test, newest first, even when it failed.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable
from typing import Any

from kubernetes.client.exceptions import ApiException

from kconformance import waits
from kconformance.client import Cluster
from kconformance.manifests import ManifestSet, apply_object
from kconformance.transient import transient_retry

# the finalizer Kube.hold puts on an object to keep it readable after its deletion
HOLD_FINALIZER = "kconformance.io/hold"


def namespace_name(test_name: str) -> str:
    """A DNS-1123 label from the test name plus a random suffix: readable and unique."""
    slug = re.sub(r"[^a-z0-9-]+", "-", test_name.lower()).strip("-")
    slug = re.sub(r"-+", "-", slug)[:40].strip("-") or "test"
    return f"kc-{slug}-{secrets.token_hex(2)}"


def create_namespace(cluster: Cluster, name: str, labels: dict[str, str]) -> None:
    """Create the namespace, asking again on a transient error; a 409 after such a retry means
    the first attempt got through."""

    @transient_retry
    def create() -> None:
        try:
            cluster.core.create_namespace({"metadata": {"name": name, "labels": labels}})
        except ApiException as exc:
            if exc.status != 409:
                raise

    create()


class Kube:
    def __init__(self, cluster: Cluster, namespace: str, manifests: ManifestSet) -> None:
        self.cluster = cluster
        self.namespace = namespace
        self.manifests = manifests
        self._cluster_scoped: list[tuple[str, str, str]] = []
        self._undo: list[tuple[str, Callable[[], object]]] = []

    @property
    def release(self) -> str:
        return self.cluster.release

    def image(self, role: str) -> str:
        return self.manifests.images[role]

    # -- manifests --------------------------------------------------------------------------
    def render(self, manifest: str, **values: Any) -> list[dict[str, Any]]:
        values.setdefault("namespace", self.namespace)
        return self.manifests.render(manifest, **values)

    def apply(self, manifest: str, **values: Any) -> list[dict[str, Any]]:
        """Apply every document of ``manifests/<manifest>`` and return what the server stored."""
        return self.apply_objects(self.render(manifest, **values), source=manifest)

    def apply_objects(
        self, objects: list[dict[str, Any]], source: str = "<object>"
    ) -> list[dict[str, Any]]:
        stored = []
        for obj in objects:
            result = apply_object(self.cluster, obj, self.namespace, source)
            if not result.get("metadata", {}).get("namespace"):
                self._remember(obj)
            stored.append(result)
        return stored

    def _remember(self, obj: dict[str, Any]) -> None:
        key = (obj["apiVersion"], obj["kind"], obj["metadata"]["name"])
        if key not in self._cluster_scoped:
            self._cluster_scoped.append(key)

    # -- reads and waits --------------------------------------------------------------------
    def _ns_for(self, kind: str, api_version: str | None) -> str | None:
        return self.namespace if self.cluster.resource(kind, api_version).namespaced else None

    def get(self, kind: str, name: str, api_version: str | None = None) -> dict[str, Any] | None:
        resource = self.cluster.resource(kind, api_version)
        namespace = self.namespace if resource.namespaced else None

        @transient_retry
        def read() -> dict[str, Any] | None:
            try:
                return dict(resource.get(name=name, namespace=namespace).to_dict())
            except ApiException as exc:
                if exc.status == 404:
                    return None
                raise

        return read()

    def list(
        self, kind: str, label_selector: str | None = None, api_version: str | None = None
    ) -> list[dict[str, Any]]:
        resource = self.cluster.resource(kind, api_version)
        namespace = self.namespace if resource.namespaced else None
        listing = transient_retry(resource.get)(namespace=namespace, label_selector=label_selector)
        return list(listing.to_dict().get("items", []))

    def wait_for(
        self,
        kind: str,
        predicate: Callable[[Any], bool],
        *,
        name: str | None = None,
        label_selector: str | None = None,
        api_version: str | None = None,
        timeout: float = 120,
        fail: waits.FailCheck | None | Any = waits.TERMINAL,
        description: str = "",
    ) -> Any:
        """``waits.wait_for`` in this namespace (Pod and Job waits stop on terminal states)."""
        return waits.wait_for(
            self.cluster,
            kind,
            predicate,
            name=name,
            namespace=self._ns_for(kind, api_version),
            label_selector=label_selector,
            api_version=api_version,
            timeout=timeout,
            fail=fail,
            description=description,
        )

    def wait_deleted(self, kind: str, name: str, timeout: float = 120) -> None:
        waits.wait_deleted(self.cluster, kind, name, self._ns_for(kind, None), timeout)

    def delete(
        self,
        kind: str,
        name: str,
        api_version: str | None = None,
        grace_period_seconds: int | None = None,
        propagation: str = "Background",
    ) -> None:
        resource = self.cluster.resource(kind, api_version)
        namespace = self.namespace if resource.namespaced else None
        body: dict[str, Any] = {"propagationPolicy": propagation}
        if grace_period_seconds is not None:
            body["gracePeriodSeconds"] = grace_period_seconds
        try:
            transient_retry(resource.delete)(name=name, namespace=namespace, body=body)
        except ApiException as exc:
            if exc.status != 404:
                raise

    def kubectl(self, *args: str, **kwargs: Any) -> Any:
        return self.cluster.kubectl(*args, **kwargs)

    # -- changes to shared objects, undone after the test ---------------------------------
    def defer(self, undo: Callable[[], object], what: str = "") -> None:
        """Run ``undo`` after the test (newest first, whatever the outcome); a failing undo
        is reported as a cleanup problem and does not stop the others."""
        self._undo.append((what or getattr(undo, "__name__", "undo"), undo))

    def add_node_taint(self, node: str, taint: dict[str, str]) -> None:
        """Add ``taint`` to ``node``; after the test remove that taint only (the node
        controller's own taints, added meanwhile, stay)."""
        same = lambda t: t.get("key") == taint["key"] and t.get("effect") == taint["effect"]  # noqa: E731
        self._patch_taints(node, lambda taints: [*[t for t in taints if not same(t)], taint])
        self.defer(
            lambda: self._patch_taints(node, lambda taints: [t for t in taints if not same(t)]),
            f"remove taint {taint['key']}:{taint['effect']} from node {node}",
        )

    def _patch_taints(self, node: str, change: Callable[[list[dict]], list[dict]]) -> None:
        """Read-modify-write of a node's taints, guarded by resourceVersion (409: read again)."""
        core = self.cluster.core
        for _ in range(10):
            current = transient_retry(core.read_node)(node)
            taints = self.cluster.api.sanitize_for_serialization(current.spec.taints or [])
            body = {
                "metadata": {"resourceVersion": current.metadata.resource_version},
                "spec": {"taints": change(taints)},
            }
            try:
                transient_retry(core.patch_node)(node, body)
                return
            except ApiException as exc:
                if exc.status != 409:
                    raise
        raise RuntimeError(f"node {node}: taints changed under us ten times in a row")

    def set_annotation(
        self, kind: str, name: str, key: str, value: str | None, api_version: str | None = None
    ) -> None:
        """Set (or with None remove) an annotation of a cluster object; after the test put the
        previous value back."""
        resource = self.cluster.resource(kind, api_version)
        namespace = self.namespace if resource.namespaced else None
        current = transient_retry(resource.get)(name=name, namespace=namespace)
        before = (current.metadata.annotations or {}).get(key) if current.metadata else None

        def put(to: str | None) -> None:
            transient_retry(resource.patch)(
                name=name,
                namespace=namespace,
                body={"metadata": {"annotations": {key: to}}},
                content_type="application/merge-patch+json",
            )

        put(value)
        self.defer(lambda: put(before), f"annotation {key} of {kind} {name} back to {before!r}")

    def hold(self, kind: str, name: str, api_version: str | None = None) -> None:
        """Keep an object readable once it is deleted, until the test ends: a finalizer of
        ours (HOLD_FINALIZER) stops the API server from removing it, so a test can read the
        state its controller or kubelet wrote last (a deleted pod's phase). After the test only
        that finalizer is removed, and the object goes."""
        resource = self.cluster.resource(kind, api_version)
        namespace = self.namespace if resource.namespaced else None

        def finalizers(change: Callable[[list[str]], list[str]]) -> None:
            """Read-modify-write guarded by resourceVersion (409: read again)."""
            for _ in range(10):
                current = transient_retry(resource.get)(name=name, namespace=namespace)
                body = {
                    "metadata": {
                        "resourceVersion": current.metadata.resourceVersion,
                        "finalizers": change(list(current.metadata.finalizers or [])),
                    }
                }
                try:
                    transient_retry(resource.patch)(
                        name=name,
                        namespace=namespace,
                        body=body,
                        content_type="application/merge-patch+json",
                    )
                    return
                except ApiException as exc:
                    if exc.status != 409:
                        raise
            raise RuntimeError(f"{kind} {name}: changed under us ten times in a row")

        finalizers(lambda held: [*held, HOLD_FINALIZER])
        self.defer(
            lambda: finalizers(lambda held: [f for f in held if f != HOLD_FINALIZER]),
            f"release {kind} {name} (finalizer {HOLD_FINALIZER})",
        )

    # -- teardown ---------------------------------------------------------------------------
    def cleanup(self) -> list[str]:
        """Run the deferred undos, then delete remembered cluster-scoped objects, newest first;
        returns what could not be undone or deleted."""
        problems = []
        while self._undo:
            what, undo = self._undo.pop()
            try:
                undo()
            except Exception as exc:
                problems.append(f"undo {what}: {exc}")
        for api_version, kind, name in reversed(self._cluster_scoped):
            try:
                self.delete(kind, name, api_version=api_version)
            except Exception as exc:
                problems.append(f"{kind} {name}: {exc}")
        self._cluster_scoped.clear()
        return problems
