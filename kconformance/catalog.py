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

SIGS = (
    "sig_node",
    "sig_apps",
    "sig_api_machinery",
    "sig_auth",
    "sig_network",
    "sig_storage",
    "sig_cli",
)


class Stage(enum.Enum):
    """Maturity of a gate in one release, as kube_features.go declares it."""

    ALPHA = "A"
    BETA_OFF = "B-"
    BETA_ON = "B+"
    GA = "G"
    GA_LOCKED = "GL"
    ABSENT = "X"

    @property
    def exists(self) -> bool:
        return self is not Stage.ABSENT

    @property
    def default(self) -> bool:
        return self in (Stage.BETA_ON, Stage.GA, Stage.GA_LOCKED)

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
            Stage.ABSENT: "not a gate",
        }[self]


def release_key(release: str) -> tuple[int, int]:
    """Order "1.9" before "1.28": releases compare as numbers, not strings."""
    major, minor = release.split(".")[:2]
    return int(major), int(minor)


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
    kep: int
    title: str
    sig: str
    gates: tuple[str, ...]
    profile: str
    runtime_config: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    kubelet: Mapping[str, Any] = field(default_factory=dict)
    apiserver_args: Mapping[str, str] = field(default_factory=dict)
    controller_manager_args: Mapping[str, str] = field(default_factory=dict)
    unavailable: tuple[Unavailability, ...] = ()
    upstream: tuple[Mapping[str, str], ...] = ()
    components: tuple[str, ...] = ()
    # gates the feature needs on only in some releases (keys mean "from this release on")
    also_gates: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    off_profile: str = "baseline"  # where off=True tests run

    def also_gates_for(self, release: str) -> tuple[str, ...]:
        applicable = [r for r in self.also_gates if release_key(r) <= release_key(release)]
        return self.also_gates[max(applicable, key=release_key)] if applicable else ()

    def runtime_config_for(self, release: str) -> Mapping[str, str]:
        """The runtime-config entry in force for ``release`` (keys mean "from this release on")."""
        applicable = [r for r in self.runtime_config if release_key(r) <= release_key(release)]
        if not applicable:
            return {}
        return self.runtime_config[max(applicable, key=release_key)]

    def unavailable_reason(
        self, release: str, host_facts: frozenset[str] = frozenset()
    ) -> str | None:
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


@dataclass(frozen=True)
class KubeletField:
    path: str
    since: str | None = None
    requires_gate: str | None = None
    values: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    minimum: int | None = None
    above_one_requires: Mapping[str, Any] = field(default_factory=dict)

    def allowed_values(self, release: str) -> tuple[str, ...] | None:
        applicable = [r for r in self.values if release_key(r) <= release_key(release)]
        if not applicable:
            return None
        return self.values[max(applicable, key=release_key)]


@dataclass(frozen=True)
class Catalog:
    releases: Mapping[str, Release]
    gates: Mapping[str, Gate]
    features: Mapping[str, Feature]
    profiles: Mapping[str, ProfileSpec]
    kubelet_fields: Mapping[str, KubeletField]
    images: Mapping[str, str]
    components: Mapping[str, Component] = field(default_factory=dict)
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
    return frozenset({"cgroup_v2" if v2 else "cgroup_v1"})


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
        missing_keys = {"kep", "title", "sig", "gates", "profile"} - set(spec)
        if missing_keys:
            raise CatalogError(f"{where}: missing {', '.join(sorted(missing_keys))}")
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
        runtime_config = {
            str(r): {str(k): str(v) for k, v in (cfg or {}).items()}
            for r, cfg in (spec.get("runtime_config") or {}).items()
        }
        for r in runtime_config:
            if r not in releases:
                raise CatalogError(f"{where}: runtime_config for unknown release {r}")
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
            kep=int(spec["kep"]),
            title=str(spec["title"]),
            sig=str(spec["sig"]),
            gates=tuple(spec["gates"]),
            profile=str(spec["profile"]),
            runtime_config=runtime_config,
            kubelet=spec.get("kubelet", {}),
            apiserver_args={k: str(v) for k, v in spec.get("apiserver_args", {}).items()},
            controller_manager_args={
                k: str(v) for k, v in spec.get("controller_manager_args", {}).items()
            },
            unavailable=unavailable,
            upstream=tuple(spec.get("upstream", ())),
            components=tuple(spec.get("components", ())),
            also_gates=also_gates,
            off_profile=off_profile,
        )

    kubelet_fields = {
        path: KubeletField(
            path=path,
            since=spec.get("since"),
            requires_gate=spec.get("requires_gate"),
            values={str(r): tuple(v) for r, v in (spec.get("values") or {}).items()},
            minimum=spec.get("minimum"),
            above_one_requires=spec.get("above_one_requires", {}),
        )
        for path, spec in (data.get("kubelet_fields") or {}).items()
    }
    for kf in kubelet_fields.values():
        if kf.requires_gate and kf.requires_gate not in gates:
            raise CatalogError(f"{source}: kubelet field {kf.path} names unknown gate")

    return Catalog(
        releases=releases,
        gates=gates,
        features=features,
        profiles=profiles,
        kubelet_fields=kubelet_fields,
        images=dict(data.get("images") or {}),
        components=components,
        source=source,
    )


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
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise CatalogError(f"{source}: not valid YAML: {exc}") from None
    return parse_catalog(data, source)


@cache
def default_catalog() -> Catalog:
    return load_catalog()
