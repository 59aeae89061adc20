"""The feature catalog: which gates exist in which release, and which feature needs what.

The catalog is data (``data/catalog.yaml``); this module reads it into typed models (the entries
are in catalogentries.py) and checks that its parts agree, so that the rest of the tool can ask
questions ("is this gate known in 1.30?", "what does the sidecar feature need on 1.28?") without a
gate name appearing anywhere else in the code. A catalog that does not load is refused in one line
naming the file and the path in the document. The same models give the catalog's JSON Schema
(catalogschema.py), which an editor uses to complete and check a catalog while it is written.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import (
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)

from kconformance.catalogentries import (
    BEHAVIOUR_COMPONENTS,
    SIGS,
    ApiserverFlag,
    Component,
    Entry,
    Feature,
    Gate,
    KubeletField,
    KubeletFlag,
    ProfileSpec,
    Release,
    ReleaseName,
    Unavailability,
    UpstreamTest,
)
from kconformance.catalogerrors import one_line, refused
from kconformance.errors import CatalogError
from kconformance.releases import Stage, from_release, normalize_release, release_key

__all__ = [
    "BEHAVIOUR_COMPONENTS",
    "SIGS",
    "ApiserverFlag",
    "Catalog",
    "Component",
    "Feature",
    "Gate",
    "KubeletField",
    "KubeletFlag",
    "ProfileSpec",
    "Release",
    "Stage",
    "Unavailability",
    "UpstreamTest",
    "default_catalog",
    "from_release",
    "gate_on",
    "host_facts",
    "load_catalog",
    "normalize_release",
    "release_key",
]

# libyaml's loader where PyYAML was built with it (same data, ~7x faster): every pytest
# process, each xdist worker too, reads the 45 kB catalog at start-up, ~55 ms in pure Python.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

# A problem the cross-reference checks find: the path in the document, and what is wrong there.
Problem = tuple[tuple[str | int, ...], str]


def _named(entries: Any, key: str = "name") -> Any:
    """Each entry learns its name from its key in the document, where it is not repeated."""
    if not isinstance(entries, Mapping):
        return entries
    return {
        name: {**(entry or {}), key: str(name)}
        if isinstance(entry, Mapping) or entry is None
        else entry
        for name, entry in entries.items()
    }


class Catalog(Entry):
    """The kconformance feature catalog: the one place that names feature gates. Everything
    else (kind configs, skips, profile validation, reports) is derived from it."""

    model_config = ConfigDict(title="kconformance feature catalog")

    schema_version: Literal[1] = Field(1, alias="schema")
    """The version of the catalog's format."""
    releases: Mapping[ReleaseName, Release] = Field(min_length=1)
    images: Mapping[str, str] = {}
    """Images the suites use, by role (manifests say {{image.busybox}}); --image-map replaces
    them."""
    kubelet_fields: Mapping[str, KubeletField] = {}
    kubelet_flags: Mapping[str, KubeletFlag] = {}
    apiserver_flags: Mapping[str, ApiserverFlag] = {}
    profiles: Mapping[str, ProfileSpec]
    components: Mapping[str, Component] = {}
    gates: Mapping[str, Gate]
    features: Mapping[str, Feature]
    _source: str = PrivateAttr("<catalog>")

    @field_validator(
        "releases",
        "kubelet_flags",
        "apiserver_flags",
        "profiles",
        "components",
        "gates",
        "features",
        mode="before",
    )
    @classmethod
    def _entries_named(cls, entries: Any) -> Any:
        return _named(entries)

    @field_validator("kubelet_fields", mode="before")
    @classmethod
    def _fields_named(cls, entries: Any) -> Any:
        return _named(entries, "path")

    @model_validator(mode="after")
    def _references_resolve(self) -> Catalog:
        """What an entry names in another section exists there, and each gate's stages agree
        with the releases; checked once every entry is valid alone. The first problem found
        is the one reported."""
        checks = (_stage_problems, _profile_problems, _feature_problems, _flag_problems)
        for check in checks:
            for path, message in check(self):
                raise refused(path, message)
        return self

    @classmethod
    def from_data(cls, data: Any, source: str = "<catalog>") -> Catalog:
        """The catalog a YAML document holds, or a CatalogError naming ``source`` and the path
        in the document of the first problem."""
        try:
            catalog = cls.model_validate(data)
        except ValidationError as error:
            raise CatalogError(f"{source}: {one_line(error, cls)}") from None
        catalog._source = source
        return catalog

    @property
    def source(self) -> str:
        """The file the catalog came from, for messages."""
        return self._source

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


def _undefined(kind: str, name: str, section: str) -> str:
    return f"{kind} {name!r} is not defined under {section}"


