"""Feature-off proof profiles: the cluster on which a feature's test is run with the feature
switched off (``--prove``), and whether any profile can switch it off at all.

Where the feature's behaviour lives outside the kube-apiserver (catalog ``behaviour_in``), its
gate stays on in the apiserver and is false only in those components, so the API accepts the
feature's fields and a test fails on the missing behaviour, not at apply; the ``gates``
profile's default-off features of that kind share one such cluster, ``off-gates``. Otherwise
the profile is the feature's own profile without the feature.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from kconformance.catalog import Catalog, Feature, ProfileSpec, Stage
from kconformance.profiles import API_SERVER, Profile, assemble, gate_enabled

# The feature-off proof cluster shared by the `gates` profile's default-off features whose
# behaviour is outside the kube-apiserver (see resolve_off_profile).
SHARED_PROOF_PROFILE = "off-gates"


def _can_be_off(stage: Stage) -> bool:
    return stage.exists and not stage.locked


def keeps_api(feature: Feature) -> bool:
    """Whether a proof of ``feature`` keeps its gate on in the kube-apiserver: its behaviour
    lives elsewhere (catalog behaviour_in), so the API still accepts its fields."""
    return bool(feature.behaviour_in) and API_SERVER not in feature.behaviour_in


def _off_gates(catalog: Catalog, feature: Feature, release: str, kept: set[str]) -> list[str]:
    """The gates of ``feature`` a proof switches off in ``release`` (none that is locked or
    gone, none that a needed feature keeps on)."""
    return [
        g for g in feature.gates if g not in kept and _can_be_off(catalog.gates[g].stage(release))
    ]


def _shared_proof_members(catalog: Catalog, release: str, host: frozenset[str]) -> list[Feature]:
    """The features whose proof runs on SHARED_PROOF_PROFILE in ``release``: those of the
    `gates` profile whose behaviour is outside the apiserver and whose switchable gates are all
    off by default (the cluster that was the shared ``baseline`` for them, with their API on)."""
    members = []
    for f in catalog.features_in_profile("gates"):
        if f.unavailable_reason(release, host) or not keeps_api(f):
            continue
        off = _off_gates(catalog, f, release, set())
        if off and not any(catalog.gates[g].stage(release).default for g in off):
            members.append(f)
    return members


def off_profile_name(feature: Feature) -> str:
    """``off-<feature>``, short enough for a kind node's host name: a name cut to 16 characters
    ends in a hash of the whole, so two features with the same beginning (the two topology
    manager features, the two CDI ones) never name two different profiles alike."""
    slug = re.sub(r"[^a-z0-9]", "", feature.name.lower())
    if len(slug) > 16:
        slug = slug[:11] + "-" + hashlib.sha256(feature.name.encode()).hexdigest()[:4]
    return "off-" + slug


def resolve_off_profile(
    catalog: Catalog,
    feature: Feature,
    release: str,
    needs: Iterable[Feature] = (),
    extra_gates: Mapping[str, bool] | None = None,
    kubernetes_version: str | None = None,
    host: frozenset[str] = frozenset(),
) -> Profile:
    """The profile where ``feature`` is off and all else its test needs is as on its own profile.

    This is what a feature-off proof runs on. Where the feature's behaviour lives outside the
    kube-apiserver (catalog ``behaviour_in``), the profile is the feature's own profile with its
    gates set false only in those components: the apiserver keeps them on (and its
    runtime-config), so the API accepts the feature's fields and a test fails on the missing
    behaviour, not at apply. The default-off features of the shared ``gates`` profile share one
    such cluster, ``off-gates``. Where the behaviour is in the apiserver itself (or the feature
    has no gate), the profile is the feature's own profile without the feature (its gates,
    runtime-config and extra components left out, its default-on gates set to false), which for
    a default-off feature of the ``gates`` profile is just ``baseline``, the release as shipped.

    A gated feature keeps its component settings that are not gates (a kube-controller-manager
    period, a service-node-port-range): the gate is what is switched off. Settings a component
    refuses while the gate is off (catalog ``kubelet_fields`` and ``apiserver_flags`` with
    ``requires_gate``) are left out. The other default-off features the test declares it
    ``needs`` stay on.
    """
    off = _OffRequest(
        catalog,
        feature,
        release,
        [f for f in needs if f.name != feature.name],
        dict(extra_gates or {}),
        kubernetes_version,
        host,
    )
    if keeps_api(feature) and off.switched:
        profile = _off_in_behaviour_components(off)
    else:
        profile = _without_feature(off)
    return _without_refused_settings(catalog, profile)


@dataclass(frozen=True)
class _OffRequest:
    """What resolve_off_profile was asked, and what both kinds of off profile derive from it."""

    catalog: Catalog
    feature: Feature
    release: str
    needed: list[Feature]  # other default-off features the test keeps on
    extra_gates: dict[str, bool]
    kubernetes_version: str | None
    host: frozenset[str]

    @property
    def spec(self) -> ProfileSpec:
        return self.catalog.profile(self.feature.profile)

    @property
    def others(self) -> list[Feature]:
        """The other features of its profile; they stay, unless they share a gate with it (off
        with it too)."""
        base, feature = self.feature.profile, self.feature
        if base == "gates":
            return []
        return [
            f
            for f in self.catalog.features_in_profile(base)
            if f.name != feature.name and not set(f.gates) & set(feature.gates)
        ]

    @property
    def needed_gates(self) -> set[str]:
        return {g for f in self.needed for g in f.gates}

    @property
    def switched(self) -> list[str]:
        """The feature's gates the proof switches off."""
        return _off_gates(self.catalog, self.feature, self.release, self.needed_gates)

    @property
    def shares_baseline(self) -> bool:
        """Whether the profile could be the shared ``baseline`` cluster (same nodes, nothing
        running beside the control plane, not exclusive)."""
        spec = self.spec
        baseline_nodes = self.catalog.profile("baseline").nodes
        return spec.nodes == baseline_nodes and not spec.components and not spec.exclusive

    def assemble(
        self, name: str, features: list[Feature], gates: Mapping[str, bool], **kw: Any
    ) -> Profile:
        return assemble(
            self.catalog,
            name,
            self.release,
            features,
            gates,
            {},
            spec=self.spec,
            kubernetes_version=self.kubernetes_version,
            host=self.host,
            **kw,
        )


