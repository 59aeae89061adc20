"""The feature catalog: which gates exist in which release, and which feature needs what.

The catalog is data (``data/catalog.yaml``); this module only reads and checks it, so that the
rest of the tool can ask questions ("is this gate known in 1.30?", "what does the sidecar
feature need on 1.28?") without a gate name appearing anywhere else in the code.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from kconformance.errors import CatalogError

# libyaml's loader where PyYAML was built with it (same data, ~7x faster): every pytest
# process, each xdist worker too, reads the 45 kB catalog at start-up, ~55 ms in pure Python.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

SIGS = (
    "sig_node",
    "sig_apps",
    "sig_api_machinery",
    "sig_auth",
    "sig_network",
    "sig_storage",
    "sig_cli",
    "sig_instrumentation",
    "sig_scheduling",
    "sig_release",
    "sig_testing",
)


# Where a feature's behaviour can live (catalog `behaviour_in`): the components whose gate switches
# it off while the API server keeps accepting the feature's fields. The kind-made components take
# their gates per component (kindconfig); the cloud-controller-manager is a profile's own
# component (components.fake-ccm), whose static pod gets its gates through {{feature_gates}}.
BEHAVIOUR_COMPONENTS = (
    "kube-apiserver",
    "kube-controller-manager",
    "kube-scheduler",
    "kubelet",
    "kube-proxy",
    "cloud-controller-manager",
)


class Stage(enum.Enum):
    """Maturity of a gate in one release, as kube_features.go declares it."""

    ALPHA = "A"
    BETA_OFF = "B-"
    BETA_ON = "B+"
    GA = "G"
    GA_LOCKED = "GL"
    DEPRECATED_ON = "D+"
    DEPRECATED_OFF = "D-"
    ABSENT = "X"

    @property
    def exists(self) -> bool:
        return self is not Stage.ABSENT

    @property
    def default(self) -> bool:
        return self in (Stage.BETA_ON, Stage.GA, Stage.GA_LOCKED, Stage.DEPRECATED_ON)

    @property
    def locked(self) -> bool:
        return self is Stage.GA_LOCKED

    @property
    def label(self) -> str:
        return {
            Stage.ALPHA: "alpha (default off)",
            Stage.BETA_OFF: "beta (default off)",
            Stage.BETA_ON: "beta (default on)",
            Stage.GA: "GA (default on)",
            Stage.GA_LOCKED: "GA (locked on)",
            Stage.DEPRECATED_ON: "deprecated (default on)",
            Stage.DEPRECATED_OFF: "deprecated (default off)",
            Stage.ABSENT: "not a gate",
        }[self]


def release_key(release: str) -> tuple[int, int]:
    """Order "1.9" before "1.28": releases compare as numbers, not strings."""
    major, minor = release.split(".")[:2]
    return int(major), int(minor)


def from_release(keyed: Mapping[str, Any], release: str) -> Any:
    """The value of a release-keyed map in force for ``release``: each key means "from this
    release on", so {"1.28": a, "1.30": b} gives a for 1.29 and b for 1.36; None before all."""
    applicable = [r for r in keyed if release_key(r) <= release_key(release)]
    if not applicable:
        return None
    return keyed[max(applicable, key=release_key)]


@dataclass(frozen=True)
class Gate:
    name: str
    components: tuple[str, ...]
    stages: Mapping[str, Stage]
    removed_in: str | None = None
    replaced_by: str | None = None

    def stage(self, release: str) -> Stage:
        return self.stages[release]

    def graduated_before(self, release: str) -> bool:
        """True when the gate is gone in ``release`` because its feature became permanent."""
        earlier = [
            r
            for r in self.stages
            if release_key(r) < release_key(release) and self.stages[r] is not Stage.ABSENT
        ]
        return bool(earlier) and self.stages[max(earlier, key=release_key)] in (
            Stage.GA,
            Stage.GA_LOCKED,
        )


@dataclass(frozen=True)
class Unavailability:
    releases: tuple[str, ...] | None  # None: every release
    reason: str
    host: str | None = None  # only on hosts with this fact, e.g. "cgroup_v1"

    def applies_to(self, release: str, host_facts: frozenset[str] = frozenset()) -> bool:
        if self.host is not None and self.host not in host_facts:
            return False
        return self.releases is None or release in self.releases


