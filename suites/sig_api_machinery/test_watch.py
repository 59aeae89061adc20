"""sig-api-machinery: WatchList (KEP-3157) and consistent reads from cache (KEP-2340)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from kubernetes.client.exceptions import ApiException

from kconformance.featurestate import parse_feature_metrics
from kconformance.manifests import NotServed
from kconformance.metrics import wait_until
from kconformance.testing import Kube, has_condition
from kconformance.transient import is_transient, transient_retry
from suites.sig_api_machinery.apis import group_for


def _open_watch(kube: Kube, path: str, resource_version: str = "") -> tuple[Any, Iterator[dict]]:
    """A watch with sendInitialEvents; the open response and its events."""
    response = kube.cluster.raw_stream(
        path,
        [
            ("watch", "true"),
            ("sendInitialEvents", "true"),
            ("resourceVersion", resource_version),
            ("resourceVersionMatch", "NotOlderThan"),
            ("allowWatchBookmarks", "true"),
            ("timeoutSeconds", "20"),
        ],
        timeout=30,
    )
    return response, (json.loads(line) for line in _lines(response))


def _until_initial_events_end(events: Iterator[dict]) -> list[dict]:
    """The events up to the initial-events-end bookmark (or the end of the stream)."""
    read = []
    for event in events:
        read.append(event)
        annotations = event["object"].get("metadata", {}).get("annotations") or {}
        if event["type"] == "BOOKMARK" and annotations.get("k8s.io/initial-events-end") == "true":
            break
    return read


def _stream(kube: Kube, path: str, resource_version: str = "") -> list[dict]:
    """Read a watch until the initial-events-end bookmark (or the server closes it)."""
    response, events = _open_watch(kube, path, resource_version)
    try:
        return _until_initial_events_end(events)
    finally:
        response.release_conn()


def _lines(response) -> Iterator[str]:
    buffer = b""
    for chunk in response.stream(4096):
        buffer += chunk
        *complete, buffer = buffer.split(b"\n")
        yield from (line.decode() for line in complete if line.strip())


def _body(exc: ApiException) -> str:
    body = exc.body
    return body.decode() if isinstance(body, bytes) else str(body)


@contextmanager
def _refusal_is_not_served() -> Iterator[None]:
    """A watch request the apiserver refuses (422: the WatchList gate off there) means it does
    not serve such watches: NotServed, with the server's reason - gated at the API, not a
    behaviour seen missing. A transient error stays what it is."""
    try:
        yield
    except ApiException as exc:
        if is_transient(exc):
            raise
        raise NotServed(
            f"the apiserver refused the watch with sendInitialEvents: {_body(exc)}"
        ) from None


def _configmaps(kube: Kube) -> tuple[set[str], str]:
    """Create three ConfigMaps; return their names and the resourceVersion of the last write."""
    written = [
        kube.cluster.core.create_namespaced_config_map(
            kube.namespace, {"metadata": {"name": f"cm-{i}"}}
        )
        for i in range(3)
    ]
    return {cm.metadata.name for cm in written}, str(written[-1].metadata.resource_version)


@pytest.mark.feature("WatchList")
def test_watch_with_initial_events_ends_with_a_bookmark(kube: Kube) -> None:
    """A watch with sendInitialEvents=true and resourceVersionMatch=NotOlderThan first delivers
    an ADDED event per existing object, then a BOOKMARK annotated
    k8s.io/initial-events-end: "true".

    The watch asks for a state not older than the last ConfigMap write (its resourceVersion):
    the apiserver then waits until its watch cache has that write before it sends the initial
    events. With resourceVersion "" 1.28 sends whatever its cache holds at that moment, which
    may not have the writes just made yet."""
    names, written = _configmaps(kube)
    with _refusal_is_not_served():
        events = _stream(kube, f"/api/v1/namespaces/{kube.namespace}/configmaps", written)
    *initial, last = events
    assert last["type"] == "BOOKMARK"
    assert last["object"]["metadata"]["annotations"]["k8s.io/initial-events-end"] == "true"
    assert {e["type"] for e in initial} == {"ADDED"}
    assert names <= {e["object"]["metadata"]["name"] for e in initial}


@pytest.mark.feature("WatchList")
def test_the_watch_goes_on_after_the_initial_events(kube: Kube) -> None:
    """Upstream's informer spec: the stream does not end with the initial events - after the
    initial-events-end bookmark the same watch delivers what changes next, a ConfigMap created
    then (ADDED) and its update (MODIFIED, with the new data); periodic bookmarks in between
    are skipped."""
    _, written = _configmaps(kube)
    with _refusal_is_not_served():
        response, events = _open_watch(
            kube, f"/api/v1/namespaces/{kube.namespace}/configmaps", written
        )
    try:
        assert _until_initial_events_end(events)[-1]["type"] == "BOOKMARK"
        core = kube.cluster.core
        transient_retry(core.create_namespaced_config_map)(
            kube.namespace, {"metadata": {"name": "after"}}
        )
        transient_retry(core.patch_namespaced_config_map)(
            "after", kube.namespace, {"data": {"changed": "yes"}}
        )
        later = (e for e in events if e["type"] != "BOOKMARK")
        added, modified = next(later, None), next(later, None)
    finally:
        response.release_conn()
    assert added and modified, "the watch ended without delivering the changes after the bookmark"
    assert (added["type"], added["object"]["metadata"]["name"]) == ("ADDED", "after")
    assert (modified["type"], modified["object"]["metadata"]["name"]) == ("MODIFIED", "after")
    assert modified["object"]["data"] == {"changed": "yes"}


@pytest.mark.feature("WatchList", off=True)
def test_without_watch_list_the_request_is_refused(kube: Kube) -> None:
    """Without the WatchList gate (1.28 default) the same request is refused with 422:
    "sendInitialEvents is forbidden for watch unless the WatchList feature gate is enabled"."""
    _, written = _configmaps(kube)
    with pytest.raises(ApiException) as refused:
        _stream(kube, f"/api/v1/namespaces/{kube.namespace}/configmaps", written)
    assert refused.value.status == 422
    assert (
        "sendInitialEvents is forbidden for watch unless the WatchList feature gate is enabled"
        in _body(refused.value)
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


def _served_from_cache(kube: Kube, group: str, path: str) -> bool:
    """One consistent LIST of ``path``; whether the watch cache served it (its counter grew
    across the request). A LIST the cache could not serve - the cache not ready yet, or (1.28)
    refused with 504 because the cache did not reach etcd's current revision within 3 s, which
    asks the client to retry - is not counted. A LIST that answers must see the object."""
    before = _cache_lists(kube, group)
    try:
        listed = json.loads(kube.cluster.raw_get(path))
    except ApiException as exc:
        if is_transient(exc):  # 504 Too large resource version, 429, ...: not served
            return False
        raise
    assert [item["metadata"]["name"] for item in listed["items"]] == ["example"]
    return _cache_lists(kube, group) > before


@pytest.mark.feature("ConsistentListFromCache")
def test_consistent_list_is_served_from_the_watch_cache(kube: Kube) -> None:
    """ "consistent reads from cache": a LIST without resourceVersion (a consistent read, which
    used to go to etcd every time) is served from the watch cache once the cache has caught up
    with etcd's current revision - and still sees an object written just before it.

    Shown by the apiserver's own counter of LISTs served from the watch cache, for a CRD of
    the test's own (nothing else lists it): consistent LISTs are repeated, each checked on its
    own, until three of them made the counter grow - the first ones may come before the new
    CRD's watch cache is ready, or before it catches up with etcd (1.28: 504 after 3 s; later
    releases: served from etcd). With the gate off they all go to etcd and the counter stays
    where it was (the garbage collector's and quota controller's one-off informer LISTs of a
    new resource could make at most two of them look served); the apiserver reporting the gate
    off ends the wait at once.
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
    gates = parse_feature_metrics(kube.cluster.raw_get("/metrics"))
    assert gates.get("ConsistentListFromCache") is not False, (
        "the apiserver reports ConsistentListFromCache off: consistent LISTs go to etcd"
    )
    path = f"/apis/{group}/v1/namespaces/{kube.namespace}/mycrds"
    served: list[bool] = []

    def one_more_list() -> int:
        served.append(_served_from_cache(kube, group, path))
        return sum(served)

    wait_until(
        one_more_list,
        lambda count: count >= 3,
        timeout=90,
        description=f"three consistent LISTs of {path} served from the watch cache",
    )
