"""The entries of the feature catalog as typed models: a release, a gate, a feature, a profile...

Each model checks what it can see alone (types, allowed values, a feature's KEP or PR); what one
entry says about another (a feature's gates exist, a profile's components are defined) is checked
by the Catalog (catalog.py), which sees them all. The docstrings of the models and their fields
are what a catalog author reads: they become the JSON Schema's descriptions, shown by an editor.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Literal, get_args

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator, model_validator
from pydantic.json_schema import SkipJsonSchema

from kconformance.releases import (
    NameByRelease,
    ReleaseName,
    Stage,
    from_release,
    release_key,
)

Sig = Literal[
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
]
SIGS: tuple[str, ...] = get_args(Sig)

# Where a feature's behaviour can live (catalog `behaviour_in`): the components whose gate switches
# it off while the API server keeps accepting the feature's fields. The kind-made components take
# their gates per component (kindconfig); the cloud-controller-manager is a profile's own
# component (components.fake-ccm), whose static pod gets its gates through {{feature_gates}}.
KubeComponent = Literal[
    "kube-apiserver",
    "kube-controller-manager",
    "kube-scheduler",
    "kubelet",
    "kube-proxy",
    "cloud-controller-manager",
]
BEHAVIOUR_COMPONENTS: tuple[str, ...] = get_args(KubeComponent)

# Facts about the machine that decide what its kind clusters can show (catalog.host_facts).
HostFact = Literal["cgroup_v1", "cgroup_v2", "numa_single"]


class Entry(BaseModel):
    """What every part of the catalog shares: read-only once loaded, and no key it does not
    know (a misspelt key is refused instead of silently ignored)."""

    model_config = ConfigDict(frozen=True, extra="forbid", use_attribute_docstrings=True)


class Release(Entry):
    """A Kubernetes release the catalog covers. `node_image` and `kind` say how to run it; a
    release without them can still be validated, and run with --node-image."""

    name: SkipJsonSchema[str]
    kubernetes: str
    """The patch release, e.g. v1.28.15."""
    kind: str | None = None
    """The kind release that made `node_image`, e.g. v0.25.0."""
    node_image: str | None = None
    kubeadm_api: str | None = None
    kubelet: Mapping[str, Any] = {}
    """KubeletConfiguration fields every node of the release gets."""
    containerd: str = ""
    """A containerd config patch (TOML) for every node (kind containerdConfigPatches)."""


class Gate(Entry):
    """A feature gate: which components read it, and its stage in every release."""

    name: SkipJsonSchema[str]
    components: tuple[KubeComponent, ...] = ()
    """The components that read the gate."""
    stages: Mapping[ReleaseName, Stage]
    """One stage per release of the catalog: A, B-, B+, G, GL, D+, D- or X (not a gate)."""
    removed_in: ReleaseName | None = None
    """The first release without the gate (its first X)."""
    replaced_by: str | None = None
    """The gate that took over (for a gate never in any release covered)."""

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


def _all_is_none(value: Any) -> Any:
    if value == "all":
        return None
    if value is None or isinstance(value, str):
        raise ValueError(f"write all, or a list of releases (got {value!r})")
    return value


class Unavailability(Entry):
    """Where no test can show the feature, with the reason its tests are skipped."""

    releases: Annotated[
        tuple[ReleaseName, ...] | None,
        BeforeValidator(_all_is_none, json_schema_input_type=Literal["all"] | list[ReleaseName]),
    ]
    """The releases, or all."""
    reason: str
    host: HostFact | None = None
    """Only on hosts with this fact."""

    def applies_to(self, release: str, host_facts: frozenset[str] = frozenset()) -> bool:
        if self.host is not None and self.host not in host_facts:
            return False
        return self.releases is None or release in self.releases


class UpstreamTest(Entry):
    """An upstream e2e test of the feature, for `python -m kconformance crosscheck`."""

    suite: Literal["e2e", "e2e_node"]
    """e2e runs on our cluster; e2e_node is listed as node e2e only."""
    focus: str
    """The ginkgo focus that selects the test."""


def _one_or_more(value: Any) -> Any:
    return [value] if isinstance(value, str) else value


_FEATURE_SCHEMA_RULES: dict[str, Any] = {
    "allOf": [
        {"anyOf": [{"required": ["kep"]}, {"required": ["pr"]}]},
        {"anyOf": [{"required": ["not_testable"]}, {"required": ["gates", "profile"]}]},
        {
            "if": {
                "required": ["gates"],
                "properties": {"gates": {"minItems": 1}},
                "not": {"required": ["not_testable"]},
            },
            "then": {"required": ["behaviour_in"]},
        },
    ]
}


class Feature(Entry):
    """A feature (or a deprecation or removal) and what its tests need from a cluster. Settings
    keyed by release apply from that release on."""

    model_config = ConfigDict(json_schema_extra=_FEATURE_SCHEMA_RULES)

    name: SkipJsonSchema[str]
    kep: int | None = None
    title: str
    sig: Sig
    pr: int | None = None
    """The upstream pull request, for an item without a KEP (a deprecation or removal)."""
    gates: tuple[str, ...] = ()
    """The gates that must be on."""
    behaviour_in: Annotated[
        tuple[KubeComponent, ...],
        BeforeValidator(_one_or_more, json_schema_input_type=KubeComponent | list[KubeComponent]),
    ] = ()
    """The component(s) whose gate carries the behaviour (required with gates): a feature-off
    proof keeps the gate on everywhere else, so the API still accepts the feature, unless the
    behaviour is in the kube-apiserver itself (then the gate is off everywhere)."""
    profile: str = "baseline"
    """The profile the feature's tests run on."""
    off_profile: str = "baseline"
    """Where its feature-off (off=True) tests run."""
    also_gates: Mapping[ReleaseName, tuple[str, ...]] = {}
    """Gates the feature needs on only from some release on."""
    components: tuple[str, ...] = ()
    """Components (catalog components) the profile runs for this feature."""
    runtime_config: Mapping[ReleaseName, Mapping[str, str]] = {}
    """kube-apiserver --runtime-config entries, by first release."""
    kubelet: Mapping[str, Any] = {}
    """KubeletConfiguration fields."""
    kubelet_from: Mapping[ReleaseName, Mapping[str, Any]] = {}
    """KubeletConfiguration fields merged over `kubelet` from a release on."""
    apiserver_args: Mapping[str, str] = {}
    controller_manager_args: Mapping[str, str] = {}
    kubelet_args: Mapping[str, str] = {}
    kubelet_env: Mapping[ReleaseName, Mapping[str, str]] = {}
    """Environment variables of the kubelet process, by first release."""
    node_files: Mapping[str, str] = {}
    """Files written into every node: absolute path to content."""
    unavailable: tuple[Unavailability, ...] = ()
    upstream: tuple[UpstreamTest, ...] = ()
    crosscheck: Mapping[ReleaseName, str] = {}
    """Per release, why the cross-check against upstream's e2e disagrees with our verdict (or
    could not compare): printed under the `python -m kconformance crosscheck` table."""
    matrix: Mapping[ReleaseName, str] = {}
    """Per release, why the lifecycle matrix's cell did not pass (a behaviour change between
    releases, or what the run could not show): printed under MATRIX.md's table."""
    not_testable: str | None = None
    """Why no cluster can show this item (a code move, package hosting): the report still lists
    it, and a test that names it is skipped with this reason."""

    @field_validator("behaviour_in")
    @classmethod
    def _components_once(cls, names: tuple[str, ...]) -> tuple[str, ...]:
        if not names:
            allowed = ", ".join(BEHAVIOUR_COMPONENTS)
            raise ValueError(f"must be a non-empty list of components ({allowed})")
        if len(set(names)) != len(names):
            raise ValueError(f"names a component twice: {list(names)}")
        return names

    @field_validator("node_files")
    @classmethod
    def _absolute_paths(cls, files: Mapping[str, str]) -> Mapping[str, str]:
        for path in files:
            if not path.startswith("/"):
                raise ValueError(f"path {path!r} is not absolute")
        return files

    @field_validator("not_testable")
    @classmethod
    def _with_a_reason(cls, reason: str | None) -> str | None:
        if reason is not None and not reason.strip():
            raise ValueError("needs a reason: why no cluster can show the item")
        return reason

    @model_validator(mode="after")
    def _tracked_and_placed(self) -> Feature:
        """Every item names what tracks it upstream; a testable one says what its tests need."""
        if self.kep is None and self.pr is None:
            raise ValueError("missing kep (or pr, for an item without a KEP)")
        missing = {"gates", "profile"} - self.model_fields_set
        if self.not_testable is None and missing:
            raise ValueError(
                f"missing {', '.join(sorted(missing))} (or not_testable: why no cluster can "
                "show the item)"
            )
        return self

    @property
    def reference(self) -> str:
        """KEP 1234 or PR #5678: what tracks the item upstream."""
        return f"KEP {self.kep}" if self.kep is not None else f"PR #{self.pr}"

    def also_gates_for(self, release: str) -> tuple[str, ...]:
        return from_release(self.also_gates, release) or ()

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


