from __future__ import annotations

import pytest

from kconformance.catalog import default_catalog
from kconformance.errors import CatalogError
from kconformance.planning import plan_test


@pytest.fixture(scope="module")
def catalog():
    return default_catalog()


def test_feature_runs_on_its_profile(catalog):
    plan = plan_test(catalog, "1.28", "SidecarContainers")
    assert plan.profile.name == "gates" and plan.skip is None


def test_unavailable_feature_skips_with_catalog_reason(catalog):
    plan = plan_test(catalog, "1.28", "UserNamespacesSupport")
    assert plan.skip.startswith("UserNamespacesSupport (KEP 127) on 1.28: needs containerd >= 2.0")
    assert plan_test(catalog, "1.36", "UserNamespacesSupport").skip is None


def test_off_test_runs_on_baseline_where_the_gate_is_off(catalog):
    plan = plan_test(catalog, "1.28", "CRDValidationRatcheting", off=True)
    assert plan.profile.name == "baseline" and plan.skip is None


def test_off_test_skips_where_the_gate_is_locked(catalog):
    plan = plan_test(catalog, "1.36", "CRDValidationRatcheting", off=True)
    assert "cannot be off in Kubernetes 1.36" in plan.skip


def test_forced_profile_runs_even_when_feature_is_off(catalog):
    plan = plan_test(catalog, "1.28", "JobBackoffLimitPerIndex", forced_profile="baseline")
    assert plan.profile.name == "baseline" and plan.skip is None and plan.forced


def test_unknown_feature(catalog):
    with pytest.raises(CatalogError, match="unknown feature 'Nope'"):
        plan_test(catalog, "1.28", "Nope")


def test_host_condition_skips_only_on_that_host(catalog):
    v1 = frozenset({"cgroup_v1"})
    assert "cgroup v1" in plan_test(catalog, "1.36", "NodeSwap", host=v1).skip
    assert plan_test(catalog, "1.36", "NodeSwap", host=frozenset({"cgroup_v2"})).skip is None
    assert plan_test(catalog, "1.28", "NodeSwap", host=v1).skip is None


def test_proof_of_an_alpha_feature_runs_on_baseline(catalog):
    plan = plan_test(catalog, "1.28", "JobBackoffLimitPerIndex", prove=True)
    assert plan.proof and plan.skip is None
    assert plan.profile.name == "baseline" and plan.profile.gates == {}


def test_proof_of_a_beta_on_feature_sets_only_its_gates_false(catalog):
    plan = plan_test(catalog, "1.28", "JobPodFailurePolicy", prove=True)
    assert plan.profile.name == "off-jobpodfailurepol"
    assert plan.profile.gates == {"JobPodFailurePolicy": False, "PodDisruptionConditions": False}


def test_proof_keeps_what_the_test_needs_on(catalog):
    plan = plan_test(
        catalog, "1.28", "JobBackoffLimitPerIndex", prove=True, needs=["SidecarContainers"]
    )
    assert plan.profile.gates == {"SidecarContainers": True}


def test_proof_of_a_feature_on_its_own_profile_drops_its_settings(catalog):
    plan = plan_test(catalog, "1.28", "ServiceNodePortStaticSubrange", prove=True)
    assert plan.profile.gates == {"ServiceNodePortStaticSubrange": False}
    swap = plan_test(catalog, "1.28", "NodeSwap", prove=True).profile
    assert swap.name == "baseline" and "memorySwap" not in swap.kubelet


def test_proof_skips_where_the_feature_cannot_be_off(catalog):
    plan = plan_test(catalog, "1.36", "SidecarContainers", prove=True)
    assert plan.skip and "cannot be off in Kubernetes 1.36" in plan.skip
    kubectl = plan_test(catalog, "1.28", "KubectlEvents", prove=True)
    assert kubectl.skip and "no feature gate and no component setting" in kubectl.skip


@pytest.mark.parametrize("release", ["1.28", "1.36"])
def test_mixed_version_proxy_off_runs_on_its_own_off_profile(catalog, release):
    on = plan_test(catalog, release, "UnknownVersionInteroperabilityProxy")
    off = plan_test(catalog, release, "UnknownVersionInteroperabilityProxy", off=True)
    assert (on.profile.name, on.profile.nodes, on.skip) == ("mixed-version", 2, None)
    assert (off.profile.name, off.profile.nodes, off.skip) == ("mixed-version-off", 2, None)
    assert off.profile.gates["UnknownVersionInteroperabilityProxy"] is False
    assert dict(on.profile.apiserver_args)["peer-ca-file"] == "/etc/kubernetes/pki/ca.crt"


def test_storage_version_api_only_where_the_proxy_still_needs_it(catalog):
    old = plan_test(catalog, "1.28", "UnknownVersionInteroperabilityProxy").profile
    new = plan_test(catalog, "1.36", "UnknownVersionInteroperabilityProxy").profile
    assert old.gates == {"StorageVersionAPI": True, "UnknownVersionInteroperabilityProxy": True}
    assert dict(old.runtime_config) == {"internal.apiserver.k8s.io/v1alpha1": "true"}
    assert new.gates == {} and new.runtime_config == ()


def test_stable_lb_node_set_cannot_be_off_once_the_gate_is_gone(catalog):
    assert plan_test(catalog, "1.28", "StableLoadBalancerNodeSet", off=True).skip is None
    assert "cannot be off" in plan_test(catalog, "1.36", "StableLoadBalancerNodeSet", off=True).skip


def test_a_proof_keeps_the_profile_components_and_drops_the_feature_ones(catalog):
    lb = plan_test(catalog, "1.28", "StableLoadBalancerNodeSet", prove=True).profile
    assert dict(lb.components) == {"fake-ccm": "fake-ccm.yaml"}
    assert lb.gates == {"StableLoadBalancerNodeSet": False}
    kms = plan_test(catalog, "1.28", "KMSv2", prove=True).profile
    assert kms.components == () and "encryption-provider-config" not in dict(kms.apiserver_args)


def test_proof_drops_the_profiles_features_that_share_the_gate(catalog):
    """topology-options' placement feature uses the same gates: it goes off with the options,
    so its kubelet settings (refused with the gates off) are not in the off profile."""
    plan = plan_test(catalog, "1.28", "TopologyManagerPolicyOptions", prove=True)
    assert plan.skip is None
    assert "topologyManagerPolicyOptions" not in plan.profile.kubelet


def test_proof_of_a_drop_in_feature_runs_without_its_files(catalog):
    plan = plan_test(catalog, "1.28", "KubeletDropInConfigDir", prove=True)
    assert plan.skip is None and plan.profile.name == "baseline"


def test_proof_of_a_feature_on_an_exclusive_profile_never_shares_the_baseline(catalog):
    """The token clean-up test restarts kube-controller-manager: its feature-off run must not
    do that on the baseline cluster every other feature-off test shares."""
    plan = plan_test(catalog, "1.28", "LegacyServiceAccountTokenCleanUp", prove=True)
    assert plan.profile.name == "off-legacyserviceacc"
    assert not plan.profile.gates and not plan.profile.controller_manager_args
