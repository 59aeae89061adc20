"""Cluster profiles: what one kind cluster must look like, derived from the catalog.

A profile is a Kubernetes release plus feature gates, runtime-config and component patches. It is
frozen and hashable because its hash names the cluster, groups tests that can share it, and
decides whether a kept cluster can be reused. Validation mirrors what the components would refuse
at start-up, so a bad profile costs a second, not a failed cluster creation.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from kconformance.catalog import (
    BEHAVIOUR_COMPONENTS,
    Catalog,
    Feature,
    ProfileSpec,
    Stage,
    gate_on,
    release_key,
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
    return _assemble(
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
    base = feature.profile
    spec = catalog.profile(base)
    # other features of its profile stay, unless they share a gate with it (off with it too)
    others = (
        []
        if base == "gates"
        else [
            f
            for f in catalog.features_in_profile(base)
            if f.name != feature.name and not set(f.gates) & set(feature.gates)
        ]
    )
    needed = [f for f in needs if f.name != feature.name]
    needed_gates = {g for f in needed for g in f.gates}
    switched = _off_gates(catalog, feature, release, needed_gates)
    baseline_nodes = catalog.profile("baseline").nodes
    shares_baseline = spec.nodes == baseline_nodes and not spec.components and not spec.exclusive
    own_name = off_profile_name(feature)
    if keeps_api(feature) and switched:
        members = _shared_proof_members(catalog, release, host) if shares_baseline else []
        if base == "gates" and not needed and feature in members:
            proven, name, features = members, SHARED_PROOF_PROFILE, members
        else:
            proven, name, features = [feature], own_name, [*others, *needed, feature]
        on: dict[str, bool] = {}
        component_gates: dict[tuple[str, str], bool] = {}
        for f in proven:
            for gate_name in _off_gates(catalog, f, release, needed_gates):
                on[gate_name] = True  # explicit, so every component's flags show it
                for component in f.behaviour_in:
                    component_gates[(component, gate_name)] = False
        profile = _assemble(
            catalog,
            name,
            release,
            features,
            {**on, **(extra_gates or {})},
            {},
            spec=spec,
            kubernetes_version=kubernetes_version,
            host=host,
            component_gates=component_gates,
        )
        return _without_refused_settings(catalog, profile)
    gates = dict(extra_gates or {})
    for gate_name in switched:
        if catalog.gates[gate_name].stage(release).default:
            gates[gate_name] = False
    features = others + needed
    settings = [feature] if feature.gates else []  # a gate-less feature's settings are its switch
    keeps = any(_settings(f, release) for f in settings)
    if not features and not gates and not keeps and shares_baseline:
        name = "baseline"
    else:
        name = own_name
    profile = _assemble(
        catalog,
        name,
        release,
        features,
        gates,
        {},
        spec=spec,
        kubernetes_version=kubernetes_version,
        host=host,
        settings_of=settings,
    )
    return _without_refused_settings(catalog, profile)


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


def _assemble(
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
    gates: dict[str, bool] = {}
    runtime: dict[str, str] = {}
    kubelet: dict[str, Any] = dict(rel.kubelet)
    apiserver: dict[str, str] = {}
    kcm: dict[str, str] = {}
    kubelet_args: dict[str, str] = {}
    kubelet_env: dict[str, str] = {}
    node_files: dict[str, str] = {}
    components: dict[str, str] = {}
    mounts: list[str] = []
    wanted: list[str] = list(spec.components)
    features = list(features)
    for feature in [*features, *(f for f in settings_of if f not in features)]:
        if feature.unavailable_reason(release, host):
            continue  # its tests are skipped there; an unused alpha gate is only risk
        if feature in features:
            for gate_name in (*feature.gates, *feature.also_gates_for(release)):
                stage = catalog.gates[gate_name].stage(release)
                if stage in (Stage.ALPHA, Stage.BETA_OFF, Stage.DEPRECATED_OFF):
                    gates[gate_name] = True
            runtime.update(feature.runtime_config_for(release))
            wanted += feature.components
        kubelet = _deep_merge(kubelet, feature.kubelet_for(release))
        apiserver.update(feature.apiserver_args)
        kcm.update(feature.controller_manager_args)
        kubelet_args.update(feature.kubelet_args)
        kubelet_env.update(feature.kubelet_env_for(release))
        node_files.update(feature.node_files)
    for component_name in wanted:
        component = catalog.components[component_name]
        components[component_name] = component.static_pod or ""
        apiserver.update(component.apiserver_args)
        mounts += [m for m in component.apiserver_mounts if m not in mounts]
    # a profile's own gate values, where they can be set (a removed gate, or false for a locked
    # one, would stop every component): elsewhere the profile is its feature's profile again
    for gate_name, value in spec.gates.items():
        stage = catalog.gates[gate_name].stage(release)
        if stage.exists and not (stage.locked and not value):
            gates[gate_name] = value
    gates.update(extra_gates)
    kubelet = _deep_merge(kubelet, extra_kubelet)
    return Profile(
        name=name,
        release=release,
        kubernetes_version=kubernetes_version or rel.kubernetes,
        feature_gates=tuple(sorted(gates.items())),
        runtime_config=tuple(sorted(runtime.items())),
        kubelet_json=json.dumps(kubelet, sort_keys=True),
        apiserver_args=tuple(sorted(apiserver.items())),
        controller_manager_args=tuple(sorted(kcm.items())),
        kubelet_args=tuple(sorted(kubelet_args.items())),
        kubelet_env=tuple(sorted(kubelet_env.items())),
        node_files=tuple(sorted(node_files.items())),
        nodes=spec.nodes,
        components=tuple(sorted(components.items())),
        apiserver_mounts=tuple(mounts),
        containerd_patch=rel.containerd,
        component_gates=tuple(sorted((c, g, v) for (c, g), v in (component_gates or {}).items())),
    )


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


def validate_profile(catalog: Catalog, profile: Profile) -> None:
    """Refuse, in one line naming gate, release and fix, what would stop a component starting."""
    release = profile.release
    if release not in catalog.releases:
        catalog.release(release)  # raises the "unknown release" error
    for gate_name, value in profile.feature_gates:
        _validate_gate(catalog, profile, gate_name, value)
    for component, gate_name, value in profile.component_gates:
        if component not in BEHAVIOUR_COMPONENTS:
            raise ProfileError(
                f"profile {profile.name!r} on Kubernetes {release}: gate {gate_name} is set for "
                f"{component!r}, which is not a component (one of "
                f"{', '.join(BEHAVIOUR_COMPONENTS)})"
            )
        _validate_gate(catalog, profile, gate_name, value, component)
    _validate_kubelet(catalog, profile)
    _validate_kubelet_flags(catalog, profile)
    _validate_apiserver_flags(catalog, profile)


def _validate_apiserver_flags(catalog: Catalog, profile: Profile) -> None:
    """A kube-apiserver flag whose gate is off stops the apiserver at start-up (its options'
    Validate): refuse the profile instead."""
    where = f"profile {profile.name!r} on Kubernetes {profile.release}"
    for flag, _value in profile.apiserver_args:
        rule = catalog.apiserver_flags.get(flag)
        needed = rule.gate_for(profile.release) if rule else None
        if needed and not gate_enabled(catalog, profile, needed, API_SERVER):
            raise ProfileError(
                f"{where}: kube-apiserver flag --{flag} needs feature gate {needed}, which is "
                f"off there - the kube-apiserver would refuse to start; enable {needed} or "
                f"drop --{flag}"
            )


def _validate_kubelet_flags(catalog: Catalog, profile: Profile) -> None:
    """A kubelet flag whose precondition is missing makes the kubelet exit at once, and systemd
    restarts it forever: refuse the profile instead."""
    where = f"profile {profile.name!r} on Kubernetes {profile.release}"
    env = dict(profile.kubelet_env)
    for flag, _value in profile.kubelet_args:
        rule = catalog.kubelet_flags.get(flag)
        needed = rule.env_for(profile.release) if rule else None
        if needed and needed not in env:
            raise ProfileError(
                f"{where}: kubelet flag --{flag} needs the environment variable {needed} in this "
                f"release - without it the kubelet exits at start-up and crash-loops; add "
                f"{needed} to the feature's kubelet_env for {profile.release}"
            )


def _validate_gate(
    catalog: Catalog, profile: Profile, gate_name: str, value: bool, component: str | None = None
) -> None:
    """Refuse a gate value a component would refuse: ``component`` names the one it is set
    for, None means every component (kind passes one map to all)."""
    release = profile.release
    where = f"profile {profile.name!r} on Kubernetes {release}"
    if component:
        where += f" ({component})"
    who = f"the {component}" if component else "every component"
    gate = catalog.gates.get(gate_name)
    if gate is None:
        close = _similar(gate_name, catalog.gates)
        hint = f" (did you mean {close}?)" if close else ""
        raise ProfileError(
            f"{where}: unknown feature gate {gate_name}{hint}; {who} would refuse it "
            "('unrecognized feature gate') - remove it or add it to the catalog"
        )
    stage = gate.stage(release)
    if stage is Stage.ABSENT:
        if gate.replaced_by and (gate.removed_in is None or _le(release, gate.removed_in)):
            fix = f"use {gate.replaced_by} instead"
            if gate.removed_in:
                what = f"was removed in {gate.removed_in}"
            else:
                what = "never existed in the code (the KEP and article name it)"
            raise ProfileError(
                f"{where}: feature gate {gate_name} {what}; {who} would refuse it - {fix}"
            )
        if gate.removed_in and _le(gate.removed_in, release):
            state = "always on" if gate.graduated_before(release) else "gone"
            fix = f"remove it (the feature is {state} from {gate.removed_in})"
            if gate.replaced_by:
                fix += f" or use {gate.replaced_by}"
            raise ProfileError(
                f"{where}: feature gate {gate_name} was removed in {gate.removed_in}; "
                f"{who} would refuse it - {fix}"
            )
        raise ProfileError(f"{where}: feature gate {gate_name} does not exist - remove it")
    if stage.locked and value is False:
        raise ProfileError(
            f"{where}: feature gate {gate_name} is GA and locked to true; setting it to false "
            f"stops {who} - remove it or set it to true"
        )


def _validate_kubelet(catalog: Catalog, profile: Profile) -> None:
    release = profile.release
    where = f"profile {profile.name!r} on Kubernetes {release}"
    config = profile.kubelet
    for path, rule in catalog.kubelet_fields.items():
        present, value = _lookup(config, path)
        if not present:
            continue
        if rule.since and release_key(release) < release_key(rule.since):
            raise ProfileError(
                f"{where}: kubelet field {path} exists only from {rule.since}; "
                "remove it for this release"
            )
        needed_gate = rule.gate_for(release)
        if needed_gate and not gate_enabled(catalog, profile, needed_gate, "kubelet"):
            raise ProfileError(
                f"{where}: kubelet field {path} needs feature gate {needed_gate}, which is "
                f"off in the kubelet - the kubelet would crash-loop; enable {needed_gate} or "
                f"drop {path}"
            )
        allowed = rule.allowed_values(release)
        if allowed is not None and value not in allowed:
            shown = ", ".join(repr(v) for v in allowed)
            raise ProfileError(
                f"{where}: kubelet field {path}={value!r} is not accepted (allowed: {shown}) - "
                "the kubelet would refuse to start; pick an allowed value"
            )
        if rule.minimum is not None and isinstance(value, int) and value < rule.minimum:
            raise ProfileError(
                f"{where}: kubelet field {path}={value} must be at least {rule.minimum}"
            )
        if isinstance(value, int) and value > 1:
            for other, needed in rule.above_one_requires.items():
                has, actual = _lookup(config, other)
                if not has or actual != needed:
                    raise ProfileError(
                        f"{where}: kubelet field {path}={value} needs {other}: "
                        f"{json.dumps(needed)} - the kubelet refuses it otherwise; set {other}"
                    )


def _lookup(config: Mapping[str, Any], dotted: str) -> tuple[bool, Any]:
    node: Any = config
    for part in dotted.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return False, None
        node = node[part]
    return True, node


def _le(a: str, b: str) -> bool:
    return release_key(a) <= release_key(b)


def _similar(name: str, known: Iterable[str]) -> str | None:
    import difflib

    matches = difflib.get_close_matches(name, list(known), n=1, cutoff=0.75)
    return matches[0] if matches else None


def parse_gate_list(text: str) -> dict[str, bool]:
    """Read ``A=true,B=false`` as given to --feature-gates (same syntax as the components)."""
    gates: dict[str, bool] = {}
    for item in filter(None, (p.strip() for p in text.split(","))):
        name, sep, raw = item.partition("=")
        if not sep or raw.lower() not in ("true", "false"):
            raise ProfileError(f"cannot read feature gate {item!r}: write Name=true or Name=false")
        gates[name.strip()] = raw.lower() == "true"
    return gates
