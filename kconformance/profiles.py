"""Cluster profiles: what one kind cluster must look like, derived from the catalog.

A profile is a Kubernetes release plus feature gates, runtime-config and component patches. It is
frozen and hashable because its hash names the cluster, groups tests that can share it, and
decides whether a kept cluster can be reused. The profile a feature-off proof runs on is made in
``offprofiles``; ``profilechecks`` refuses what a component would refuse at start-up.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from kconformance.catalog import (
    Catalog,
    Feature,
    ProfileSpec,
    Stage,
    gate_on,
)
from kconformance.errors import ProfileError


@dataclass(frozen=True)
class Profile:
    name: str
    release: str
    kubernetes_version: str
    feature_gates: tuple[tuple[str, bool], ...] = ()
    runtime_config: tuple[tuple[str, str], ...] = ()
    kubelet_json: str = "{}"
    apiserver_args: tuple[tuple[str, str], ...] = ()
    controller_manager_args: tuple[tuple[str, str], ...] = ()
    kubelet_args: tuple[tuple[str, str], ...] = ()
    kubelet_env: tuple[tuple[str, str], ...] = ()
    node_files: tuple[tuple[str, str], ...] = ()  # (path in every node, content)
    nodes: int = 1
    # extra components (catalog `components`): (name, static pod file or "") and the node paths
    # mounted into the kube-apiserver pod for them
    components: tuple[tuple[str, str], ...] = ()
    apiserver_mounts: tuple[str, ...] = ()
    containerd_patch: str = ""  # TOML merged into every node's containerd config
    # (component, gate, value): where one component's gate differs from feature_gates. A
    # feature-off proof keeps a gate on in the kube-apiserver and turns it off only where the
    # behaviour lives (catalog behaviour_in); such a profile is rendered per component.
    component_gates: tuple[tuple[str, str, bool], ...] = ()

    @property
    def gates(self) -> dict[str, bool]:
        """The gate values every component gets unless component_gates says otherwise."""
        return dict(self.feature_gates)

    def gates_for(self, component: str) -> dict[str, bool]:
        """The gate values of one component (e.g. ``kubelet``) of a cluster of this profile."""
        gates = dict(self.feature_gates)
        gates.update((g, v) for c, g, v in self.component_gates if c == component)
        return gates

    @property
    def kubelet(self) -> dict[str, Any]:
        return json.loads(self.kubelet_json)

    @property
    def key(self) -> str:
        """Human-readable identity: release and profile name, e.g. ``1.28-gates``."""
        return f"{self.release}-{self.name}"

    @property
    def hash(self) -> str:
        """Short content hash: two profiles with the same hash make identical clusters."""
        payload = json.dumps(
            {
                "release": self.release,
                "version": self.kubernetes_version,
                "gates": self.feature_gates,
                "runtime": self.runtime_config,
                "kubelet": self.kubelet_json,
                "apiserver": self.apiserver_args,
                "kcm": self.controller_manager_args,
                "nodes": self.nodes,
                **(
                    {
                        "kubelet_args": self.kubelet_args,
                        "kubelet_env": self.kubelet_env,
                        "node_files": self.node_files,
                    }
                    if self.kubelet_args or self.kubelet_env or self.node_files
                    else {}
                ),
                **(
                    {"components": self.components, "mounts": self.apiserver_mounts}
                    if self.components
                    else {}
                ),
                **({"containerd": self.containerd_patch} if self.containerd_patch else {}),
                **({"component_gates": self.component_gates} if self.component_gates else {}),
            },
            sort_keys=True,
        )
        return hashlib.sha256(payload.encode()).hexdigest()[:8]


def _deep_merge(base: dict[str, Any], patch: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in patch.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), dict):
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def resolve_profile(
    catalog: Catalog,
    name: str,
    release: str,
    extra_gates: Mapping[str, bool] | None = None,
    extra_kubelet: Mapping[str, Any] | None = None,
    kubernetes_version: str | None = None,
    host: frozenset[str] = frozenset(),
) -> Profile:
    """Build the profile ``name`` for ``release`` from the features assigned to it.

    ``kubernetes_version`` is the patch release actually run (e.g. the one hack/build.sh built),
    when it differs from the catalog's. Only gates that are off by default in that release are
    sent: a gate already on needs no
    flag, and one that no longer exists would stop every component (kind passes one map to all).
    """
    spec = catalog.profile(name)
    features = catalog.features_in_profile(name) if name != "baseline" else []
    return assemble(
        catalog,
        name,
        release,
        features,
        dict(extra_gates or {}),
        extra_kubelet or {},
        spec=spec,
        kubernetes_version=kubernetes_version,
        host=host,
    )


API_SERVER = "kube-apiserver"


def assemble(
    catalog: Catalog,
    name: str,
    release: str,
    features: Iterable[Feature],
    extra_gates: Mapping[str, bool],
    extra_kubelet: Mapping[str, Any],
    *,
    spec: ProfileSpec,
    kubernetes_version: str | None,
    host: frozenset[str],
    settings_of: Iterable[Feature] = (),
    component_gates: Mapping[tuple[str, str], bool] | None = None,
) -> Profile:
    """A profile carrying what ``features`` need on ``release``, then the explicit extras.

    ``spec`` gives the node count and what the profile runs whatever its features (components,
    its own gate values). ``settings_of`` are features whose component settings (not their
    gates, runtime-config or extra components) the profile carries; ``component_gates`` the
    (component, gate) values that differ from the common ones.
    """
    rel = catalog.release(release)
    parts = _Parts(kubelet=dict(rel.kubelet), wanted=list(spec.components))
    features = list(features)
    for feature in [*features, *(f for f in settings_of if f not in features)]:
        if feature.unavailable_reason(release, host):
            continue  # its tests are skipped there; an unused alpha gate is only risk
        if feature in features:
            parts.add_switches(catalog, feature, release)
        parts.add_settings(feature, release)
    parts.add_components(catalog)
    # a profile's own gate values, where they can be set (a removed gate, or false for a locked
    # one, would stop every component): elsewhere the profile is its feature's profile again
    for gate_name, value in spec.gates.items():
        stage = catalog.gates[gate_name].stage(release)
        if stage.exists and not (stage.locked and not value):
            parts.gates[gate_name] = value
    parts.gates.update(extra_gates)
    parts.kubelet = _deep_merge(parts.kubelet, extra_kubelet)
    return Profile(
        name=name,
        release=release,
        kubernetes_version=kubernetes_version or rel.kubernetes,
        feature_gates=tuple(sorted(parts.gates.items())),
        runtime_config=tuple(sorted(parts.runtime.items())),
        kubelet_json=json.dumps(parts.kubelet, sort_keys=True),
        apiserver_args=tuple(sorted(parts.apiserver.items())),
        controller_manager_args=tuple(sorted(parts.kcm.items())),
        kubelet_args=tuple(sorted(parts.kubelet_args.items())),
        kubelet_env=tuple(sorted(parts.kubelet_env.items())),
        node_files=tuple(sorted(parts.node_files.items())),
        nodes=spec.nodes,
        components=tuple(sorted(parts.components.items())),
        apiserver_mounts=tuple(parts.mounts),
        containerd_patch=rel.containerd,
        component_gates=tuple(sorted((c, g, v) for (c, g), v in (component_gates or {}).items())),
    )


@dataclass
class _Parts:
    """What assemble gathers from features and components before it freezes a Profile."""

    kubelet: dict[str, Any]
    wanted: list[str]  # extra components
    gates: dict[str, bool] = field(default_factory=dict)
    runtime: dict[str, str] = field(default_factory=dict)
    apiserver: dict[str, str] = field(default_factory=dict)
    kcm: dict[str, str] = field(default_factory=dict)
    kubelet_args: dict[str, str] = field(default_factory=dict)
    kubelet_env: dict[str, str] = field(default_factory=dict)
    node_files: dict[str, str] = field(default_factory=dict)
    components: dict[str, str] = field(default_factory=dict)
    mounts: list[str] = field(default_factory=list)

    def add_switches(self, catalog: Catalog, feature: Feature, release: str) -> None:
        """What turns the feature on: its default-off gates, runtime-config, extra components."""
        for gate_name in (*feature.gates, *feature.also_gates_for(release)):
            stage = catalog.gates[gate_name].stage(release)
            if stage in (Stage.ALPHA, Stage.BETA_OFF, Stage.DEPRECATED_OFF):
                self.gates[gate_name] = True
        self.runtime.update(feature.runtime_config_for(release))
        self.wanted += feature.components

    def add_settings(self, feature: Feature, release: str) -> None:
        """The feature's component settings besides its gates."""
        self.kubelet = _deep_merge(self.kubelet, feature.kubelet_for(release))
        self.apiserver.update(feature.apiserver_args)
        self.kcm.update(feature.controller_manager_args)
        self.kubelet_args.update(feature.kubelet_args)
        self.kubelet_env.update(feature.kubelet_env_for(release))
        self.node_files.update(feature.node_files)

    def add_components(self, catalog: Catalog) -> None:
        """The wanted extra components: their static pods, apiserver flags and mounts."""
        for component_name in self.wanted:
            component = catalog.components[component_name]
            self.components[component_name] = component.static_pod or ""
            self.apiserver.update(component.apiserver_args)
            self.mounts += [m for m in component.apiserver_mounts if m not in self.mounts]


