"""Refusing a profile, in one line naming gate, release and fix, that a component would refuse
at start-up: an unknown, removed or locked gate, a kubelet field or flag, or a kube-apiserver
flag whose gate or precondition is missing. A bad profile then costs a second, not a failed
cluster creation.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from kconformance.catalog import BEHAVIOUR_COMPONENTS, Catalog, Stage, release_key
from kconformance.errors import ProfileError
from kconformance.profiles import API_SERVER, Profile, gate_enabled


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
