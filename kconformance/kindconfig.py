"""Render a Profile as a kind Cluster configuration.

kind has fields for feature gates and runtime-config only; everything else goes through
kubeadmConfigPatches, and so do feature gates that differ between components (kind's
featureGates go to every component alike). Those patches never pin an apiVersion: kind v0.32
writes kubeadm v1beta4 for 1.36 and silently skips a patch whose apiVersion does not match, and
it converts the map form of extraArgs used here into v1beta4's name/value list itself (merged
by name with its own, e.g. runtime-config).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from kconformance.profiles import Profile


class _LiteralDumper(yaml.SafeDumper):
    """Multi-line strings as YAML block literals, so patches read like the kind docs."""


def _str_presenter(dumper: yaml.SafeDumper, data: str) -> yaml.Node:
    if "\n" in data:
        return dumper.represent_scalar("tag:yaml.org,2002:str", data, style="|")
    return dumper.represent_scalar("tag:yaml.org,2002:str", data)


_LiteralDumper.add_representer(str, _str_presenter)


def _patch(kind: str, body: dict[str, Any]) -> str:
    return yaml.dump({"kind": kind, **_sorted(body)}, Dumper=_LiteralDumper, sort_keys=False)


def _sorted(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _sorted(value[k]) for k in sorted(value)}
    return value


# The kubelet's environment comes from a systemd drop-in of kubelet.service: kind's node image
# starts the kubelet through systemd, and a drop-in present at boot needs no daemon-reload.
KUBELET_ENV_DROPIN = "/etc/systemd/system/kubelet.service.d/20-kconformance-env.conf"


# Every cluster here has one control-plane node, so leader election has nobody to elect
# against; it only adds a way to stop: a kube-controller-manager or kube-scheduler starved of
# CPU on a loaded machine misses its lease renewal (10 s), exits, and every controller is gone
# for 15 s or more while the next one waits out the lease (CI logged such kube-system restarts).
# A restarted kube-controller-manager also starts its controllers at once instead of after the
# old lease expires. A profile's own value wins.
SINGLE_CONTROL_PLANE_ARGS: dict[str, str] = {"leader-elect": "false"}


# Where kubeadm's ClusterConfiguration takes each control-plane component's flags. A profile
# with per-component gate values (Profile.component_gates, a feature-off proof) has no kind
# featureGates, which kind would pass to every component alike: each component gets its own
# --feature-gates here, the kubelet and kube-proxy their featureGates in their configuration.
KUBEADM_COMPONENTS: dict[str, str] = {
    "apiServer": "kube-apiserver",
    "controllerManager": "kube-controller-manager",
    "scheduler": "kube-scheduler",
}


def gate_list(gates: dict[str, bool]) -> str:
    """``A=true,B=false``, sorted: the --feature-gates syntax of every component."""
    return ",".join(f"{k}={str(v).lower()}" for k, v in sorted(gates.items()))


def node_files(profile: Profile) -> dict[str, str]:
    """Every file a profile puts into its nodes, by absolute path in the node."""
    files = dict(profile.node_files)
    if profile.kubelet_env:
        lines = [
            "# Rendered by kconformance from the feature catalog (kubelet_env).",
            "[Service]",
            *(f'Environment="{k}={v}"' for k, v in profile.kubelet_env),
        ]
        files[KUBELET_ENV_DROPIN] = "\n".join(lines) + "\n"
    return files


def host_file_name(node_path: str) -> str:
    """The flat file name a node file gets on the host, e.g. etc-kubernetes-x.conf."""
    return re.sub(r"[^A-Za-z0-9._-]+", "-", node_path.strip("/"))


# Written into checked-in configs in place of the per-cluster directory the components are staged
# in (kconformance.components.stage): the real path exists only while a run creates the cluster.
STAGE_PLACEHOLDER = "${KCONFORMANCE_STAGE}"


def component_node_dir(name: str) -> str:
    """Where a staged component (binary and files) appears in the control-plane node."""
    return f"/etc/kubernetes/kconformance/{name}"


def _component_mounts(profile: Profile, stage: str) -> list[dict[str, Any]]:
    mounts: list[dict[str, Any]] = []
    for name, static_pod in profile.components:
        mounts.append(
            {
                "hostPath": f"{stage}/{name}",
                "containerPath": component_node_dir(name),
                "readOnly": True,
            }
        )
        if static_pod:
            mounts.append(
                {
                    "hostPath": f"{stage}/{name}/{static_pod}",
                    "containerPath": f"/etc/kubernetes/manifests/kconformance-{static_pod}",
                    "readOnly": True,
                }
            )
    return mounts


def kind_config(
    profile: Profile, files_dir: str = ".", stage_dir: Path | None = None
) -> dict[str, Any]:
    """The kind Cluster config: node files are bind-mounted read-only from ``files_dir``, the
    profile's components from ``stage_dir``, where they were staged."""
    config: dict[str, Any] = {"kind": "Cluster", "apiVersion": "kind.x-k8s.io/v1alpha4"}
    per_component = bool(profile.component_gates)
    if profile.feature_gates and not per_component:
        config["featureGates"] = dict(profile.feature_gates)
    if profile.runtime_config:
        config["runtimeConfig"] = dict(profile.runtime_config)
    control_plane: dict[str, Any] = {"role": "control-plane"}
    if profile.components:
        stage = str(stage_dir) if stage_dir else STAGE_PLACEHOLDER
        control_plane["extraMounts"] = _component_mounts(profile, stage)
    config["nodes"] = [control_plane] + [{"role": "worker"} for _ in range(profile.nodes - 1)]
    if profile.containerd_patch:
        config["containerdConfigPatches"] = [profile.containerd_patch]
    mounts = [
        {
            "hostPath": f"{files_dir.rstrip('/')}/{host_file_name(path)}",
            "containerPath": path,
            "readOnly": True,
        }
        for path in sorted(node_files(profile))
    ]
    if mounts:
        for node in config["nodes"]:
            node["extraMounts"] = node.get("extraMounts", []) + mounts
    patches: list[str] = []
    cluster_patch: dict[str, Any] = {}
    if profile.apiserver_args:
        cluster_patch["apiServer"] = {"extraArgs": dict(profile.apiserver_args)}
    if profile.apiserver_mounts:
        cluster_patch.setdefault("apiServer", {})["extraVolumes"] = [
            {
                "name": f"kconformance-{i}",
                "hostPath": path,
                "mountPath": path,
                "pathType": "DirectoryOrCreate",
            }
            for i, path in enumerate(profile.apiserver_mounts)
        ]
    cluster_patch["controllerManager"] = {
        "extraArgs": {**SINGLE_CONTROL_PLANE_ARGS, **dict(profile.controller_manager_args)}
    }
    cluster_patch["scheduler"] = {"extraArgs": dict(SINGLE_CONTROL_PLANE_ARGS)}
    kubelet = profile.kubelet
    if per_component:
        for key, component in KUBEADM_COMPONENTS.items():
            gates = profile.gates_for(component)
            if gates:
                args = cluster_patch.setdefault(key, {}).setdefault("extraArgs", {})
                args["feature-gates"] = gate_list(gates)
        if profile.gates_for("kubelet"):
            kubelet["featureGates"] = profile.gates_for("kubelet")
    patches.append(_patch("ClusterConfiguration", cluster_patch))
    if kubelet:
        patches.append(_patch("KubeletConfiguration", kubelet))
    if per_component and profile.gates_for("kube-proxy"):
        proxy = {"featureGates": profile.gates_for("kube-proxy")}
        patches.append(_patch("KubeProxyConfiguration", proxy))
    if profile.kubelet_args:
        registration = {"nodeRegistration": {"kubeletExtraArgs": dict(profile.kubelet_args)}}
        patches.append(_patch("InitConfiguration", registration))
        patches.append(_patch("JoinConfiguration", registration))
    if patches:
        config["kubeadmConfigPatches"] = patches
    return config