def gate_enabled(
    catalog: Catalog, profile: Profile, gate_name: str, component: str | None = None
) -> bool:
    """Whether a gate is on in a cluster made from ``profile`` (see catalog.gate_on): in
    ``component``, or where no component has a value of its own."""
    explicit = profile.gates_for(component) if component else profile.gates
    return gate_on(catalog, gate_name, profile.release, explicit)


def feature_off_reason(catalog: Catalog, profile: Profile, feature: Feature) -> str | None:
    """None when the feature is on in this profile, else the reason a test prints when skipped.

    On means its gates are on in the kube-apiserver and in every component its behaviour
    lives in (catalog behaviour_in).
    """
    where = dict.fromkeys((API_SERVER, *feature.behaviour_in))
    for gate_name in feature.gates:
        for component in where:
            if gate_enabled(catalog, profile, gate_name, component):
                continue
            gate = catalog.gates[gate_name]
            stage = gate.stage(profile.release)
            if stage is Stage.ABSENT:
                return (
                    f"{feature.name}: gate {gate_name} does not exist in Kubernetes "
                    f"{profile.release}"
                )
            if gate_on(catalog, gate_name, profile.release, profile.gates):
                return (
                    f"{feature.name} is off in profile {profile.name!r} on {profile.release}: "
                    f"gate {gate_name} is off in the {component}"
                )
            return (
                f"{feature.name} is off in profile {profile.name!r} on {profile.release}: "
                f"gate {gate_name} is {stage.label} and the profile does not enable it"
            )
    return None


def parse_gate_list(text: str) -> dict[str, bool]:
    """Read ``A=true,B=false`` as given to --feature-gates (same syntax as the components)."""
    gates: dict[str, bool] = {}
    for item in filter(None, (p.strip() for p in text.split(","))):
        name, sep, raw = item.partition("=")
        if not sep or raw.lower() not in ("true", "false"):
            raise ProfileError(f"cannot read feature gate {item!r}: write Name=true or Name=false")
        gates[name.strip()] = raw.lower() == "true"
    return gates
