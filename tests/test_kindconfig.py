"""Rendered kind configs: checked in, derived from the catalog, safe for every kind release."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import yaml

from kconformance.catalog import default_catalog
from kconformance.commands.render_configs import rendered_configs, rendered_files
from kconformance.kindconfig import kind_config
from kconformance.offprofiles import resolve_off_profile
from kconformance.profiles import resolve_profile

CONFIGS = Path(__file__).parent.parent / "kind-configs"


def test_checked_in_configs_match_the_catalog():
    rendered = {**rendered_configs(), **rendered_files()}
    on_disk = {
        str(p.relative_to(CONFIGS)): p.read_text()
        for p in [*CONFIGS.glob("*.yaml"), *CONFIGS.glob("*.files/*")]
    }
    drifted = sorted(n for n in rendered if on_disk.get(n) != rendered[n])
    stale = sorted(set(on_disk) - set(rendered))
    assert not drifted and not stale, (
        f"kind-configs/ drifted from the catalog (changed: {drifted}, stale: {stale}); "
        "run: python -m kconformance render-configs"
    )


def test_patches_never_pin_a_kubeadm_api_version():
    for text in rendered_configs().values():
        for patch in yaml.safe_load(text.split("\n", 3)[3]).get("kubeadmConfigPatches", []):
            assert "apiVersion" not in yaml.safe_load(patch)


def test_node_port_range_goes_through_an_apiserver_patch():
    profile = resolve_profile(default_catalog(), "nodeport", "1.28")
    patches = [yaml.safe_load(p) for p in kind_config(profile)["kubeadmConfigPatches"]]
    cluster = next(p for p in patches if p["kind"] == "ClusterConfiguration")
    assert cluster["apiServer"]["extraArgs"]["service-node-port-range"] == "30000-30099"


def test_fail_cgroup_v1_only_where_the_kubelet_knows_it():
    catalog = default_catalog()
    assert "failCgroupV1" not in resolve_profile(catalog, "gates", "1.28").kubelet
    assert resolve_profile(catalog, "gates", "1.36").kubelet["failCgroupV1"] is False


def test_runc_uses_cgroupfs_only_on_nodes_with_containerd_2():
    """The catalog's containerd patch reaches kind's containerdConfigPatches, and changes the
    cluster's identity; 1.28's nodes (containerd 1.6) keep kind's configuration."""
    catalog = default_catalog()
    assert "containerdConfigPatches" not in kind_config(resolve_profile(catalog, "gates", "1.28"))
    profile = resolve_profile(catalog, "gates", "1.36")
    (patch,) = kind_config(profile)["containerdConfigPatches"]
    assert "SystemdCgroup = false" in patch
    assert profile.hash != dataclasses.replace(profile, containerd_patch="").hash


def test_two_node_profile_has_a_worker():
    profile = resolve_profile(default_catalog(), "two-node", "1.28")
    assert [n["role"] for n in kind_config(profile)["nodes"]] == ["control-plane", "worker"]


def test_inotify_advice_names_the_sysctls(tmp_path):
    from kconformance.preflight import inotify_advice

    (tmp_path / "max_user_watches").write_text("8192\n")
    (tmp_path / "max_user_instances").write_text("128\n")
    advice = inotify_advice(6, proc_root=tmp_path)
    assert "sysctl -w fs.inotify.max_user_watches=524288 (now 8192)" in advice
    assert "sysctl -w fs.inotify.max_user_instances=512 (now 128)" in advice
    assert inotify_advice(1, proc_root=tmp_path) is None


def test_node_files_are_mounted_into_every_node_and_the_flag_goes_to_kubeadm():
    profile = resolve_profile(default_catalog(), "kubelet-dropin", "1.28")
    config = kind_config(profile, "/run/files")
    mounts = {m["containerPath"]: m for m in config["nodes"][0]["extraMounts"]}
    env = mounts["/etc/systemd/system/kubelet.service.d/20-kconformance-env.conf"]
    assert (
        env["hostPath"]
        == "/run/files/etc-systemd-system-kubelet.service.d-20-kconformance-env.conf"
    )
    assert env["readOnly"] is True
    assert "/etc/kubernetes/kubelet.conf.d/10-kconformance-max-pods.conf" in mounts
    patches = [yaml.safe_load(p) for p in config["kubeadmConfigPatches"]]
    for kind in ("InitConfiguration", "JoinConfiguration"):
        patch = next(p for p in patches if p["kind"] == kind)
        assert patch["nodeRegistration"]["kubeletExtraArgs"] == {
            "config-dir": "/etc/kubernetes/kubelet.conf.d"
        }


