"""Render a Profile as a kind Cluster configuration.

kind has fields for feature gates and runtime-config only; everything else goes through
kubeadmConfigPatches. Those patches never pin an apiVersion: kind v0.32 writes kubeadm v1beta4
for 1.36 and silently skips a patch whose apiVersion does not match, and it converts the map form
of extraArgs used here into v1beta4's name/value list itself.
"""

from __future__ import annotations

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


def kind_config(profile: Profile) -> dict[str, Any]:
    config: dict[str, Any] = {"kind": "Cluster", "apiVersion": "kind.x-k8s.io/v1alpha4"}
    if profile.feature_gates:
        config["featureGates"] = dict(profile.feature_gates)
    if profile.runtime_config:
        config["runtimeConfig"] = dict(profile.runtime_config)
    config["nodes"] = [{"role": "control-plane"}] + [
        {"role": "worker"} for _ in range(profile.nodes - 1)
    ]
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
    if patches:
        config["kubeadmConfigPatches"] = patches
    return config


def render(profile: Profile) -> str:
    """The kind config file text, headed by where it came from so nobody edits it by hand."""
    header = (
        f"# Rendered by kconformance from the feature catalog - do not edit.\n"
        f"# profile {profile.name!r}, Kubernetes {profile.kubernetes_version}, hash {profile.hash}\n"
        f"# Regenerate: python -m kconformance render-configs\n"
    )
    return header + yaml.dump(kind_config(profile), Dumper=_LiteralDumper, sort_keys=False)


def config_filename(profile: Profile) -> str:
    return f"{profile.release}-{profile.name}.yaml"
