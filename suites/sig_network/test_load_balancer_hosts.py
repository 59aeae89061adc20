"""sig-network: stable load-balancer node set (KEP-3458), with a test cloud-controller-manager.

No cloud here: the `cloud-lb` profiles run hack/go/fake-ccm (k8s.io/cloud-provider's own fake
cloud, built by hack/build-fake-ccm.sh) as a static pod, with only the service controller, which
logs every load-balancer call and the hosts it was given. kubeadm labels the control-plane node
node.kubernetes.io/exclude-from-external-load-balancers; the tests take that label off first so
that both nodes start as hosts, then stop the worker's kubelet (the node goes NotReady).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from kconformance.process import run
from kconformance.testing import Kube, has_condition

EXCLUDE = "node.kubernetes.io/exclude-from-external-load-balancers"
SERVICE = "stable-hosts"


@dataclass(frozen=True)
class Nodes:
    control_plane: str
    worker: str


@pytest.fixture
def nodes(kube: Kube) -> Iterator[Nodes]:
    """Both nodes as load-balancer hosts; afterwards the worker's kubelet runs again and the
    control plane is excluded again, as kubeadm left it."""
    items = kube.cluster.core.list_node().items
    control_plane = next(n for n in items if EXCLUDE in (n.metadata.labels or {}))
    worker = next(n for n in items if n is not control_plane)
    pair = Nodes(control_plane.metadata.name, worker.metadata.name)
    # a test before this one on the same cluster may have just restarted the worker's kubelet
    kube.wait_for(
        "Node",
        lambda n: bool(n) and has_condition(n, "Ready"),
        name=pair.worker,
        timeout=120,
        description=f"node {pair.worker} Ready",
    )
    kube.cluster.core.patch_node(pair.control_plane, {"metadata": {"labels": {EXCLUDE: None}}})
    try:
        yield pair
    finally:
        run(["docker", "exec", pair.worker, "systemctl", "start", "kubelet"], timeout=60)
        kube.cluster.core.patch_node(pair.control_plane, {"metadata": {"labels": {EXCLUDE: ""}}})


def _calls(kube: Kube, nodes: Nodes, *calls: str) -> list[str]:
    """The host lists of the fake cloud's ``calls`` for this test's Service, oldest first."""
    logs = kube.kubectl(
        "logs", "-n", "kube-system", f"kconformance-fake-ccm-{nodes.control_plane}"
    ).stdout
    pattern = (
        rf"kconformance-fake-cloud: (?:{'|'.join(calls)}) "
        rf"service={kube.namespace}/{SERVICE} hosts=(\S*)"
    )
    return re.findall(pattern, logs)


def _load_balancer_serves_both(kube: Kube, nodes: Nodes) -> int:
    """Create the Service and wait until the fake cloud's latest call for it lists both nodes;
    return how many updates the cloud had for it by then.

    The fixture took the exclusion label off the control plane just before: a service
    controller whose node informer had not yet seen that creates the load balancer with the
    worker alone and adds the control plane in an update right after. Each call is followed by
    an Event, so the wait re-reads the cloud's log whenever one arrives."""
    both = ",".join(sorted([nodes.control_plane, nodes.worker]))
    kube.apply("sig_network/load-balancer.yaml")
    kube.wait_for(
        "Service",
        lambda s: (
            bool(s) and bool(((s.get("status") or {}).get("loadBalancer") or {}).get("ingress"))
        ),
        name=SERVICE,
        timeout=120,
        description="the fake cloud's load balancer",
    )
    kube.wait_for(
        "Event",
        lambda _: _calls(kube, nodes, "EnsureLoadBalancer", "UpdateLoadBalancer")[-1:] == [both],
        api_version="v1",
        timeout=120,
        description=f"the fake cloud's load balancer with hosts {both}",
    )
    return len(_calls(kube, nodes, "UpdateLoadBalancer"))


def _stop_worker_kubelet(kube: Kube, nodes: Nodes) -> None:
    run(["docker", "exec", nodes.worker, "systemctl", "stop", "kubelet"], timeout=60)
    kube.wait_for(
        "Node",
        lambda n: (
            bool(n)
            and any(
                c["type"] == "Ready" and c["status"] != "True"
                for c in (n.get("status") or {}).get("conditions") or []
            )
        ),
        name=nodes.worker,
        timeout=180,
        description=f"node {nodes.worker} NotReady",
    )


def _wait_for_update(kube: Kube, nodes: Nodes, updates_before: int) -> None:
    """Wait for the fake cloud's next UpdateLoadBalancer call. The cloud logs the call before
    the service controller records its Event, so the log is re-read whenever an Event arrives;
    counting calls rather than Events leaves no Event of an earlier call in flight to miscount."""
    kube.wait_for(
        "Event",
        lambda _: len(_calls(kube, nodes, "UpdateLoadBalancer")) > updates_before,
        api_version="v1",
        timeout=120,
        description="an UpdateLoadBalancer call of the fake cloud after the node change",
    )


@pytest.mark.kind_nodes
@pytest.mark.feature("StableLoadBalancerNodeSet")
def test_not_ready_node_stays_a_host_and_the_exclusion_label_moves_it(
    kube: Kube, nodes: Nodes
) -> None:
    """KEP-3458: with StableLoadBalancerNodeSet the service controller no longer updates load
    balancers when a node's readiness changes (a NotReady node stays a host; the cloud's own
    health checks handle it), while the exclude-from-external-load-balancers label still
    updates them at once."""
    updates_before = _load_balancer_serves_both(kube, nodes)
    _stop_worker_kubelet(kube, nodes)
    kube.cluster.core.patch_node(nodes.control_plane, {"metadata": {"labels": {EXCLUDE: ""}}})
    _wait_for_update(kube, nodes, updates_before)
    # the label moved the hosts to the worker alone, and no update ever dropped the NotReady
    # worker (the controller may also re-send the unchanged host set, e.g. on a resync)
    updates = _calls(kube, nodes, "UpdateLoadBalancer")[updates_before:]
    assert updates and updates[-1] == nodes.worker, updates
    assert all(nodes.worker in hosts.split(",") for hosts in updates), updates


@pytest.mark.kind_nodes
@pytest.mark.feature("StableLoadBalancerNodeSet", off=True)
def test_without_the_gate_a_not_ready_node_is_removed_from_the_hosts(
    kube: Kube, nodes: Nodes
) -> None:
    """Before KEP-3458 (gate off) a node going NotReady makes the service controller update
    every load balancer without it."""
    updates_before = _load_balancer_serves_both(kube, nodes)
    _stop_worker_kubelet(kube, nodes)
    _wait_for_update(kube, nodes, updates_before)
    assert _calls(kube, nodes, "UpdateLoadBalancer")[updates_before:] == [nodes.control_plane]
