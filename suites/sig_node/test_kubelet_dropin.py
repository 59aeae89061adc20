"""sig-node: the kubelet's drop-in configuration directory (KEP-3983), profile kubelet-dropin.

The 1.28 article lists it under the feature gate ElasticIndexedJob: wrong - that gate belongs to
Jobs (KEP-3715), and KEP-3983 has no feature gate in any release. In 1.28 the kubelet reads
``--config-dir`` only when the environment variable KUBELET_CONFIG_DROPIN_DIR_ALPHA is set (any
value); without it the kubelet exits ("flag ... specified but environment variable
KUBELET_CONFIG_DROPIN_DIR_ALPHA not set, cannot start kubelet"), which the profile validation
refuses before any container starts (tests/test_profiles.py). 1.29 still needs it; from 1.30 the
variable is gone.

The catalog's profile mounts three files into /etc/kubernetes/kubelet.conf.d: 10-*.conf
(maxPods 50), 20-*.conf (maxPods 70) and 30-*.yaml (maxPods 99, not *.conf), passes
--config-dir through kubeadm's kubeletExtraArgs and, on 1.28-1.29, sets the variable with a systemd
drop-in of kubelet.service.
"""

from __future__ import annotations

import pytest
import yaml

from kconformance.catalog import Catalog, release_key
from kconformance.testing import Kube
from suites.sig_node.pods import a_node, kubelet_config, node_capacity_pods, node_exec


@pytest.mark.kind_nodes
@pytest.mark.feature("KubeletDropInConfigDir")
def test_dropins_apply_in_lexical_order_and_only_conf_files(kube: Kube) -> None:
    """ "Drop-in files ... processed in alphanumeric order": maxPods is 70 (20-*.conf comes after
    10-*.conf), not 99 (30-*.yaml is not a .conf file), not kind's default 110 - in /configz and
    in the node's status (capacity and allocatable pods)."""
    node = a_node(kube)
    config = kubelet_config(kube, node)
    assert config["maxPods"] == 70
    assert node_capacity_pods(kube, node) == "70"
    assert kube.cluster.core.read_node(node).status.allocatable["pods"] == "70"
    listing = node_exec(node, "ls", "/etc/kubernetes/kubelet.conf.d").stdout.split()
    assert listing == [
        "10-kconformance-max-pods.conf",
        "20-kconformance-max-pods.conf",
        "30-kconformance-ignored.yaml",
    ]


@pytest.mark.kind_nodes
@pytest.mark.feature("KubeletDropInConfigDir")
def test_kubelet_runs_with_the_flag_and_the_environment_it_needs(
    kube: Kube, catalog: Catalog
) -> None:
    """The kubelet process really has --config-dir (from kubeadm's kubeletExtraArgs) and, on
    1.28 and 1.29, KUBELET_CONFIG_DROPIN_DIR_ALPHA in its environment (from the systemd
    drop-in); the node is Ready."""
    node = a_node(kube)
    pid = node_exec(node, "systemctl", "show", "-p", "MainPID", "--value", "kubelet").stdout
    cmdline = node_exec(node, "cat", f"/proc/{pid.strip()}/cmdline").stdout.split("\0")
    assert "--config-dir=/etc/kubernetes/kubelet.conf.d" in cmdline
    environ = node_exec(node, "cat", f"/proc/{pid.strip()}/environ").stdout.split("\0")
    # the catalog's kubelet_env: the 1.28 and 1.29 kubelets read --config-dir only with it
    wanted = catalog.features["KubeletDropInConfigDir"].kubelet_env_for(kube.release)
    seen = dict(
        e.split("=", 1) for e in environ if e.startswith("KUBELET_CONFIG_DROPIN_DIR_ALPHA=")
    )
    assert seen == dict(wanted)
    ready = [c for c in kube.cluster.core.read_node(node).status.conditions if c.type == "Ready"]
    assert ready[0].status == "True"


@pytest.mark.kind_nodes
@pytest.mark.feature("KubeletDropInConfigDir")
def test_dropins_on_128_bring_back_defaults_the_main_file_changed(kube: Kube) -> None:
    """The 1.28 trap: each drop-in is loaded with the kubelet's defaults and merged over the main
    file with override (mergo.WithOverride in cmd/kubelet/app/server.go), so every default a
    drop-in does not restate replaces what the main file set. kind's main file says
    failSwapOn: false and the catalog's drop-ins do not: the 1.28 kubelet runs with
    failSwapOn: true (the default), 1.36 keeps false (1.29+ apply a drop-in as a JSON merge
    patch). What the drop-ins restate stays as kind set it: cgroupDriver systemd - seen here by
    hand on 1.28 with one more drop-in that did not restate it: the restarted kubelet ran on
    cgroupfs and could not even recreate the kube-apiserver sandbox ("runc create failed:
    expected cgroupsPath to be of format "slice:prefix:name" for systemd cgroups"), so the API
    server stayed down - imageGCHighThresholdPercent 100 and
    evictionHard 0% - seen here without them: the node went DiskPressure on a 62%-full disk
    (the default imagefs.available 15%) and the eviction manager deleted the kube-proxy image
    before the cluster was up. The drop-ins' own maxPods (70) shows they were applied: without
    them nothing here would differ from the main file on 1.29+."""
    node = a_node(kube)
    main = yaml.safe_load(node_exec(node, "cat", "/var/lib/kubelet/config.yaml").stdout)
    assert main["failSwapOn"] is False
    assert main["cgroupDriver"] == "systemd"
    config = kubelet_config(kube, node)
    assert config["maxPods"] == 70, "the kubelet runs without the drop-ins"
    assert config["failSwapOn"] is (kube.release == "1.28")
    if release_key(kube.release) < (1, 32):  # then the runtime's cgroupfs wins (catalog)
        assert config["cgroupDriver"] == "systemd"
    assert config["imageGCHighThresholdPercent"] == 100
    assert config["evictionHard"]["imagefs.available"] == "0%"