class Component(Entry):
    """A process a profile runs next to the control plane, built by its own hack/ script."""

    name: SkipJsonSchema[str]
    description: str = ""
    build: str
    """The hack/ script that builds it, e.g. hack/build-kms-plugin.sh."""
    files: str
    """Directory of templates under kconformance/data/."""
    static_pod: str | None = None
    """One of those files, run by the control-plane kubelet."""
    apiserver_args: Mapping[str, str] = {}
    apiserver_mounts: tuple[str, ...] = ()
    """Host paths of the node, mounted at the same path into the kube-apiserver pod."""
    when_missing: Literal["refuse", "skip"] = "refuse"
    """Not built: refuse the run (a cheap build hack/build.sh makes) or skip the tests (a long
    build of its own that CI does not run)."""


class ProfileSpec(Entry):
    """A cluster profile: its gates, runtime-config and patches come from the features assigned
    to it; these are the profile's own settings."""

    name: SkipJsonSchema[str]
    description: str = ""
    nodes: int = Field(1, ge=1)
    gates: Mapping[str, bool] = {}
    """Gates set whatever the features say."""
    components: tuple[str, ...] = ()
    """Components run even when no feature of the profile names them."""
    exclusive: bool = False
    """Its tests disturb the whole cluster (restart a control-plane component, stop a node or a
    kubelet): its feature-off run gets a cluster of its own too, never the shared baseline."""


