"""The catalog is data; these tests hold it to the facts the suites depend on."""

from __future__ import annotations

import pytest

from kconformance.catalog import (
    BEHAVIOUR_COMPONENTS,
    SIGS,
    Catalog,
    Stage,
    default_catalog,
    normalize_release,
)
from kconformance.errors import CatalogError


@pytest.fixture(scope="module")
def catalog():
    return default_catalog()


def test_every_gate_has_a_stage_for_every_release(catalog):
    for gate in catalog.gates.values():
        assert set(gate.stages) == set(catalog.releases), gate.name


def test_every_feature_names_known_gates_sig_and_profile(catalog):
    for feature in catalog.features.values():
        assert feature.sig in SIGS
        assert feature.profile in catalog.profiles
        for gate in feature.gates:
            assert gate in catalog.gates


def test_removed_in_matches_first_absent_release(catalog):
    for gate in catalog.gates.values():
        if gate.removed_in and gate.removed_in in gate.stages:
            order = catalog.release_names
            first_absent = next(r for r in order if gate.stages[r] is Stage.ABSENT)
            assert first_absent == gate.removed_in, gate.name


@pytest.mark.parametrize(
    ("gate", "release", "stage"),
    [
        ("SidecarContainers", "1.28", Stage.ALPHA),
        ("SidecarContainers", "1.29", Stage.BETA_ON),
        ("ValidatingAdmissionPolicy", "1.28", Stage.BETA_OFF),
        ("ValidatingAdmissionPolicy", "1.32", Stage.ABSENT),
        ("CronJobsScheduledAnnotation", "1.35", Stage.ABSENT),
        ("WatchList", "1.33", Stage.BETA_OFF),
        ("UserNamespacesStatelessPodsSupport", "1.28", Stage.ABSENT),
        ("APISelfSubjectReview", "1.28", Stage.GA_LOCKED),
    ],
)
def test_stage_facts_from_kube_features(catalog, gate, release, stage):
    assert catalog.gates[gate].stage(release) is stage


def test_gone_after_ga_counts_as_on(catalog):
    assert catalog.gates["RetroactiveDefaultStorageClass"].graduated_before("1.29")
    assert not catalog.gates["UserNamespacesStatelessPodsSupport"].graduated_before("1.28")


def test_vap_runtime_config_only_before_v1(catalog):
    vap = catalog.features["ValidatingAdmissionPolicy"]
    assert vap.runtime_config_for("1.28")["admissionregistration.k8s.io/v1beta1"] == "true"
    assert vap.runtime_config_for("1.29")["admissionregistration.k8s.io/v1beta1"] == "true"
    assert vap.runtime_config_for("1.36") == {}


@pytest.mark.parametrize(
    ("text", "release"), [("1.28", "1.28"), ("v1.28.15", "1.28"), ("1.36", "1.36")]
)
def test_normalize_release(text, release):
    assert normalize_release(text) == release


def test_normalize_release_refuses_garbage():
    with pytest.raises(CatalogError, match="write it like 1.28"):
        normalize_release("latest")


def test_unknown_release_names_the_known_ones(catalog):
    with pytest.raises(
        CatalogError, match=r"unknown Kubernetes release '1.99'.*1.28.*--k8s-version"
    ):
        catalog.release("1.99")


def _minimal(**override):
    data = {
        "releases": {"1.28": {"kubernetes": "v1.28.15"}},
        "profiles": {"baseline": {}},
        "gates": {"G": {"components": ["kubelet"], "stages": {"1.28": "A"}}},
        "features": {
            "F": {
                "kep": 1,
                "title": "t",
                "sig": "sig_apps",
                "gates": ["G"],
                "behaviour_in": ["kubelet"],
                "profile": "baseline",
            }
        },
    }
    data.update(override)
    return data


