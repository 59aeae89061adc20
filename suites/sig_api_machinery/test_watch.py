"""sig-api-machinery: WatchList (KEP-3157) and consistent reads from cache (KEP-2340)."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from kubernetes.client.exceptions import ApiException

from kconformance.featurestate import parse_feature_metrics
from kconformance.testing import Kube


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


@pytest.mark.feature("ConsistentListFromCache")
def test_consistent_list_from_cache_gate_reached_the_apiserver(kube: Kube) -> None:
    """ConsistentListFromCache has no API field: the apiserver reports the gate on in its
    kubernetes_feature_enabled metric, and a list with resourceVersion="" (the request it
    serves from the watch cache) sees an object written just before it."""
    gates = parse_feature_metrics(kube.cluster.raw_get("/metrics"))
    assert gates.get("ConsistentListFromCache") is True
    kube.cluster.core.create_namespaced_config_map(kube.namespace, {"metadata": {"name": "fresh"}})
    listed = kube.cluster.core.list_namespaced_config_map(kube.namespace, resource_version="")
    assert "fresh" in {cm.metadata.name for cm in listed.items}