def render(profile: Profile, files_dir: str | None = None, stage_dir: Path | None = None) -> str:
    """The kind config file text, headed by where it came from so nobody edits it by hand.

    ``files_dir`` is where the node files are on the host (see write_node_files); by default the
    directory named by files_dirname, relative to where kind runs. ``stage_dir`` is where the
    profile's components were staged."""
    header = (
        f"# Rendered by kconformance from the feature catalog - do not edit.\n"
        f"# profile {profile.name!r}, Kubernetes {profile.kubernetes_version}, hash {profile.hash}\n"
        f"# Regenerate: python -m kconformance render-configs\n"
    )
    if node_files(profile) and files_dir is None:
        header += "# Node files are mounted from a relative path: run kind from this directory.\n"
    if profile.components and stage_dir is None:
        header += (
            f"# {STAGE_PLACEHOLDER}: the directory kconformance stages the components "
            f"({', '.join(n for n, _ in profile.components)}) in when it creates the cluster\n"
        )
    config = kind_config(profile, files_dir or f"./{files_dirname(profile)}", stage_dir)
    return header + yaml.dump(config, Dumper=_LiteralDumper, sort_keys=False)


def config_filename(profile: Profile) -> str:
    return f"{profile.release}-{profile.name}.yaml"


def files_dirname(profile: Profile) -> str:
    return f"{profile.release}-{profile.name}.files"


def rendered_node_files(profile: Profile) -> dict[str, str]:
    """Host file name -> content of every node file (what write_node_files writes)."""
    return {host_file_name(path): text for path, text in node_files(profile).items()}


def write_node_files(profile: Profile, directory: Path) -> None:
    """Write the profile's node files where its kind config mounts them from."""
    directory.mkdir(parents=True, exist_ok=True)
    for name, text in rendered_node_files(profile).items():
        (directory / name).write_text(text)
