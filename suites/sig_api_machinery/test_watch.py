"""sig-api-machinery: WatchList (KEP-3157) and consistent reads from cache (KEP-2340)."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from kubernetes.client.exceptions import ApiException

from kconformance.testing import Kube, has_condition
from suites.sig_api_machinery.apis import group_for


def _stream(kube: Kube, path: str) -> list[dict]:
    """Read a watch until the initial-events-end bookmark (or the server closes it)."""
    response = kube.cluster.raw_stream(
        path,
        [
            ("watch", "true"),
            ("sendInitialEvents", "true"),
            ("resourceVersionMatch", "NotOlderThan"),
            ("allowWatchBookmarks", "true"),
            ("timeoutSeconds", "20"),
        ],
        timeout=30,
    )
    events = []
    for line in _lines(response):
        event = json.loads(line)
        events.append(event)
        annotations = event["object"].get("metadata", {}).get("annotations") or {}
        if event["type"] == "BOOKMARK" and annotations.get("k8s.io/initial-events-end") == "true":
            break
    response.release_conn()
    return events


def _lines(response) -> Iterator[str]:
    buffer = b""
    for chunk in response.stream(4096):
        buffer += chunk
        *complete, buffer = buffer.split(b"\n")
        yield from (line.decode() for line in complete if line.strip())


def _configmaps(kube: Kube) -> set[str]:
    for i in range(3):
        kube.cluster.core.create_namespaced_config_map(
            kube.namespace, {"metadata": {"name": f"cm-{i}"}}
        )
    return {"cm-0", "cm-1", "cm-2"}


@pytest.mark.feature("WatchList")
def test_watch_with_initial_events_ends_with_a_bookmark(kube: Kube) -> None:
    """A watch with sendInitialEvents=true and resourceVersionMatch=NotOlderThan first delivers
    an ADDED event per existing object, then a BOOKMARK annotated
    k8s.io/initial-events-end: "true"."""
    names = _configmaps(kube)
    events = _stream(kube, f"/api/v1/namespaces/{kube.namespace}/configmaps")
    *initial, last = events
    assert last["type"] == "BOOKMARK"
    assert last["object"]["metadata"]["annotations"]["k8s.io/initial-events-end"] == "true"
    assert {e["type"] for e in initial} == {"ADDED"}
    assert names <= {e["object"]["metadata"]["name"] for e in initial}


@pytest.mark.feature("WatchList", off=True)
def test_without_watch_list_the_request_is_refused(kube: Kube) -> None:
    """Without the WatchList gate (1.28 default) the same request is refused with 422:
    "sendInitialEvents is forbidden for watch unless the WatchList feature gate is enabled"."""
    _configmaps(kube)
    with pytest.raises(ApiException) as refused:
        _stream(kube, f"/api/v1/namespaces/{kube.namespace}/configmaps")
    assert refused.value.status == 422
    body = refused.value.body
    text = body.decode() if isinstance(body, bytes) else str(body)
    assert (
        "sendInitialEvents is forbidden for watch unless the WatchList feature gate is enabled"
        in text
    )


def _cache_lists(kube: Kube, group: str) -> float:
    """apiserver_cache_list_total for the resources of ``group``: LISTs the watch cache served.

    1.28 labels the series with resource_prefix="/<group>/<plural>", later releases with
    group="<group>"; either way the test's own CRD group names only its own resource.
    """
    total = 0.0
    for line in kube.cluster.raw_get("/metrics").splitlines():
        if line.startswith("apiserver_cache_list_total{") and f"{group}" in line:
            total += float(line.rsplit(" ", 1)[1])
    return total


@pytest.mark.feature("ConsistentListFromCache")
def test_consistent_list_is_served_from_the_watch_cache(kube: Kube) -> None:
    """ "consistent reads from cache": a LIST without resourceVersion (a consistent read, which
    used to go to etcd every time) is served from the watch cache once the cache has caught up
    with etcd's current revision - and still sees an object written just before it.

    Shown by the apiserver's own counter of LISTs served from the watch cache, for a CRD of
    the test's own (nothing else lists it): three consistent LISTs make it grow by at least
    three. With the gate off they go to etcd and the counter stays where it was (the garbage
    collector's and quota controller's one-off informer LISTs of a new resource could add at
    most two).
    """
    group = group_for(kube)
    (crd,) = kube.apply("sig_api_machinery/ratcheting-crd.yaml", group=group, fieldA_rules="")
    kube.wait_for(
        "CustomResourceDefinition",
        lambda c: has_condition(c, "Established"),
        name=crd["metadata"]["name"],
        timeout=60,
    )
    kube.apply("sig_api_machinery/ratcheting-cr.yaml", group=group, fieldA="a", fieldB="")
    path = f"/apis/{group}/v1/namespaces/{kube.namespace}/mycrds"
    before = _cache_lists(kube, group)
    for _ in range(3):
        listed = json.loads(kube.cluster.raw_get(path))
        assert [item["metadata"]["name"] for item in listed["items"]] == ["example"]
    after = _cache_lists(kube, group)
    assert after - before >= 3, f"apiserver_cache_list_total for {group}: {before} -> {after}"