def test_kubelet_environment_is_a_systemd_dropin_only_where_needed(tmp_path):
    from kconformance.kindconfig import KUBELET_ENV_DROPIN, node_files, write_node_files

    catalog = default_catalog()
    old = resolve_profile(catalog, "kubelet-dropin", "1.28")
    assert node_files(old)[KUBELET_ENV_DROPIN].splitlines()[1:] == [
        "[Service]",
        'Environment="KUBELET_CONFIG_DROPIN_DIR_ALPHA=on"',
    ]
    assert KUBELET_ENV_DROPIN not in node_files(resolve_profile(catalog, "kubelet-dropin", "1.36"))
    write_node_files(old, tmp_path)
    assert len(list(tmp_path.iterdir())) == 4


def test_kms_profile_stages_the_plugin_and_mounts_it_into_node_and_apiserver(tmp_path):
    import json

    from kconformance.components import stage

    catalog = default_catalog()
    profile = resolve_profile(catalog, "kms", "1.28", kubernetes_version="v1.28.15")
    (tmp_path / "releases").mkdir()
    binary = tmp_path / "kms-plugin"
    binary.write_text("#!/bin/true\n")
    (tmp_path / "releases" / "1.28-components.json").write_text(
        json.dumps({"kms-plugin": {"path": str(binary)}})
    )
    staged = stage(catalog, profile, tmp_path / "stage", root=tmp_path)
    assert (staged / "kms-plugin" / "kms-plugin").read_text() == "#!/bin/true\n"
    pod = yaml.safe_load((staged / "kms-plugin" / "kms-plugin.yaml").read_text())
    assert pod["spec"]["containers"][0]["image"] == "registry.k8s.io/kube-apiserver:v1.28.15"
    config = kind_config(profile, stage_dir=staged)
    mounts = {m["containerPath"]: m["hostPath"] for m in config["nodes"][0]["extraMounts"]}
    assert mounts == {
        "/etc/kubernetes/kconformance/kms-plugin": f"{staged}/kms-plugin",
        "/etc/kubernetes/manifests/kconformance-kms-plugin.yaml": f"{staged}/kms-plugin/kms-plugin.yaml",
    }
    cluster = yaml.safe_load(config["kubeadmConfigPatches"][0])
    encryption = cluster["apiServer"]["extraArgs"]["encryption-provider-config"]
    assert (staged / "kms-plugin" / Path(encryption).name).is_file()
    volumes = {v["mountPath"] for v in cluster["apiServer"]["extraVolumes"]}
    assert volumes == {"/etc/kubernetes/kconformance/kms-plugin", "/var/run/kconformance-kms"}


def _patches(config):
    return {p["kind"]: p for p in (yaml.safe_load(t) for t in config["kubeadmConfigPatches"])}


@pytest.mark.parametrize(
    ("release", "feature"),
    [("1.28", "SidecarContainers"), ("1.36", "PodReadyToStartContainers")],
    ids=["v1beta3", "v1beta4"],
)
def test_proof_profile_gives_every_component_its_own_gates(release, feature):
    """No kind featureGates (kind passes them to every component alike): each control-plane
    component gets --feature-gates through the ClusterConfiguration patch, the kubelet and
    kube-proxy featureGates in their configurations. The same map form serves kubeadm v1beta3
    (1.28) and v1beta4 (1.36): kind converts extraArgs to v1beta4's list, merged by name."""
    catalog = default_catalog()
    profile = resolve_off_profile(catalog, catalog.features[feature], release)
    gate = catalog.features[feature].gates[0]
    config = kind_config(profile)
    assert "featureGates" not in config
    patches = _patches(config)
    cluster = patches["ClusterConfiguration"]
    api = cluster["apiServer"]["extraArgs"]["feature-gates"].split(",")
    assert f"{gate}=true" in api
    assert f"{gate}=true" in cluster["controllerManager"]["extraArgs"]["feature-gates"]
    assert f"{gate}=true" in cluster["scheduler"]["extraArgs"]["feature-gates"]
    assert cluster["controllerManager"]["extraArgs"]["leader-elect"] == "false"
    assert patches["KubeletConfiguration"]["featureGates"][gate] is False
    assert patches["KubeProxyConfiguration"] == {
        "kind": "KubeProxyConfiguration",
        "featureGates": profile.gates_for("kube-proxy"),
    }
    assert api == sorted(api)  # A=true,B=false, sorted: one flag value, stable across runs
    if release == "1.36":  # the release's own kubelet setting stays next to the gates
        assert patches["KubeletConfiguration"]["failCgroupV1"] is False