@dataclass(frozen=True)
class Feature:
    name: str
    kep: int | None
    title: str
    sig: str
    gates: tuple[str, ...]
    profile: str
    runtime_config: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    kubelet: Mapping[str, Any] = field(default_factory=dict)
    # KubeletConfiguration fields merged over `kubelet` from a release on (keys: first release).
    kubelet_from: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    apiserver_args: Mapping[str, str] = field(default_factory=dict)
    controller_manager_args: Mapping[str, str] = field(default_factory=dict)
    kubelet_args: Mapping[str, str] = field(default_factory=dict)
    kubelet_env: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    node_files: Mapping[str, str] = field(default_factory=dict)
    unavailable: tuple[Unavailability, ...] = ()
    upstream: tuple[Mapping[str, str], ...] = ()
    # Per release, why the cross-check against upstream's e2e disagrees with our verdict (or
    # could not compare): printed under the `python -m kconformance crosscheck` table.
    crosscheck: Mapping[str, str] = field(default_factory=dict)
    # Per release, why the lifecycle matrix's cell did not pass (a behaviour change between
    # releases, or what the run could not show): printed under MATRIX.md's table.
    matrix: Mapping[str, str] = field(default_factory=dict)
    # The upstream pull request, for a seed item that has no KEP (a deprecation or removal).
    pr: int | None = None
    # Why no cluster can show this item (a code move, package hosting): the report still lists
    # it, and a test that names it is skipped with this reason.
    not_testable: str | None = None

    @property
    def reference(self) -> str:
        """KEP 1234 or PR #5678: what tracks the item upstream."""
        return f"KEP {self.kep}" if self.kep is not None else f"PR #{self.pr}"

    components: tuple[str, ...] = ()
    # The component(s) whose gate carries the behaviour (BEHAVIOUR_COMPONENTS): a feature-off
    # proof keeps the gate on everywhere else, so the API still accepts the feature, unless the
    # behaviour is in the kube-apiserver itself (then the gate is off everywhere, as it must be).
    behaviour_in: tuple[str, ...] = ()
    # gates the feature needs on only in some releases (keys mean "from this release on")
    also_gates: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    off_profile: str = "baseline"  # where off=True tests run

    def also_gates_for(self, release: str) -> tuple[str, ...]:
        applicable = [r for r in self.also_gates if release_key(r) <= release_key(release)]
        return self.also_gates[max(applicable, key=release_key)] if applicable else ()

    def runtime_config_for(self, release: str) -> Mapping[str, str]:
        """The runtime-config entry in force for ``release`` (keys mean "from this release on")."""
        return from_release(self.runtime_config, release) or {}

    def kubelet_for(self, release: str) -> Mapping[str, Any]:
        """The KubeletConfiguration fields the feature needs in ``release``."""
        extra = from_release(self.kubelet_from, release)
        return {**self.kubelet, **extra} if extra else self.kubelet

    def kubelet_env_for(self, release: str) -> Mapping[str, str]:
        """Environment variables of the kubelet process in ``release`` (keys: from then on)."""
        return from_release(self.kubelet_env, release) or {}

    def unavailable_reason(
        self, release: str, host_facts: frozenset[str] = frozenset()
    ) -> str | None:
        if self.not_testable:
            return f"not testable on a cluster: {self.not_testable}"
        for entry in self.unavailable:
            if entry.applies_to(release, host_facts):
                return entry.reason
        return None


@dataclass(frozen=True)
class Release:
    name: str
    kubernetes: str
    kind: str | None = None
    node_image: str | None = None
    kubeadm_api: str | None = None
    kubelet: Mapping[str, Any] = field(default_factory=dict)
    # a containerd config patch (TOML) for every node of the release (kind containerdConfigPatches)
    containerd: str = ""


@dataclass(frozen=True)
class Component:
    """A process a profile runs next to the control plane, built by its own hack/ script."""

    name: str
    description: str
    build: str  # the hack/ script that builds it, e.g. hack/build-kms-plugin.sh
    files: str  # directory of templates under kconformance/data/
    static_pod: str | None = None  # one of those files, run by the control-plane kubelet
    apiserver_args: Mapping[str, str] = field(default_factory=dict)
    apiserver_mounts: tuple[str, ...] = ()
    # not built: "refuse" the run (a cheap build hack/build.sh makes) or "skip" the tests (a long
    # build of its own that CI does not run)
    when_missing: str = "refuse"


@dataclass(frozen=True)
class ProfileSpec:
    name: str
    description: str
    nodes: int = 1
    gates: Mapping[str, bool] = field(default_factory=dict)  # set whatever the features say
    components: tuple[str, ...] = ()  # run even when no feature of the profile names them
    # its tests disturb the whole cluster (restart a control-plane component, stop a node or a
    # kubelet): its feature-off run gets a cluster of its own too, never the shared baseline
    exclusive: bool = False


