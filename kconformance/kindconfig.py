"""Render a Profile as a kind Cluster configuration.

kind has fields for feature gates and runtime-config only; everything else goes through
kubeadmConfigPatches. Those patches never pin an apiVersion: kind v0.32 writes kubeadm v1beta4
for 1.36 and silently skips a patch whose apiVersion does not match, and it converts the map form
of extraArgs used here into v1beta4's name/value list itself.
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


def kind_config(profile: Profile, files_dir: str = ".") -> dict[str, Any]:
    """The kind Cluster config; node files are bind-mounted read-only from ``files_dir``."""
    config: dict[str, Any] = {"kind": "Cluster", "apiVersion": "kind.x-k8s.io/v1alpha4"}
    if profile.feature_gates:
        config["featureGates"] = dict(profile.feature_gates)
    if profile.runtime_config:
        config["runtimeConfig"] = dict(profile.runtime_config)
    config["nodes"] = [{"role": "control-plane"}] + [
        {"role": "worker"} for _ in range(profile.nodes - 1)
    ]
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
            node["extraMounts"] = mounts
    patches: list[str] = []
    cluster_patch: dict[str, Any] = {}
    if profile.apiserver_args:
        cluster_patch["apiServer"] = {"extraArgs": dict(profile.apiserver_args)}
    if profile.controller_manager_args:
        cluster_patch["controllerManager"] = {"extraArgs": dict(profile.controller_manager_args)}
    if cluster_patch:
        patches.append(_patch("ClusterConfiguration", cluster_patch))
    kubelet = profile.kubelet
    if kubelet:
        patches.append(_patch("KubeletConfiguration", kubelet))
    if profile.kubelet_args:
        registration = {"nodeRegistration": {"kubeletExtraArgs": dict(profile.kubelet_args)}}
        patches.append(_patch("InitConfiguration", registration))
        patches.append(_patch("JoinConfiguration", registration))
    if patches:
        config["kubeadmConfigPatches"] = patches
    return config


def render(profile: Profile, files_dir: str | None = None) -> str:
    """The kind config file text, headed by where it came from so nobody edits it by hand.

    ``files_dir`` is where the node files are on the host (see write_node_files); by default the
    directory named by files_dirname, relative to where kind runs."""
    header = (
        f"# Rendered by kconformance from the feature catalog - do not edit.\n"
        f"# profile {profile.name!r}, Kubernetes {profile.kubernetes_version}, hash {profile.hash}\n"
        f"# Regenerate: python -m kconformance render-configs\n"
    )
    if node_files(profile) and files_dir is None:
        header += "# Node files are mounted from a relative path: run kind from this directory.\n"
    config = kind_config(profile, files_dir or f"./{files_dirname(profile)}")
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