def test_parse_rejects_feature_with_unknown_gate():
    data = _minimal(
        features={
            "F": {
                "kep": 1,
                "title": "t",
                "sig": "sig_apps",
                "gates": ["Nope"],
                "profile": "baseline",
            }
        }
    )
    with pytest.raises(CatalogError, match="gate 'Nope' is not defined"):
        Catalog.from_data(data)


def test_parse_rejects_bad_stage_code():
    with pytest.raises(CatalogError, match=r"gates\.G\.stages\.1\.28: 'Q' is not one of 'A', 'B-'"):
        Catalog.from_data(_minimal(gates={"G": {"stages": {"1.28": "Q"}}}))


def test_parse_rejects_unknown_sig():
    data = _minimal(
        features={"F": {"kep": 1, "title": "t", "sig": "sig_x", "gates": [], "profile": "baseline"}}
    )
    with pytest.raises(CatalogError, match=r"features\.F\.sig: 'sig_x' is not one of 'sig_node'"):
        Catalog.from_data(data)


def test_not_testable_item_needs_no_gates_or_profile_and_skips_with_its_reason():
    data = _minimal(
        features={
            "Moved": {
                "kep": 3685,
                "title": "code move",
                "sig": "sig_network",
                "not_testable": "a Go code move",
            }
        }
    )
    feature = Catalog.from_data(data).features["Moved"]
    assert feature.not_testable == "a Go code move"
    assert (feature.gates, feature.profile) == ((), "baseline")
    assert feature.unavailable_reason("1.28") == "not testable on a cluster: a Go code move"


def test_not_testable_needs_a_reason():
    data = _minimal(
        features={"F": {"kep": 1, "title": "t", "sig": "sig_apps", "not_testable": " "}}
    )
    with pytest.raises(CatalogError, match="not_testable: needs a reason"):
        Catalog.from_data(data)


def test_item_without_kep_names_its_pull_request():
    data = _minimal(
        features={
            "F": {"pr": 116720, "title": "t", "sig": "sig_cli", "gates": [], "profile": "baseline"}
        }
    )
    feature = Catalog.from_data(data).features["F"]
    assert (feature.kep, feature.pr, feature.reference) == (None, 116720, "PR #116720")


def test_item_needs_a_kep_or_a_pull_request():
    data = _minimal(
        features={"F": {"title": "t", "sig": "sig_cli", "gates": [], "profile": "baseline"}}
    )
    with pytest.raises(CatalogError, match="missing kep"):
        Catalog.from_data(data)


def test_deprecated_stages_carry_their_default():
    kmsv1 = default_catalog().gates["KMSv1"]
    assert kmsv1.stage("1.28") is Stage.DEPRECATED_ON and kmsv1.stage("1.28").default
    assert kmsv1.stage("1.36") is Stage.DEPRECATED_OFF and not kmsv1.stage("1.36").default


def test_code_move_and_package_hosting_are_not_testable(catalog):
    for kep in (3685, 1731):
        (feature,) = [f for f in catalog.features.values() if f.kep == kep]
        assert feature.not_testable, feature.name


def _feature(**fields):
    return _minimal(
        features={
            "F": {
                "kep": 1,
                "title": "t",
                "sig": "sig_apps",
                "gates": ["G"],
                "profile": "baseline",
                **fields,
            }
        }
    )


def test_behaviour_in_is_parsed():
    assert Catalog.from_data(_minimal()).features["F"].behaviour_in == ("kubelet",)


def test_gated_feature_must_say_where_its_behaviour_lives():
    with pytest.raises(CatalogError) as err:
        Catalog.from_data(_feature(), source="my.yaml")
    message = str(err.value)
    assert message.startswith("my.yaml: features.F: missing behaviour_in")
    assert ", ".join(BEHAVIOUR_COMPONENTS) in message


def test_behaviour_in_names_a_component():
    with pytest.raises(CatalogError) as err:
        Catalog.from_data(_feature(behaviour_in=["kublet"]), source="my.yaml")
    message = str(err.value)
    assert message.startswith("my.yaml: features.F.behaviour_in.0: 'kublet' is not one of")
    assert "'kube-apiserver', 'kube-controller-manager', 'kube-scheduler', 'kubelet'" in message