@dataclass(frozen=True)
class KubeletField:
    path: str
    since: str | None = None
    # The gate the field needs, per release (keys: from this release on; None: no gate needed).
    requires_gate: Mapping[str, str | None] = field(default_factory=dict)
    values: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    minimum: int | None = None
    above_one_requires: Mapping[str, Any] = field(default_factory=dict)

    def allowed_values(self, release: str) -> tuple[str, ...] | None:
        return from_release(self.values, release)

    def gate_for(self, release: str) -> str | None:
        return from_release(self.requires_gate, release)


@dataclass(frozen=True)
class KubeletFlag:
    """A kubelet command-line flag with a start-up precondition the kubelet checks."""

    name: str
    # Environment variable the kubelet exits without, per release (keys: from then on).
    requires_env: Mapping[str, str | None] = field(default_factory=dict)

    def env_for(self, release: str) -> str | None:
        return from_release(self.requires_env, release)


@dataclass(frozen=True)
class ApiserverFlag:
    """A kube-apiserver flag the apiserver refuses at start-up unless a gate is on."""

    name: str
    # The gate the flag needs, per release (keys: from this release on; None: no gate needed).
    requires_gate: Mapping[str, str | None] = field(default_factory=dict)

    def gate_for(self, release: str) -> str | None:
        return from_release(self.requires_gate, release)


@dataclass(frozen=True)
class Catalog:
    releases: Mapping[str, Release]
    gates: Mapping[str, Gate]
    features: Mapping[str, Feature]
    profiles: Mapping[str, ProfileSpec]
    kubelet_fields: Mapping[str, KubeletField]
    images: Mapping[str, str]
    kubelet_flags: Mapping[str, KubeletFlag] = field(default_factory=dict)
    components: Mapping[str, Component] = field(default_factory=dict)
    apiserver_flags: Mapping[str, ApiserverFlag] = field(default_factory=dict)
    source: str = "<catalog>"

    @property
    def release_names(self) -> list[str]:
        return sorted(self.releases, key=release_key)

    def release(self, name: str) -> Release:
        try:
            return self.releases[name]
        except KeyError:
            known = ", ".join(self.release_names)
            raise CatalogError(
                f"unknown Kubernetes release {name!r}: the catalog covers {known}; "
                "pass one of those to --k8s-version"
            ) from None

    def feature(self, name: str) -> Feature:
        try:
            return self.features[name]
        except KeyError:
            raise CatalogError(
                f"unknown feature {name!r} in a feature() marker: add it to {self.source} "
                "or fix the name"
            ) from None

    def profile(self, name: str) -> ProfileSpec:
        try:
            return self.profiles[name]
        except KeyError:
            known = ", ".join(sorted(self.profiles))
            raise CatalogError(f"unknown profile {name!r}: known profiles are {known}") from None

    def features_in_profile(self, profile: str) -> list[Feature]:
        return [f for f in self.features.values() if f.profile == profile]


def host_facts() -> frozenset[str]:
    """Facts about this machine that decide what its kind clusters can show (their nodes share
    its kernel and cgroup hierarchy)."""
    v2 = Path("/sys/fs/cgroup/cgroup.controllers").exists()
    facts = {"cgroup_v2" if v2 else "cgroup_v1"}
    numa = list(Path("/sys/devices/system/node").glob("node[0-9]*"))
    if len(numa) <= 1:
        facts.add("numa_single")  # /sys/devices/system/node lists one node* directory (or none)
    return frozenset(facts)


def gate_on(catalog: Catalog, gate_name: str, release: str, explicit: Mapping[str, bool]) -> bool:
    """The one rule for whether a gate is on in a cluster of ``release``.

    ``explicit`` holds the values known for that cluster: a profile's settings for a kind
    cluster made from it, or the apiserver's ``kubernetes_feature_enabled`` metric for an
    existing cluster. A gate not in it has its release's default; a gate the release no longer
    has is on when its feature graduated (GA, then removed), off otherwise.
    """
    if gate_name in explicit:
        return bool(explicit[gate_name])
    gate = catalog.gates[gate_name]
    stage = gate.stages.get(release)
    if stage is None:
        return False
    if stage is Stage.ABSENT:
        return gate.graduated_before(release)
    return stage.default


