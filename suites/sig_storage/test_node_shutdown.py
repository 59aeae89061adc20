"""sig-storage: non-graceful node shutdown (KEP-2268), on a two-node kind cluster."""

from __future__ import annotations

import pytest

from kconformance.process import run
from kconformance.testing import Kube

TAINT = {"key": "node.kubernetes.io/out-of-service", "value": "nodeshutdown", "effect": "NoExecute"}


@pytest.mark.kind_nodes
@pytest.mark.feature("NodeOutOfServiceVolumeDetach")
def test_out_of_service_taint_moves_statefulset_pod_off_a_dead_node(kube: Kube) -> None:
    """Stop the worker's container (a node that shut down without draining), mark it
    node.kubernetes.io/out-of-service=nodeshutdown:NoExecute, and the StatefulSet pod stuck
    on it is force-deleted and recreated on the other node (the pod GC's part of KEP-2268).

    Not shown here: the other half of the KEP, the attach-detach controller force-detaching the
    dead node's volumes. It needs an attachable CSI driver (VolumeAttachment objects); this
    machine's only storage is local-path (no attacher, node-local data), and
    csi-driver-host-path, which upstream's spec uses, is refused by the Go module proxy."""
    worker = next(
        n.metadata.name
        for n in kube.cluster.core.list_node().items
        if "control-plane" not in n.metadata.name
    )
    kube.apply("sig_storage/statefulset-on-worker.yaml")
    pod = kube.wait_for(
        "Pod",
        lambda p: bool(p) and p["status"].get("phase") == "Running",
        name="web-0",
        timeout=120,
    )
    assert pod["spec"]["nodeName"] == worker
    old_uid = pod["metadata"]["uid"]

    kube.defer(lambda: _start_and_wait_ready(kube, worker), f"restart node {worker}")
    run(["docker", "stop", "-t", "0", worker], timeout=120)
    kube.wait_for(
        "Node",
        lambda n: bool(n) and _ready_dict(n) != "True",
        name=worker,
        timeout=180,
        description=f"node {worker} to stop being Ready",
    )
    kube.add_node_taint(worker, TAINT)  # only this taint is removed afterwards
    moved = kube.wait_for(
        "Pod",
        lambda p: (
            bool(p) and p["metadata"]["uid"] != old_uid and p["status"].get("phase") == "Running"
        ),
        name="web-0",
        timeout=180,
        # the old web-0 is first marked Failed by the pod GC (out-of-service taint): expected
        fail=None,
        description="web-0 to be recreated and run on the other node",
    )
    assert moved["spec"]["nodeName"] != worker


def _start_and_wait_ready(kube: Kube, node: str) -> None:
    """Undo of the shutdown: start the node's container and wait until the node is Ready, so
    the next test on this cluster finds two nodes again."""
    run(["docker", "start", node], timeout=120)
    kube.wait_for(
        "Node",
        lambda n: bool(n) and _ready_dict(n) == "True",
        name=node,
        timeout=180,
        description=f"node {node} Ready again",
    )


def _ready_dict(node: dict) -> str:
    return next(
        (c["status"] for c in node["status"].get("conditions") or [] if c["type"] == "Ready"),
        "Unknown",
    )