def test_proof_profile_of_a_controller_feature_keeps_runtime_config_and_kcm_flags():
    """DRA: the API (gate and resource.k8s.io) stays on in the apiserver; the gate is off in
    the controller manager, scheduler and kubelet. The token cleaner keeps its 1 s period."""
    catalog = default_catalog()
    dra = resolve_off_profile(catalog, catalog.features["DynamicResourceAllocation"], "1.28")
    config = kind_config(dra)
    assert config["runtimeConfig"] == {"resource.k8s.io/v1alpha2": "true"}
    cluster = _patches(config)["ClusterConfiguration"]
    assert cluster["apiServer"]["extraArgs"] == {"feature-gates": "DynamicResourceAllocation=true"}
    for component in ("controllerManager", "scheduler"):
        args = cluster[component]["extraArgs"]
        assert args["feature-gates"] == "DynamicResourceAllocation=false"
    assert _patches(config)["KubeletConfiguration"]["featureGates"] == {
        "DynamicResourceAllocation": False
    }
    feature = catalog.features["LegacyServiceAccountTokenCleanUp"]
    cleanup = kind_config(resolve_off_profile(catalog, feature, "1.28"))
    kcm = _patches(cleanup)["ClusterConfiguration"]["controllerManager"]["extraArgs"]
    assert kcm == {
        "feature-gates": "LegacyServiceAccountTokenCleanUp=false",
        "leader-elect": "false",
        "legacy-service-account-token-clean-up-period": "1s",
    }


def test_apiserver_feature_proof_is_rendered_as_before():
    """CEL validation lives in the apiserver: off everywhere through kind's featureGates, no
    per-component flags."""
    catalog = default_catalog()
    feature = catalog.features["CustomResourceValidationExpressions"]
    config = kind_config(resolve_off_profile(catalog, feature, "1.28"))
    assert config["featureGates"] == {"CustomResourceValidationExpressions": False}
    cluster = _patches(config)["ClusterConfiguration"]
    assert "feature-gates" not in cluster["scheduler"]["extraArgs"]
    assert "KubeProxyConfiguration" not in _patches(config)


def test_a_profile_without_per_component_gates_renders_no_component_gates():
    for text in rendered_configs().values():
        assert "feature-gates" not in text and "KubeProxyConfiguration" not in text


def test_cloud_controller_manager_gets_its_own_gates(tmp_path):
    """StableLoadBalancerNodeSet lives in the service controller of the profile's fake-ccm: its
    static pod gets the gate off, every kind component keeps it on."""
    import json

    from kconformance.components import stage

    catalog = default_catalog()
    feature = catalog.features["StableLoadBalancerNodeSet"]
    profile = resolve_off_profile(catalog, feature, "1.28")
    (tmp_path / "releases").mkdir()
    binary = tmp_path / "fake-ccm"
    binary.write_text("#!/bin/true\n")
    (tmp_path / "releases" / "1.28-components.json").write_text(
        json.dumps({"fake-ccm": {"path": str(binary)}})
    )
    staged = stage(catalog, profile, tmp_path / "stage", root=tmp_path)
    pod = (staged / "fake-ccm" / "fake-ccm.yaml").read_text()
    assert "--feature-gates=StableLoadBalancerNodeSet=false" in pod
    cluster = _patches(kind_config(profile, stage_dir=staged))["ClusterConfiguration"]
    assert cluster["controllerManager"]["extraArgs"]["feature-gates"] == (
        "StableLoadBalancerNodeSet=true"
    )
