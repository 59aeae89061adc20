"""sig-node: the kubelet's cgroup driver from the CRI runtime (KEP-4033), profile
cgroup-driver-cri.

The 1.28 article: with KubeletCgroupDriverFromCRI the kubelet asks the runtime (the CRI
RuntimeConfig call) which cgroup driver to use instead of trusting its own cgroupDriver
setting, and falls back to that setting when the runtime does not implement the call.
1.28-1.31 nodes run Debian's containerd 1.6, which does not: the kubelet logs the fall-back and
keeps the configured driver (systemd, like containerd's runc). 1.32-1.36 nodes run containerd
2.3, which does, and the catalog runs their runc with cgroupfs while kind's kubelet config says
systemd: the kubelet takes cgroupfs from the runtime.
"""

from __future__ import annotations

import tomllib

import pytest
import yaml

from kconformance.catalog import release_key
from kconformance.testing import Kube
from suites.sig_node.pods import a_node, kubelet_config, node_exec, running

FALLBACK = "Falling back to using cgroupDriver from kubelet config."
FROM_CRI = "Using cgroup driver setting received from the CRI runtime"
# where containerd 1.6/2.x config dumps keep the CRI runtimes
CRI_PLUGINS = ("io.containerd.cri.v1.runtime", "io.containerd.grpc.v1.cri")


def _journal(node: str) -> str:
    return node_exec(node, "journalctl", "-u", "kubelet", "--no-pager", "-o", "cat").stdout


def _runtime_driver(node: str) -> str:
    """The cgroup driver containerd gives runc, from its effective configuration."""
    dump = node_exec(node, "sh", "-c", "containerd config dump 2>/dev/null").stdout  # no warnings
    plugins = tomllib.loads(dump)["plugins"]
    cri = next(plugins[name] for name in CRI_PLUGINS if "containerd" in plugins.get(name, {}))
    options = cri["containerd"]["runtimes"]["runc"].get("options", {})
    return "systemd" if options.get("SystemdCgroup") else "cgroupfs"


def _answers_runtime_config(node: str) -> bool:
    """containerd implements the CRI RuntimeConfig call from 2.0."""
    version = node_exec(node, "containerd", "--version").stdout.split()[2]
    return int(version.lstrip("v").split(".")[0]) >= 2


@pytest.mark.kind_nodes
@pytest.mark.feature("KubeletCgroupDriverFromCRI")
def test_cgroup_driver_comes_from_the_runtime_or_falls_back(kube: Kube) -> None:
    """containerd 1.6 (1.28-1.31): the kubelet logs "CRI implementation should be updated to
    support RuntimeConfig when KubeletCgroupDriverFromCRI feature gate has been enabled.
    Falling back to using cgroupDriver from kubelet config." and runs on the configured systemd
    driver. containerd 2.3 (1.32-1.36): the config file says systemd, the runtime cgroupfs; the
    kubelet logs 'Using cgroup driver setting received from the CRI runtime
    cgroupDriver="cgroupfs"'; /configz reports cgroupfs from 1.35 (registered after the
    detection), the config file's systemd on 1.32-1.34 (registered before it). Either way a pod
    runs. With the gate off the kubelet logs neither line."""
    node = a_node(kube)
    main = yaml.safe_load(node_exec(node, "cat", "/var/lib/kubelet/config.yaml").stdout)
    runtime = _runtime_driver(node)
    journal = _journal(node)
    config = kubelet_config(kube, node)
    if _answers_runtime_config(node):
        assert main["cgroupDriver"] != runtime, "the kubelet's config already agrees"
        lines = [line for line in journal.splitlines() if FROM_CRI in line]
        assert lines, "the kubelet never logged taking the driver from the CRI runtime"
        assert f'cgroupDriver="{runtime}"' in lines[-1], lines[-1]
        # 1.32-1.34 register /configz (a copy) before asking the runtime; 1.35 moved initConfigz
        # after getCgroupDriverFromCRI (cmd/kubelet/app/server.go)
        shown = runtime if release_key(kube.release) >= (1, 35) else main["cgroupDriver"]
        assert config["cgroupDriver"] == shown
    else:
        assert FALLBACK in journal, "no fall-back line in the kubelet's journal"
        assert FROM_CRI not in journal
        assert config["cgroupDriver"] == main["cgroupDriver"] == runtime == "systemd"
    kube.apply("sig_node/ready-to-start.yaml")
    kube.wait_for("Pod", lambda p: running(p, "main"), name="ready-to-start", timeout=90)
