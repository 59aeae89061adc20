"""sig-node: kubelet settings from the 1.28 release, read back from the running kubelet.

Swap (KEP-2400) and parallel image pulls (KEP-3673) are kubelet configuration; a profile puts
them in place and /configz proves the kubelet runs with them. Profiles that the kubelet would
refuse are refused before any cluster is created (see tests/test_profiles.py).
"""

from __future__ import annotations

import pytest

from kconformance.testing import Kube
from suites.sig_node.pods import a_node, kubelet_config, phase_in


@pytest.mark.feature("ParallelImagePulls")
def test_kubelet_runs_with_parallel_image_pulls(kube: Kube) -> None:
    """serializeImagePulls: false with maxParallelImagePulls: 2 - the kubelet accepted it."""
    config = kubelet_config(kube, a_node(kube))
    assert config["serializeImagePulls"] is False
    assert config["maxParallelImagePulls"] == 2


@pytest.mark.feature("NodeSwap")
def test_kubelet_runs_with_limited_swap(kube: Kube) -> None:
    """NodeSwap with failSwapOn: false and memorySwap.swapBehavior: LimitedSwap: the kubelet
    starts (the node is Ready) and /configz shows both settings."""
    node = a_node(kube)
    config = kubelet_config(kube, node)
    assert config["failSwapOn"] is False
    assert config["memorySwap"]["swapBehavior"] == "LimitedSwap"
    ready = [c for c in kube.cluster.core.read_node(node).status.conditions if c.type == "Ready"]
    assert ready[0].status == "True"


@pytest.mark.feature("NodeSwap")
def test_limited_swap_gives_burstable_pods_swap(kube: Kube) -> None:
    """LimitedSwap lets Burstable pods use swap: their cgroup's memory.swap.max is above 0.
    KEP-2400: "this feature is limited to cgroupv2 only" - on cgroup v1 nodes only NoSwap
    semantics apply, so the pod first reports what its node has, and the test skips, naming
    what is missing, when the node lacks cgroup v2 or swap."""
    kube.apply("sig_node/swap-burstable.yaml")
    kube.wait_for("Pod", phase_in("Succeeded", "Failed"), name="swap-burstable", timeout=90)
    report = kube.cluster.core.read_namespaced_pod_log("swap-burstable", kube.namespace)
    values = dict(line.split("=", 1) for line in report.split() if "=" in line)
    if values.get("fs") != "cgroup2fs":
        pytest.skip(
            f"swap for pods needs cgroup v2 (KEP-2400); this node's /sys/fs/cgroup is {values.get('fs')} (cgroup v1)"
        )
    if "SwapTotal: 0 kB" in " ".join(report.split()):
        pytest.skip("swap for pods needs swap on the node; this node has none (SwapTotal 0 kB)")
    assert values["swapmax"] not in ("0", "none"), report
