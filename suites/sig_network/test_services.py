"""sig-network: NodePort static sub-range (KEP-3668), kube-proxy health (KEP-3836), terminating
endpoints (KEP-1669)."""

from __future__ import annotations

import pytest

from kconformance.testing import Kube, has_condition
from suites.sig_network.nodeports import parse_range, static_band_size

# How long the terminating backend keeps serving (agnhost --delay-shutdown): the whole window in
# which the slice must show it terminating and the client must reach it.
SERVING_AFTER_DELETE = 600


def _node_port(kube: Kube, name: str, port: int | None = None) -> int:
    (svc,) = kube.apply(
        "sig_network/nodeport-service.yaml",
        name=name,
        node_port=f"nodePort: {port}" if port else "",
    )
    return int(svc["spec"]["ports"][0]["nodePort"])


@pytest.mark.feature("ServiceNodePortStaticSubrange")
def test_dynamic_node_ports_avoid_the_static_band_until_it_is_all_that_is_left(
    kube: Kube, catalog
) -> None:
    """With service-node-port-range 30000-30099 (100 ports) the static band is
    min(max(16, 100/32), 128) = 16 ports, 30000-30015. An explicit port in the band is
    granted; every dynamic allocation lands above the band while it has free ports; once the
    upper band is full, dynamic allocation falls back into the lower band."""
    # the range the profile gives the apiserver (catalog apiserver_args), named, not by position
    low, high = parse_range(dict(kube.cluster.profile.apiserver_args)["service-node-port-range"])
    band = static_band_size(high - low + 1)
    assert (low, high, band) == (30000, 30099, 16)
    band_end = low + band  # first port above the band

    assert _node_port(kube, "explicit", 30005) == 30005
    upper = [_node_port(kube, f"dyn-{i}") for i in range(high - band_end + 1)]
    assert all(port >= band_end for port in upper), sorted(upper)
    assert sorted(upper) == list(range(band_end, high + 1))

    fallback = _node_port(kube, "fallback")
    assert low <= fallback < band_end and fallback != 30005


def _proxy_health(kube: Kube, name: str, node: str, expect_healthz: int) -> dict[str, str]:
    """Ask kube-proxy's health server on ``node`` (the probe pod runs there, on the host
    network) until /healthz answers ``expect_healthz`` (at most a minute), then /livez."""
    kube.apply(
        "sig_network/kube-proxy-health.yaml", name=name, node=node, expect_healthz=expect_healthz
    )
    kube.wait_for(
        "Pod",
        lambda p: bool(p) and p["status"].get("phase") in ("Succeeded", "Failed"),
        name=name,
        timeout=180,
        description=f"the health probe {name} on {node} to finish",
    )
    out = kube.cluster.core.read_namespaced_pod_log(name, kube.namespace)
    return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)


@pytest.mark.feature("KubeProxyDrainingTerminatingNodes")
def test_kube_proxy_healthz_fails_while_the_node_is_drained_and_livez_does_not(kube: Kube) -> None:
    """kube-proxy's health server (port 10256) answers /livez and /healthz with 200. Once the
    node carries the ToBeDeletedByClusterAutoscaler taint, /healthz answers 503 so load
    balancers drain it, while /livez keeps answering 200 (kube-proxy itself is fine).

    Observed: 1.28 serves /livez with the gate off too; what the gate changes is /healthz.
    The taint is PreferNoSchedule (kube-proxy looks at the key only), so tests running beside
    this one can still schedule, and it is removed afterwards. The probes run on the tainted
    node itself (nodeName), whatever the scheduler would prefer.
    """
    node = kube.cluster.core.list_node().items[0].metadata.name
    before = _proxy_health(kube, "health-before", node, 200)
    assert before["healthz"].startswith("200") and before["livez"].startswith("200"), before
    assert "lastUpdated" in before["livez"]

    taint = {"key": "ToBeDeletedByClusterAutoscaler", "value": "1", "effect": "PreferNoSchedule"}
    kube.add_node_taint(node, taint)  # removed after the test, whatever its outcome
    draining = _proxy_health(kube, "health-draining", node, 503)
    assert draining["healthz"].startswith("503"), draining
    assert draining["livez"].startswith("200"), draining


@pytest.mark.feature("ProxyTerminatingEndpoints")
def test_terminating_but_serving_endpoint_still_gets_traffic(kube: Kube) -> None:
    """When a Service's only endpoint is terminating but still serving, kube-proxy keeps sending
    traffic to it. Its EndpointSlice entry shows ready: false, serving: true, terminating: true.

    The pod's readiness must keep passing while it terminates: "serving" is the readiness of a
    terminating pod, and "ready" is false for every terminating endpoint. The backend serves for
    SERVING_AFTER_DELETE seconds after its deletion (terminating-endpoint.yaml), far longer than
    the slice update and the client need, and the client's answer counts only if the backend is
    still terminating once the client has finished.
    """
    kube.apply(
        "sig_network/terminating-endpoint.yaml",
        serving=SERVING_AFTER_DELETE,
        grace=SERVING_AFTER_DELETE + 30,
    )
    kube.wait_for(
        "Pod",
        lambda p: has_condition(p, "Ready"),
        name="backend",
        timeout=120,
        description="the backend pod to be Ready",
    )
    kube.delete("Pod", "backend")
    kube.defer(
        lambda: kube.delete("Pod", "backend", grace_period_seconds=0),
        "force-delete the terminating backend",
    )
    slices = kube.wait_for(
        "EndpointSlice",
        lambda items: any(
            e.get("conditions", {}).get("terminating")
            for s in items
            for e in s.get("endpoints") or []
        ),
        label_selector="kubernetes.io/service-name=backend",
        timeout=120,
        description="the backend's EndpointSlice entry to be terminating",
    )
    (endpoint,) = [e for s in slices for e in s.get("endpoints") or []]
    assert endpoint["conditions"] == {"ready": False, "serving": True, "terminating": True}

    kube.apply("sig_network/client.yaml", name="client", url="http://backend/hostname")
    client = kube.wait_for(
        "Pod",
        lambda p: bool(p) and p["status"].get("phase") in ("Succeeded", "Failed"),
        name="client",
        timeout=240,
        description="the client pod to finish asking the Service",
    )
    out = kube.cluster.core.read_namespaced_pod_log("client", kube.namespace)
    assert client["status"]["phase"] == "Succeeded", out
    assert "answer=backend" in out
    backend = kube.get("Pod", "backend")
    assert backend and backend["metadata"].get("deletionTimestamp"), (
        f"the backend finished terminating before the client was done (it serves "
        f"{SERVING_AFTER_DELETE} s after its deletion), so its answer proves nothing"
    )