def _stage_problems(catalog: Catalog) -> Iterator[Problem]:
    """Every gate has one stage per release of the catalog, and its removal agrees with them."""
    order = catalog.release_names
    for gate in catalog.gates.values():
        where = ("gates", gate.name, "stages")
        for release in gate.stages:
            if release not in catalog.releases:
                yield (*where, release), f"not a release of the catalog ({', '.join(order)})"
        for release in order:
            if release not in gate.stages:
                yield where, f"no stage for release {release}"
        yield from _removal_problems(gate, order)


def _removal_problems(gate: Gate, order: list[str]) -> Iterator[Problem]:
    """removed_in must agree with the stages: the first release where the gate is X."""
    first_absent = next((r for r in order if gate.stages[r] is Stage.ABSENT), None)
    where = ("gates", gate.name, "removed_in")
    if gate.removed_in is None:
        if first_absent is not None and gate.replaced_by is None:
            yield where[:-1], f"stage X in {first_absent} but no removed_in (or replaced_by)"
        return
    if gate.removed_in in gate.stages and first_absent != gate.removed_in:
        yield where, f"{gate.removed_in}, but the stages first say X in {first_absent}"
    after = [r for r in order if release_key(r) >= release_key(gate.removed_in)]
    if any(gate.stages[r].exists for r in after):
        yield where, f"the stages name the gate after its removal in {gate.removed_in}"


_RESERVED = (
    "names beginning with 'off-' are the feature-off proof profiles kconformance derives "
    "(off-gates, off-<feature>); rename it, e.g. to <name>-off"
)


def _profile_problems(catalog: Catalog) -> Iterator[Problem]:
    for profile in catalog.profiles.values():
        where = ("profiles", profile.name)
        if profile.name.startswith("off-"):
            yield where, _RESERVED
        yield from _component_problems(catalog, where, profile.components)
        for gate_name in profile.gates:
            if gate_name not in catalog.gates:
                yield (*where, "gates", gate_name), _undefined("gate", gate_name, "gates")


def _feature_problems(catalog: Catalog) -> Iterator[Problem]:
    known_releases = ", ".join(catalog.release_names)
    for feature in catalog.features.values():
        where = ("features", feature.name)
        for key in ("profile", "off_profile"):
            if (profile := getattr(feature, key)) not in catalog.profiles:
                yield (*where, key), _undefined("profile", profile, "profiles")
        gates: list[tuple[tuple[str | int, ...], str]] = [
            (("gates", index), name) for index, name in enumerate(feature.gates)
        ]
        gates += [
            (("also_gates", release, index), name)
            for release, names in feature.also_gates.items()
            for index, name in enumerate(names)
        ]
        for path, gate_name in gates:
            if gate_name not in catalog.gates:
                yield (*where, *path), _undefined("gate", gate_name, "gates")
        yield from _component_problems(catalog, where, feature.components)
        yield from _behaviour_problems(catalog, feature)
        for key in ("runtime_config", "kubelet_env", "kubelet_from"):
            for release in getattr(feature, key):
                if release not in catalog.releases:
                    yield (*where, key, release), f"not a release of the catalog ({known_releases})"


def _component_problems(
    catalog: Catalog, where: tuple[str, ...], components: tuple[str, ...]
) -> Iterator[Problem]:
    for index, name in enumerate(components):
        if name not in catalog.components:
            yield (*where, "components", index), _undefined("component", name, "components")


def _behaviour_problems(catalog: Catalog, feature: Feature) -> Iterator[Problem]:
    """behaviour_in is required where a gate switches the feature (a feature-off proof must know
    where to turn it off), and each component is one where some gate of the feature acts (the
    gate's `components`)."""
    where = ("features", feature.name)
    if not feature.behaviour_in:
        if feature.gates and not feature.not_testable:
            message = (
                "missing behaviour_in - the component(s) whose gate switches the behaviour off "
                f"(one or more of {', '.join(BEHAVIOUR_COMPONENTS)})"
            )
            yield where, message
        return
    gates = [catalog.gates[name] for name in feature.gates]
    listed = "; ".join(f"{g.name}: {', '.join(g.components) or 'none'}" for g in gates)
    for index, name in enumerate(feature.behaviour_in):
        if gates and not any(name in gate.components for gate in gates):
            message = (
                f"{name} - none of its gates acts there (their components: {listed}); name a "
                "component the gate is read in, or add it to the gate's components"
            )
            yield (*where, "behaviour_in", index), message


def _flag_problems(catalog: Catalog) -> Iterator[Problem]:
    """The gates kubelet fields and kube-apiserver flags need are gates of the catalog."""
    rules = [("kubelet_fields", p, f.requires_gate) for p, f in catalog.kubelet_fields.items()]
    rules += [("apiserver_flags", n, f.requires_gate) for n, f in catalog.apiserver_flags.items()]
    for section, name, by_release in rules:
        for gate_name in by_release.values():
            if gate_name and gate_name not in catalog.gates:
                yield (section, name, "requires_gate"), _undefined("gate", gate_name, "gates")


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
    return Catalog.from_data(data, source)


@cache
def default_catalog() -> Catalog:
    return load_catalog()