def _off_in_behaviour_components(off: _OffRequest) -> Profile:
    """The feature's profile with its gates on in the kube-apiserver and off only in the
    components its behaviour lives in; ``off-gates`` for the shared gates profile's features."""
    catalog, feature, release = off.catalog, off.feature, off.release
    members = _shared_proof_members(catalog, release, off.host) if off.shares_baseline else []
    if feature.profile == "gates" and not off.needed and feature in members:
        proven, name, features = members, SHARED_PROOF_PROFILE, members
    else:
        proven, name, features = (
            [feature],
            off_profile_name(feature),
            [*off.others, *off.needed, feature],
        )
    on: dict[str, bool] = {}
    component_gates: dict[tuple[str, str], bool] = {}
    for f in proven:
        for gate_name in _off_gates(catalog, f, release, off.needed_gates):
            on[gate_name] = True  # explicit, so every component's flags show it
            for component in f.behaviour_in:
                component_gates[(component, gate_name)] = False
    return off.assemble(name, features, {**on, **off.extra_gates}, component_gates=component_gates)


def _without_feature(off: _OffRequest) -> Profile:
    """The feature's profile without the feature (its default-on gates false); ``baseline``
    when nothing is left to set."""
    catalog, feature, release = off.catalog, off.feature, off.release
    gates = dict(off.extra_gates)
    for gate_name in off.switched:
        if catalog.gates[gate_name].stage(release).default:
            gates[gate_name] = False
    features = off.others + off.needed
    settings = [feature] if feature.gates else []  # a gate-less feature's settings are its switch
    keeps = any(_settings(f, release) for f in settings)
    if not features and not gates and not keeps and off.shares_baseline:
        name = "baseline"
    else:
        name = off_profile_name(feature)
    return off.assemble(name, features, gates, settings_of=settings)


def _settings(feature: Feature, release: str) -> bool:
    """Whether the feature sets anything in a component besides gates and runtime-config."""
    return bool(
        feature.kubelet_for(release)
        or feature.apiserver_args
        or feature.controller_manager_args
        or feature.kubelet_args
        or feature.kubelet_env_for(release)
        or feature.node_files
    )


def _without_refused_settings(catalog: Catalog, profile: Profile) -> Profile:
    """``profile`` without the kubelet fields and kube-apiserver flags whose gate is off in
    that component: the component would refuse to start with them (catalog kubelet_fields,
    apiserver_flags)."""
    release = profile.release
    kubelet = profile.kubelet
    for path, rule in catalog.kubelet_fields.items():
        needed = rule.gate_for(release)
        if needed and not gate_enabled(catalog, profile, needed, "kubelet"):
            _drop(kubelet, path)
    apiserver = [
        (flag, value)
        for flag, value in profile.apiserver_args
        if not (
            (rule := catalog.apiserver_flags.get(flag))
            and (needed := rule.gate_for(release))
            and not gate_enabled(catalog, profile, needed, API_SERVER)
        )
    ]
    return replace(
        profile,
        kubelet_json=json.dumps(kubelet, sort_keys=True),
        apiserver_args=tuple(apiserver),
    )


def _drop(config: dict[str, Any], dotted: str) -> None:
    """Remove a dotted path from a nested dict, and the parents it leaves empty."""
    head, _, rest = dotted.partition(".")
    if head not in config:
        return
    if not rest:
        del config[head]
        return
    child = config[head]
    if isinstance(child, dict):
        _drop(child, rest)
        if not child:
            del config[head]


def feature_can_be_off(catalog: Catalog, release: str, feature: Feature) -> str | None:
    """None when some profile can switch the feature off in ``release``, else why it cannot."""
    if not feature.gates:
        return f"{feature.name} has no feature gate: it cannot be switched off"
    for gate_name in feature.gates:
        stage = catalog.gates[gate_name].stage(release)
        if stage in (
            Stage.ALPHA,
            Stage.BETA_OFF,
            Stage.BETA_ON,
            Stage.GA,
            Stage.DEPRECATED_ON,
            Stage.DEPRECATED_OFF,
        ):
            return None
    stages = ", ".join(f"{g} is {catalog.gates[g].stage(release).label}" for g in feature.gates)
    return f"{feature.name} cannot be off in Kubernetes {release}: {stages}"


def proof_impossible_reason(catalog: Catalog, release: str, feature: Feature) -> str | None:
    """None when a profile can switch ``feature`` off in ``release``, else why none can.

    A feature without a gate can still be off when it is a component setting (the profile
    without that setting); one that is neither, or whose every gate is locked on, cannot.
    """
    if feature.gates:
        return feature_can_be_off(catalog, release, feature)
    if (
        feature.kubelet_for(release)
        or feature.apiserver_args
        or feature.controller_manager_args
        or feature.runtime_config_for(release)
        or feature.kubelet_args
        or feature.kubelet_env_for(release)
        or feature.node_files
        or feature.components
    ):
        return None
    return (
        f"{feature.name} has no feature gate and no component setting: it cannot be switched "
        f"off in {release}"
    )
