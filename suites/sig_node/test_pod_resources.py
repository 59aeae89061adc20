"""sig-node: the kubelet's PodResources gRPC API (KEP-2403 GetAllocatableResources, KEP-3743 Get).

Monitoring agents and device plugins read, on the node, which pods and containers hold which
devices, CPUs and memory from `/var/lib/kubelet/pod-resources/kubelet.sock`. These tests talk to
that socket for real: a small static client (hack/go/podresources-client, built against the
release's own k8s.io/kubelet by `hack/build-test-drivers.sh RELEASE podresources`) is copied into
the kind node (under a path named after its content, see nodes.copy_into_node: these tests run
at once on one node) and prints each answer as JSON.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from kconformance.errors import CommandError
from kconformance.testing import Kube
from suites.sig_node.nodes import built_program, copy_into_node, kind_node, node_exec
from suites.sig_node.pods import kubelet_config, running


@dataclass(frozen=True)
class PodResources:
    """The PodResources API of one node, called through the client copied into it."""

    node: str
    client: str  # the client's path in the node

    def __call__(self, *args: str) -> dict[str, Any]:
        """One call (``list``, ``allocatable``, ``get NS NAME``): the answer, or ``{"error": ...}``
        when the kubelet answered with a gRPC error (the client's exit status 3)."""
        proc = node_exec(self.node, self.client, *args, check=False)
        if proc.returncode not in (0, 3):
            raise CommandError(
                ["docker", "exec", self.node, self.client, *args], proc.returncode, proc.stdout
            )
        return dict(json.loads(proc.stdout.strip().splitlines()[-1]))


@pytest.fixture
def pod_resources(kube: Kube) -> PodResources:
    """The test's pod running, and the PodResources API of its node (single-node profiles)."""
    client = built_program(kube.cluster.release, "podresources_client", "podresources")
    kube.apply("sig_node/podresources-pod.yaml")
    pod = kube.wait_for(
        "Pod", lambda p: running(p, "first", "second"), name="podresources", timeout=120
    )
    node = kind_node(pod["spec"]["nodeName"])
    return PodResources(node, copy_into_node(node, Path(client["path"]), "podresources-client"))


def _containers(entry: dict[str, Any]) -> list[str]:
    return sorted(c["name"] for c in entry.get("containers") or [])


def _counters(kube: Kube, node: str) -> dict[str, float]:
    """The kubelet's PodResources counters (summed over label sets), from /metrics through the
    API server's node proxy. A counter the kubelet did not register is absent."""
    text = kube.cluster.raw_get(f"/api/v1/nodes/{node}/proxy/metrics")
    found: dict[str, float] = {}
    for m in re.finditer(r"^(kubelet_pod_resources_\w+)(?:\{[^}]*\})? (\S+)$", text, re.M):
        found[m.group(1)] = found.get(m.group(1), 0.0) + float(m.group(2))
    return found


@pytest.mark.kind_nodes
@pytest.mark.feature("KubeletPodResources")
def test_list_returns_the_nodes_pods_and_containers(
    kube: Kube, pod_resources: PodResources
) -> None:
    """List: "returns the resources of every pod on the node" - the test's pod appears with its
    namespace and both container names, next to the node's other pods (kube-system ones), and
    the kubelet counts the call in kubelet_pod_resources_endpoint_requests_list."""
    node = pod_resources.node
    before = _counters(kube, node).get("kubelet_pod_resources_endpoint_requests_list", 0.0)
    answer = pod_resources("list")
    assert "error" not in answer, answer
    pods = {(p["namespace"], p["name"]): p for p in answer["pod_resources"]}
    assert _containers(pods[(kube.namespace, "podresources")]) == ["first", "second"]
    assert any(ns == "kube-system" for ns, _ in pods), sorted(pods)
    after = _counters(kube, node)["kubelet_pod_resources_endpoint_requests_list"]
    assert after >= before + 1, (before, after)


@pytest.mark.kind_nodes
@pytest.mark.feature("KubeletPodResources")
def test_get_allocatable_resources_answers_with_no_exclusive_cpus(
    kube: Kube, pod_resources: PodResources
) -> None:
    """GetAllocatableResources (KEP-2403): the kubelet answers; under the `none` CPU manager
    policy (kind's default, read back from /configz) no CPU can be allocated exclusively, so
    cpu_ids is empty - as the KEP says, CPU ids are only reported under the static policy.
    An empty answer alone could come from anything: the kubelet counts the call in
    kubelet_pod_resources_endpoint_requests_get_allocatable, which grows across it, and not in
    ..._errors_get_allocatable."""
    node = pod_resources.node
    assert kubelet_config(kube, node)["cpuManagerPolicy"] == "none"
    before = _counters(kube, node)
    answer = pod_resources("allocatable")
    assert "error" not in answer, answer
    assert not answer.get("cpu_ids"), answer
    assert not answer.get("memory"), answer  # memory manager policy None: nothing reported
    after = _counters(kube, node)
    served = "kubelet_pod_resources_endpoint_requests_get_allocatable"
    assert after[served] >= before.get(served, 0.0) + 1, (before, after)
    errors = "kubelet_pod_resources_endpoint_errors_get_allocatable"
    assert after.get(errors, 0.0) == before.get(errors, 0.0), (before, after)


@pytest.mark.kind_nodes
@pytest.mark.feature("KubeletPodResourcesGet")
def test_get_returns_one_pods_resources(kube: Kube, pod_resources: PodResources) -> None:
    """Get (KEP-3743, gate KubeletPodResourcesGet: alpha in 1.28, GA from 1.36): the resources
    of one pod by namespace and name - the test's pod with its two containers; the kubelet
    counts it in kubelet_pod_resources_endpoint_requests_get."""
    node = pod_resources.node
    before = _counters(kube, node).get("kubelet_pod_resources_endpoint_requests_get", 0.0)
    answer = pod_resources("get", kube.namespace, "podresources")
    assert "error" not in answer, answer
    pod = answer["pod_resources"]
    assert (pod["namespace"], pod["name"]) == (kube.namespace, "podresources")
    assert _containers(pod) == ["first", "second"]
    after = _counters(kube, node)["kubelet_pod_resources_endpoint_requests_get"]
    assert after >= before + 1, (before, after)


@pytest.mark.kind_nodes
@pytest.mark.feature("KubeletPodResourcesGet", off=True)
def test_get_is_refused_without_its_gate(kube: Kube, pod_resources: PodResources) -> None:
    """With KubeletPodResourcesGet off (1.28's default) the kubelet refuses Get with
    "PodResources API Get method disabled" (gRPC code Unknown: a plain Go error). The call is
    counted in kubelet_pod_resources_endpoint_requests_total, but the Get counters
    (..._requests_get, ..._errors_get) are not even registered without the gate - so the refusal
    shows in no error counter (K28 pkg/kubelet/metrics/metrics.go). List still answers."""
    node = pod_resources.node
    before = _counters(kube, node).get("kubelet_pod_resources_endpoint_requests_total", 0.0)
    answer = pod_resources("get", kube.namespace, "podresources")
    assert answer.get("error") == {
        "code": "Unknown",
        "message": "PodResources API Get method disabled",
    }
    counters = _counters(kube, node)
    assert counters["kubelet_pod_resources_endpoint_requests_total"] >= before + 1, counters
    assert "kubelet_pod_resources_endpoint_errors_get" not in counters, counters
    assert "error" not in pod_resources("list")