def normalize_release(value: str) -> str:
    """Accept "1.28", "v1.28" and "v1.28.15" alike: releases are identified by minor version."""
    text = value.strip().lstrip("v")
    parts = text.split(".")
    if len(parts) < 2 or not all(p.isdigit() for p in parts[:2]):
        raise CatalogError(
            f"cannot read {value!r} as a Kubernetes release: write it like 1.28 or v1.28.15"
        )
    return f"{int(parts[0])}.{int(parts[1])}"


def _stages(name: str, raw: Mapping[str, str], releases: list[str]) -> dict[str, Stage]:
    stages: dict[str, Stage] = {}
    for release in releases:
        if release not in raw:
            raise CatalogError(f"gate {name}: no stage for release {release}")
        try:
            stages[release] = Stage(str(raw[release]))
        except ValueError:
            raise CatalogError(
                f"gate {name}: stage {raw[release]!r} for {release} is not one of "
                + ", ".join(s.value for s in Stage)
            ) from None
    extra = set(raw) - set(releases)
    if extra:
        raise CatalogError(f"gate {name}: stages for unknown releases {sorted(extra)}")
    return stages


def parse_catalog(data: Mapping[str, Any], source: str = "<catalog>") -> Catalog:
    """Build a Catalog and check it is self-consistent, so mistakes fail at load, not mid-run."""
    try:
        raw_releases = data["releases"]
        raw_gates = data["gates"]
        raw_features = data["features"]
        raw_profiles = data["profiles"]
    except KeyError as missing:
        raise CatalogError(f"{source}: missing top-level key {missing}") from None

    releases = {
        str(name): Release(
            name=str(name),
            kubernetes=str(spec["kubernetes"]),
            kind=spec.get("kind"),
            node_image=spec.get("node_image"),
            kubeadm_api=spec.get("kubeadm_api"),
            kubelet=spec.get("kubelet", {}),
            containerd=str(spec.get("containerd") or ""),
        )
        for name, spec in raw_releases.items()
    }
    order = sorted(releases, key=release_key)

    gates: dict[str, Gate] = {}
    for name, spec in raw_gates.items():
        gate = Gate(
            name=name,
            components=tuple(spec.get("components", ())),
            stages=_stages(name, spec.get("stages", {}), order),
            removed_in=spec.get("removed_in"),
            replaced_by=spec.get("replaced_by"),
        )
        _check_removed_in(gate, order)
        gates[name] = gate

    profiles = {
        name: ProfileSpec(
            name=name,
            description=str(spec.get("description", "")),
            nodes=int(spec.get("nodes", 1)),
            gates={str(k): bool(v) for k, v in (spec.get("gates") or {}).items()},
            components=tuple(spec.get("components") or ()),
            exclusive=bool(spec.get("exclusive", False)),
        )
        for name, spec in raw_profiles.items()
    }

    components = {
        name: Component(
            name=name,
            description=str(spec.get("description", "")),
            build=str(spec["build"]),
            files=str(spec["files"]),
            static_pod=spec.get("static_pod"),
            apiserver_args={k: str(v) for k, v in (spec.get("apiserver_args") or {}).items()},
            apiserver_mounts=tuple(spec.get("apiserver_mounts") or ()),
            when_missing=str(spec.get("when_missing", "refuse")),
        )
        for name, spec in (data.get("components") or {}).items()
    }

    for profile in profiles.values():
        if profile.name.startswith("off-"):
            raise CatalogError(
                f"{source}: profile {profile.name}: names beginning with 'off-' are the "
                "feature-off proof profiles kconformance derives (off-gates, off-<feature>); "
                "rename it, e.g. to <name>-off"
            )
        for component in profile.components:
            if component not in components:
                raise CatalogError(
                    f"{source}: profile {profile.name}: component {component!r} is not defined"
                )
        for gate_name in profile.gates:
            if gate_name not in gates:
                raise CatalogError(
                    f"{source}: profile {profile.name}: gate {gate_name!r} is not defined"
                )

    features: dict[str, Feature] = {}
    for name, spec in raw_features.items():
        where = f"{source}: feature {name}"
        not_testable = spec.get("not_testable")
        required = {"title", "sig"} if not_testable else {"title", "sig", "gates", "profile"}
        missing_keys = required - set(spec)
        if missing_keys:
            raise CatalogError(f"{where}: missing {', '.join(sorted(missing_keys))}")
        if "kep" not in spec and "pr" not in spec:
            raise CatalogError(f"{where}: missing kep (or pr, for an item without a KEP)")
        if not_testable is not None and not str(not_testable).strip():
            raise CatalogError(f"{where}: not_testable needs a reason")
        spec = {"gates": [], "profile": "baseline", **spec}
        if spec["sig"] not in SIGS:
            raise CatalogError(f"{where}: sig {spec['sig']!r} is not one of {', '.join(SIGS)}")
        if spec["profile"] not in profiles:
            raise CatalogError(f"{where}: profile {spec['profile']!r} is not defined")
        also_gates = {
            str(r): tuple(names or ()) for r, names in (spec.get("also_gates") or {}).items()
        }
        off_profile = str(spec.get("off_profile", "baseline"))
        if off_profile not in profiles:
            raise CatalogError(f"{where}: off_profile {off_profile!r} is not defined")
        for gate_name in [*spec["gates"], *(g for names in also_gates.values() for g in names)]:
            if gate_name not in gates:
                raise CatalogError(f"{where}: gate {gate_name!r} is not defined under gates")
        for component in spec.get("components", ()):
            if component not in components:
                raise CatalogError(f"{where}: component {component!r} is not defined")
        behaviour_in = _behaviour_in(where, spec, gates)
        runtime_config = {
            str(r): {str(k): str(v) for k, v in (cfg or {}).items()}
            for r, cfg in (spec.get("runtime_config") or {}).items()
        }
        kubelet_env = {
            str(r): {str(k): str(v) for k, v in (env or {}).items()}
            for r, env in (spec.get("kubelet_env") or {}).items()
        }
        keyed_maps = (
            ("runtime_config", runtime_config),
            ("kubelet_env", kubelet_env),
            ("kubelet_from", spec.get("kubelet_from") or {}),
        )
        for key_name, keyed in keyed_maps:
            for r in keyed:
                if r not in releases:
                    raise CatalogError(f"{where}: {key_name} for unknown release {r}")
        node_files = {str(k): str(v) for k, v in (spec.get("node_files") or {}).items()}
        for path in node_files:
            if not path.startswith("/"):
                raise CatalogError(f"{where}: node_files path {path!r} is not absolute")
        unavailable = tuple(
            Unavailability(
                releases=None
                if entry["releases"] == "all"
                else tuple(str(r) for r in entry["releases"]),
                reason=str(entry["reason"]),
                host=entry.get("host"),
            )
            for entry in spec.get("unavailable", ())
        )
        features[name] = Feature(
            name=name,
            kep=int(spec["kep"]) if spec.get("kep") is not None else None,
            title=str(spec["title"]),
            sig=str(spec["sig"]),
            gates=tuple(spec["gates"]),
            profile=str(spec["profile"]),
            runtime_config=runtime_config,
            kubelet=spec.get("kubelet", {}),
            kubelet_from={
                str(r): dict(v or {}) for r, v in (spec.get("kubelet_from") or {}).items()
            },
            apiserver_args={k: str(v) for k, v in spec.get("apiserver_args", {}).items()},
            controller_manager_args={
                k: str(v) for k, v in spec.get("controller_manager_args", {}).items()
            },
            kubelet_args={k: str(v) for k, v in (spec.get("kubelet_args") or {}).items()},
            kubelet_env=kubelet_env,
            node_files=node_files,
            unavailable=unavailable,
            upstream=tuple(spec.get("upstream", ())),
            crosscheck={str(r): str(t) for r, t in (spec.get("crosscheck") or {}).items()},
            matrix={str(r): str(t) for r, t in (spec.get("matrix") or {}).items()},
            pr=int(spec["pr"]) if spec.get("pr") is not None else None,
            not_testable=str(not_testable) if not_testable is not None else None,
            components=tuple(spec.get("components", ())),
            also_gates=also_gates,
            off_profile=off_profile,
            behaviour_in=behaviour_in,
        )

    kubelet_fields = {
        path: KubeletField(
            path=path,
            since=spec.get("since"),
            requires_gate=_release_keyed(spec.get("requires_gate"), order),
            values={str(r): tuple(v) for r, v in (spec.get("values") or {}).items()},
            minimum=spec.get("minimum"),
            above_one_requires=spec.get("above_one_requires", {}),
        )
        for path, spec in (data.get("kubelet_fields") or {}).items()
    }
    for kf in kubelet_fields.values():
        for gate_name in kf.requires_gate.values():
            if gate_name and gate_name not in gates:
                raise CatalogError(f"{source}: kubelet field {kf.path} names unknown gate")
    apiserver_flags = {
        str(name): ApiserverFlag(
            name=str(name),
            requires_gate=_release_keyed((spec or {}).get("requires_gate"), order),
        )
        for name, spec in (data.get("apiserver_flags") or {}).items()
    }
    for flag in apiserver_flags.values():
        for gate_name in flag.requires_gate.values():
            if gate_name and gate_name not in gates:
                raise CatalogError(
                    f"{source}: apiserver flag {flag.name} names unknown gate {gate_name!r}"
                )
    kubelet_flags = {
        str(name): KubeletFlag(
            name=str(name),
            requires_env=_release_keyed((spec or {}).get("requires_env"), order),
        )
        for name, spec in (data.get("kubelet_flags") or {}).items()
    }

    return Catalog(
        releases=releases,
        gates=gates,
        features=features,
        profiles=profiles,
        kubelet_fields=kubelet_fields,
        images=dict(data.get("images") or {}),
        kubelet_flags=kubelet_flags,
        components=components,
        apiserver_flags=apiserver_flags,
        source=source,
    )


