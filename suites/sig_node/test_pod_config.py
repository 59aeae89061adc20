"""sig-node: pod status.hostIPs (KEP-2681) and expanded DNS configuration (KEP-2595)."""

from __future__ import annotations

import json

import pytest

from kconformance.testing import ApiRejection, Kube
from suites.sig_node.pods import phase_in


@pytest.mark.feature("PodHostIPs")
def test_host_ips_match_host_ip_node_address_and_downward_api(kube: Kube) -> None:
    """status.hostIPs is set, its first entry equals status.hostIP and the node's InternalIP;
    the container sees the same through the downward API field status.hostIPs."""
    kube.apply("sig_node/pod-host-ips.yaml")
    pod = kube.wait_for("Pod", phase_in("Succeeded", "Failed"), name="host-ips", timeout=90)

    assert pod["status"].get("hostIPs"), f"the kubelet reported no status.hostIPs: {pod['status']}"
    host_ips = [entry["ip"] for entry in pod["status"]["hostIPs"]]
    assert host_ips[0] == pod["status"]["hostIP"]
    node = kube.cluster.core.read_node(pod["spec"]["nodeName"])
    internal = [a.address for a in node.status.addresses if a.type == "InternalIP"]
    assert host_ips[0] == internal[0]
    logs = kube.cluster.core.read_namespaced_pod_log("host-ips", kube.namespace)
    assert f"HOST_IPS={','.join(host_ips)}" in logs


def _searches(count: int, length: int = 20) -> list[str]:
    return [f"d{i:02d}".ljust(length - len(".example"), "x") + ".example" for i in range(count)]


@pytest.mark.feature("ExpandedDNSConfig")
def test_32_search_domains_are_accepted_and_written(kube: Kube) -> None:
    """MaxDNSSearchPaths went from 6 to 32: a pod with 32 search domains runs and its
    /etc/resolv.conf lists them all."""
    searches = _searches(32)
    kube.apply("sig_node/dns-searches.yaml", name="dns-32", count=32, searches=json.dumps(searches))
    kube.wait_for("Pod", phase_in("Succeeded", "Failed"), name="dns-32", timeout=90)
    resolv = kube.cluster.core.read_namespaced_pod_log("dns-32", kube.namespace)
    search_line = next(line for line in resolv.splitlines() if line.startswith("search "))
    assert search_line.split()[1:] == searches


@pytest.mark.feature("ExpandedDNSConfig")
def test_33_search_domains_are_rejected(kube: Kube) -> None:
    """33 search domains exceed MaxDNSSearchPaths (32): a field error on spec.dnsConfig.searches."""
    with pytest.raises(ApiRejection) as rejected:
        kube.apply(
            "sig_node/dns-searches.yaml",
            name="dns-33",
            count=33,
            searches=json.dumps(_searches(33)),
        )
    assert rejected.value.code == 422
    assert "spec.dnsConfig.searches" in rejected.value.cause_fields()
    assert "must not have more than 32 search paths" in rejected.value.message


@pytest.mark.feature("ExpandedDNSConfig")
def test_search_list_over_2048_characters_is_rejected(kube: Kube) -> None:
    """MaxDNSSearchListChars went from 256 to 2048: 30 domains of 70 characters (2100 with
    separators) are rejected on spec.dnsConfig.searches."""
    searches = _searches(30, length=70)
    assert len(" ".join(searches)) > 2048
    with pytest.raises(ApiRejection) as rejected:
        kube.apply(
            "sig_node/dns-searches.yaml", name="dns-long", count=30, searches=json.dumps(searches)
        )
    assert "spec.dnsConfig.searches" in rejected.value.cause_fields()
    assert "must not have more than 2048 characters" in rejected.value.message