class KubeletField(Entry):
    """A KubeletConfiguration field the kubelet validates at start-up: a profile that breaks its
    rule would leave a crash-looping kubelet, so it is refused before any container."""

    path: SkipJsonSchema[str]
    since: ReleaseName | None = None
    """The first release whose kubelet knows the field."""
    requires_gate: NameByRelease = {}
    """The gate the field needs, per release (null: no gate needed)."""
    values: Mapping[ReleaseName, tuple[str, ...]] = {}
    """The allowed values from the named release on."""
    minimum: int | None = None
    above_one_requires: Mapping[str, Any] = {}
    """Other fields a value above one needs."""

    def allowed_values(self, release: str) -> tuple[str, ...] | None:
        return from_release(self.values, release)

    def gate_for(self, release: str) -> str | None:
        return from_release(self.requires_gate, release)


class KubeletFlag(Entry):
    """A kubelet command-line flag with a start-up precondition the kubelet checks."""

    name: SkipJsonSchema[str]
    requires_env: NameByRelease = {}
    """The environment variable the kubelet exits without, per release (null: none)."""

    def env_for(self, release: str) -> str | None:
        return from_release(self.requires_env, release)


class ApiserverFlag(Entry):
    """A kube-apiserver flag the apiserver refuses at start-up unless a gate is on."""

    name: SkipJsonSchema[str]
    requires_gate: NameByRelease = {}
    """The gate the flag needs, per release (null: no gate needed)."""

    def gate_for(self, release: str) -> str | None:
        return from_release(self.requires_gate, release)