def _behaviour_in(
    where: str, spec: Mapping[str, Any], gates: Mapping[str, Gate]
) -> tuple[str, ...]:
    """The feature's `behaviour_in`, checked: required where a gate switches the feature (a
    feature-off proof must know where to turn it off), from BEHAVIOUR_COMPONENTS, and each
    component one where some gate of the feature acts (the gate's `components`)."""
    allowed = ", ".join(BEHAVIOUR_COMPONENTS)
    raw = spec.get("behaviour_in")
    if raw is None:
        if spec["gates"] and not spec.get("not_testable"):
            raise CatalogError(
                f"{where}: missing behaviour_in - the component(s) whose gate switches the "
                f"behaviour off (one or more of {allowed})"
            )
        return ()
    names = [raw] if isinstance(raw, str) else raw
    if not isinstance(names, list) or not names:
        raise CatalogError(
            f"{where}: behaviour_in must be a non-empty list of components ({allowed})"
        )
    for name in names:
        if name not in BEHAVIOUR_COMPONENTS:
            raise CatalogError(
                f"{where}: behaviour_in {name!r} is not a component: write one or more of {allowed}"
            )
        acting = [g for g in spec["gates"] if name in gates[g].components]
        if spec["gates"] and not acting:
            listed = "; ".join(
                f"{g}: {', '.join(gates[g].components) or 'none'}" for g in spec["gates"]
            )
            raise CatalogError(
                f"{where}: behaviour_in {name} - none of its gates acts there (their "
                f"components: {listed}); name a component the gate is read in, or add it to the "
                "gate's components"
            )
    if len(set(names)) != len(names):
        raise CatalogError(f"{where}: behaviour_in names a component twice: {names}")
    return tuple(str(n) for n in names)


