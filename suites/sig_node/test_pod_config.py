"""sig-node: pod status.hostIPs (KEP-2681) and expanded DNS configuration (KEP-2595)."""

from __future__ import annotations

import json

import pytest

from kconformance.testing import ApiRejection, Kube
from suites.sig_node.pods import phase_in


def _host_ips_of_finished_pod(kube: Kube, name: str, host_network: bool) -> tuple[dict, list[str]]:
    kube.apply(
        "sig_node/pod-host-ips.yaml",
        name=name,
        host_network="hostNetwork: true" if host_network else "",
    )
    pod = kube.wait_for("Pod", phase_in("Succeeded", "Failed"), name=name, timeout=90)
    assert pod["status"].get("hostIPs"), f"the kubelet reported no status.hostIPs: {pod['status']}"
    return pod, [entry["ip"] for entry in pod["status"]["hostIPs"]]


def _internal_ips(kube: Kube, node_name: str) -> list[str]:
    node = kube.cluster.core.read_node(node_name)
    return [a.address for a in node.status.addresses if a.type == "InternalIP"]


@pytest.mark.feature("PodHostIPs")
def test_host_ips_match_host_ip_node_address_and_downward_api(kube: Kube) -> None:
    """status.hostIPs is set, its first entry equals status.hostIP, and the whole list equals
    the node's InternalIP addresses, in order (upstream: gomega.Equal on the lists); the
    container sees the same through the downward API field status.hostIPs."""
    pod, host_ips = _host_ips_of_finished_pod(kube, "host-ips", host_network=False)
    assert host_ips[0] == pod["status"]["hostIP"]
    assert host_ips == _internal_ips(kube, pod["spec"]["nodeName"])
    logs = kube.cluster.core.read_namespaced_pod_log("host-ips", kube.namespace)
    assert f"HOST_IPS={','.join(host_ips)}" in logs


@pytest.mark.feature("PodHostIPs")
def test_host_network_pod_gets_the_same_host_ips(kube: Kube) -> None:
    """A hostNetwork pod's status.hostIPs is its node's InternalIP list too, and its podIP is
    the node's address (upstream's "should create pod with hostNetwork" spec)."""
    pod, host_ips = _host_ips_of_finished_pod(kube, "host-network-ips", host_network=True)
    internal = _internal_ips(kube, pod["spec"]["nodeName"])
    assert host_ips == internal
    assert pod["status"]["hostIP"] == pod["status"]["podIP"] == internal[0]
    logs = kube.cluster.core.read_namespaced_pod_log("host-network-ips", kube.namespace)
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
