"""sig-node: CDI devices in the device plugin API (KEP-4009).

Article: "device plugins can now return CDI device names in their Allocate answer; the kubelet
passes them to the container runtime, which applies the CDI specification (device nodes,
environment, mounts) to the container" (gate DevicePluginCDIDevices, alpha in 1.28, GA in 1.31,
removed in 1.34).

The plugin is upstream's sample device plugin (k8s.io/kubernetes test/images/sample-device-plugin)
with CDI_ENABLED: it advertises two devices of `example.com/resource`, writes the CDI spec
/var/run/cdi/example.com.json (device `CDI-Dev-N`: env CDI_DEVICE=CDI-Dev-N and a block device
node /tmp/CDI-Dev-N, major 1, minor N-1) and answers Allocate with a mount of /tmp/Dev-N (the
classic device spec) plus the CDI name `example.com/resource=CDI-Dev-N`. 1.28's copy of the
plugin predates CDI_ENABLED, so every release runs the copy of v1.36 (the device plugin API
v1beta1 is the same); it is built and made an image by `hack/build-test-drivers.sh RELEASE
device-plugin` and imported into the node.

One plugin per node at a time: the plugin's resource name, its CDI spec path and its device ids
are constants of its source (resourceName, cdiPath), so two copies register the same
`example.com/resource` - the kubelet keeps one endpoint per resource name, and when one copy
exits it marks the resource unhealthy under the other (allocatable 0) and the copy's exit
deletes the CDI spec the other's devices need. The tests of this file run at once on one
cluster (1.36: both on the gates profile), so each takes the node's device-plugin lock
(nodes.node_lock) for its whole life: it waits until the previous plugin's resource is no
longer allocatable, runs its plugin and pod, and removes both before letting go.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from kconformance.testing import Kube, has_condition
from suites.sig_node.nodes import built_program, kind_node, load_image, node_exec, node_lock
from suites.sig_node.pods import a_node, log_lines

RESOURCE = "example.com/resource"
REPORT_END = "report-end"  # the device pod's last log line before it turns Ready


@dataclass(frozen=True)
class DevicePod:
    """The pod that got one device, its node, what its container reported, and its CRI config."""

    pod: dict[str, Any]
    node: str
    report: str
    cri_config: dict[str, Any]

    @property
    def device(self) -> str:
        """The device the kubelet allocated (Dev-1 or Dev-2): the /tmp/Dev-N mount."""
        found = re.findall(r"^entry /tmp/(Dev-\d+) ", self.report, re.M)
        assert len(found) == 1, f"expected one /tmp/Dev-N mount in the container:\n{self.report}"
        return found[0]


def _allocatable(node: dict[str, Any] | None) -> int:
    return int(((node or {}).get("status", {}).get("allocatable") or {}).get(RESOURCE, "0"))


@pytest.fixture
def device_pod(kube: Kube) -> Iterator[DevicePod]:
    """Deploy the sample device plugin, wait for the node to advertise its two devices, and run
    a pod that asks for one - holding the node's device-plugin lock from before the plugin
    starts until it and the pod are gone (see the module docstring)."""
    plugin = built_program(kube.cluster.release, "sample_device_plugin", "device-plugin")
    node = kind_node(a_node(kube))
    with node_lock(kube, node, "sample-device-plugin"):
        # The previous holder's plugin is gone, but the kubelet reports its devices unhealthy
        # (allocatable 0) only in its next node status update: until then a count of 2 is the
        # old plugin's, not this one's.
        kube.wait_for(
            "Node",
            lambda n: _allocatable(n) == 0,
            name=node,
            timeout=120,
            description=f"node {node} to advertise no allocatable {RESOURCE} before the plugin",
        )
        load_image(node, plugin["image"])
        kube.apply("sig_node/sample-device-plugin.yaml", plugin_image=plugin["image"])
        try:
            yield _run_device_pod(kube, node)
        finally:
            _remove_plugin_and_pod(kube)


def _run_device_pod(kube: Kube, node: str) -> DevicePod:
    advertised = kube.wait_for(
        "Node",
        lambda n: _allocatable(n) == 2,
        name=node,
        timeout=120,
        description=f"node {node} to advertise 2 {RESOURCE}",
    )
    assert advertised["status"]["capacity"][RESOURCE] == "2"
    kube.apply("sig_node/sample-device-pod.yaml")
    pod = kube.wait_for(
        "Pod",
        lambda p: has_condition(p, "Ready"),
        name="device-user",
        timeout=120,
        fail=lambda p: (
            f"pod {p['status'].get('phase')}"
            if p and p["status"].get("phase") in ("Failed", "Succeeded")
            else None
        ),
    )
    # Ready says the container wrote its report to stdout; the runtime copies stdout into the
    # log file on its own schedule, so the log is followed until the report's last line
    lines = log_lines(kube, "device-user", "main", until=lambda lines: REPORT_END in lines)
    assert REPORT_END in lines, lines
    report = "".join(f"{line}\n" for line in lines)
    container_id = pod["status"]["containerStatuses"][0]["containerID"].split("://", 1)[1]
    inspect = json.loads(node_exec(node, "crictl", "inspect", container_id).stdout)
    return DevicePod(pod, node, report, inspect["info"]["config"])


def _remove_plugin_and_pod(kube: Kube) -> None:
    """Delete the device pod and the plugin's DaemonSet, and wait until their pods are gone (a
    pod is deleted only once the kubelet has stopped its containers: the plugin has exited)."""
    kube.delete("Pod", "device-user")
    kube.delete("DaemonSet", "sample-device-plugin")
    kube.wait_deleted("Pod", "device-user", timeout=90)
    kube.wait_for(
        "Pod",
        lambda pods: not pods,
        label_selector="app=sample-device-plugin",
        timeout=90,
        fail=None,
        description="the sample device plugin's pods to be deleted",
    )


def _cdi_names(config: dict[str, Any]) -> set[str]:
    """CDI device names in a CRI container config: the CRI field (cdi_devices, from
    k8s.io/cri-api 1.28) and the `cdi.k8s.io/` annotations the 1.28 kubelet also sets for
    runtimes that predate the field."""
    names = {d["name"] for d in config.get("CDI_devices") or config.get("cdi_devices") or []}
    for key, value in (config.get("annotations") or {}).items():
        if key.startswith("cdi.k8s.io/"):
            names.update(value.split(","))
    return names


@pytest.mark.kind_nodes
@pytest.mark.feature("DevicePluginCDIDevices")
def test_kubelet_hands_the_plugins_cdi_device_to_the_runtime(device_pod: DevicePod) -> None:
    """The plugin registers (the node advertises 2 example.com/resource), the pod gets one device
    with the classic device spec (the /tmp/Dev-N mount), and the kubelet passes the CDI name
    the plugin returned for that device, `example.com/resource=CDI-Dev-N`, to the runtime: it is
    in the container's CRI config (containerd's `crictl inspect`). The 1.28 kubelet sends it in
    the CRI field and also as the annotation `cdi.k8s.io/devicemanager_<pod uid>-<container>`,
    for runtimes that predate the field; the 1.36 kubelet only in the field. Without the gate
    (1.28 baseline) the kubelet passes neither: the container still gets the /tmp/Dev-N mount."""
    expected = f"{RESOURCE}=CDI-{device_pod.device}"
    assert _cdi_names(device_pod.cri_config) == {expected}, json.dumps(
        device_pod.cri_config, indent=1
    )


@pytest.mark.kind_nodes
@pytest.mark.feature("DevicePluginCDIDevicesInContainer")
def test_runtime_applies_the_cdi_device_to_the_container(device_pod: DevicePod) -> None:
    """The runtime applies the CDI spec of the allocated device: the container has env
    CDI_DEVICE=CDI-Dev-N and the block device node /tmp/CDI-Dev-N with major 1, minor N-1,
    exactly as /var/run/cdi/example.com.json describes - and nothing of the other device."""
    device = device_pod.device
    index = int(device.split("-")[1])
    assert f"CDI_DEVICE=CDI-{device}\n" in device_pod.report, device_pod.report
    cdi_entries = re.findall(r"^entry /tmp/(CDI-Dev-\d+) (.*)$", device_pod.report, re.M)
    assert cdi_entries == [(f"CDI-{device}", f"block special file 1:{index - 1:x}")], (
        device_pod.report
    )