def _release_keyed(raw: Any, order: list[str]) -> dict[str, Any]:
    """A plain value means "in every release"; a mapping is keyed by first release."""
    if raw is None:
        return {}
    if isinstance(raw, Mapping):
        return {str(r): v for r, v in raw.items()}
    return {order[0]: raw}


def _check_removed_in(gate: Gate, order: list[str]) -> None:
    """removed_in must agree with the stage matrix: the first release where the gate is X."""
    first_absent = next((r for r in order if gate.stages[r] is Stage.ABSENT), None)
    if gate.removed_in is None:
        if first_absent is not None and gate.replaced_by is None:
            raise CatalogError(f"gate {gate.name}: stage X in {first_absent} but no removed_in")
        return
    if gate.removed_in in gate.stages and first_absent != gate.removed_in:
        raise CatalogError(
            f"gate {gate.name}: removed_in {gate.removed_in} but the stages first say X in "
            f"{first_absent}"
        )
    after = [r for r in order if release_key(r) >= release_key(gate.removed_in)]
    if any(gate.stages[r].exists for r in after):
        raise CatalogError(
            f"gate {gate.name}: stages name it after its removal in {gate.removed_in}"
        )


def load_catalog(path: Path | None = None) -> Catalog:
    """Read the packaged catalog, or another file (for tests and for users' own features)."""
    if path is None:
        text = resources.files("kconformance").joinpath("data/catalog.yaml").read_text("utf-8")
        source = "kconformance/data/catalog.yaml"
    else:
        text = path.read_text("utf-8")
        source = str(path)
    try:
        data = yaml.load(text, Loader=_LOADER)
    except yaml.YAMLError as exc:
        raise CatalogError(f"{source}: not valid YAML: {exc}") from None
    return parse_catalog(data, source)


@cache
def default_catalog() -> Catalog:
    return load_catalog()