def test_behaviour_in_must_be_where_a_gate_acts():
    with pytest.raises(CatalogError, match=r"behaviour_in\.0: kube-proxy - none of its gates acts"):
        Catalog.from_data(_feature(behaviour_in=["kube-proxy"]))


def test_behaviour_in_is_a_non_empty_list_without_repeats():
    with pytest.raises(CatalogError, match="non-empty list"):
        Catalog.from_data(_feature(behaviour_in=[]))
    with pytest.raises(CatalogError, match="names a component twice"):
        Catalog.from_data(_feature(behaviour_in=["kubelet", "kubelet"]))


def test_a_feature_without_gate_needs_no_behaviour_in():
    feature = Catalog.from_data(_feature(gates=[])).features["F"]
    assert feature.behaviour_in == ()


def test_every_gated_feature_says_where_its_behaviour_lives(catalog):
    for feature in catalog.features.values():
        if feature.gates and not feature.not_testable:
            assert feature.behaviour_in, feature.name


@pytest.mark.parametrize(
    ("feature", "components"),
    [
        ("SidecarContainers", ("kubelet",)),
        ("PodReadyToStartContainers", ("kubelet",)),
        ("JobBackoffLimitPerIndex", ("kube-controller-manager",)),
        ("JobPodFailurePolicy", ("kube-controller-manager",)),
        ("JobPodReplacementPolicy", ("kube-controller-manager",)),
        ("KubeProxyDrainingTerminatingNodes", ("kube-proxy",)),
        ("StableLoadBalancerNodeSet", ("cloud-controller-manager",)),
        ("CRDValidationRatcheting", ("kube-apiserver",)),
        ("CustomResourceValidationExpressions", ("kube-apiserver",)),
        ("ValidatingAdmissionPolicy", ("kube-apiserver",)),
        ("KMSv2", ("kube-apiserver",)),
    ],
)
def test_where_behaviours_live(catalog, feature, components):
    assert catalog.features[feature].behaviour_in == components


def test_apiserver_flags_name_the_gate_they_need(catalog):
    assert catalog.apiserver_flags["peer-ca-file"].gate_for("1.36") == (
        "UnknownVersionInteroperabilityProxy"
    )
    with pytest.raises(
        CatalogError, match="apiserver_flags.x.requires_gate: gate 'Nope' is not defined"
    ):
        Catalog.from_data(_minimal(apiserver_flags={"x": {"requires_gate": "Nope"}}))


def test_proof_profile_names_are_reserved():
    data = _minimal(profiles={"baseline": {}, "off-gates": {}})
    with pytest.raises(CatalogError, match="profiles.off-gates: names beginning with 'off-'"):
        Catalog.from_data(data)


def test_a_misspelt_key_is_refused_with_the_keys_allowed_there():
    with pytest.raises(CatalogError) as err:
        Catalog.from_data(_feature(behavior_in=["kubelet"]), source="my.yaml")
    assert str(err.value).startswith(
        "my.yaml: features.F: unknown key 'behavior_in'; allowed: kep, title, sig, pr, gates, "
        "behaviour_in,"
    )


def test_an_unquoted_release_is_refused_with_how_to_write_it():
    data = _minimal(gates={"G": {"components": ["kubelet"], "stages": {1.3: "A"}}})
    with pytest.raises(
        CatalogError, match=r"key 1.3 of gates.G.stages: YAML reads 1.3 as a number"
    ):
        Catalog.from_data(data)


def test_a_plain_requirement_holds_in_every_release(catalog):
    flag = catalog.apiserver_flags["peer-ca-file"]
    assert {flag.gate_for(r) for r in catalog.release_names} == {
        "UnknownVersionInteroperabilityProxy"
    }
