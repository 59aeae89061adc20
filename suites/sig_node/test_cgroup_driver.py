"""sig-node: the kubelet's cgroup driver from the CRI runtime (KEP-4033), profile
cgroup-driver-cri.

The 1.28 article: with KubeletCgroupDriverFromCRI the kubelet asks the runtime (the CRI
RuntimeConfig call) which cgroup driver to use instead of trusting its own cgroupDriver
setting, and falls back to that setting when the runtime does not implement the call.
1.28's node image runs Debian's containerd 1.6, which does not: the kubelet logs the fall-back
and keeps the configured driver (systemd, like containerd's runc). 1.36's runs containerd 2.3,
which does: the profile writes cgroupDriver: cgroupfs into the kubelet's config file, and the
kubelet uses systemd anyway.
"""

from __future__ import annotations

import pytest
import yaml

from kconformance.testing import Kube
from suites.sig_node.pods import a_node, kubelet_config, node_exec, running

FALLBACK = "Falling back to using cgroupDriver from kubelet config."
FROM_CRI = "Using cgroup driver setting received from the CRI runtime"


def _journal(node: str) -> str:
    return node_exec(node, "journalctl", "-u", "kubelet", "--no-pager", "-o", "cat").stdout


@pytest.mark.feature("KubeletCgroupDriverFromCRI")
def test_cgroup_driver_comes_from_the_runtime_or_falls_back(kube: Kube) -> None:
    """1.28 + containerd 1.6: the kubelet logs "CRI implementation should be updated to support
    RuntimeConfig when KubeletCgroupDriverFromCRI feature gate has been enabled. Falling back to
    using cgroupDriver from kubelet config." and runs on the configured systemd driver.
    1.36 + containerd 2.3: the config file says cgroupfs, the kubelet logs
    'Using cgroup driver setting received from the CRI runtime cgroupDriver="systemd"' and
    /configz (registered after the detection) reports systemd. Either way a pod runs."""
    node = a_node(kube)
    main = yaml.safe_load(node_exec(node, "cat", "/var/lib/kubelet/config.yaml").stdout)
    journal = _journal(node)
    config = kubelet_config(kube, node)
    if kube.release == "1.28":
        assert main["cgroupDriver"] == "systemd"
        assert FALLBACK in journal, "no fall-back line in the kubelet's journal"
        assert FROM_CRI not in journal
    else:
        assert main["cgroupDriver"] == "cgroupfs"
        lines = [line for line in journal.splitlines() if FROM_CRI in line]
        assert lines, "the kubelet never logged taking the driver from the CRI runtime"
        assert 'cgroupDriver="systemd"' in lines[-1], lines[-1]
    assert config["cgroupDriver"] == "systemd"
    kube.apply("sig_node/ready-to-start.yaml")
    kube.wait_for("Pod", lambda p: running(p, "main"), name="ready-to-start", timeout=90)
