from __future__ import annotations

import pytest

from kconformance.catalog import default_catalog
from kconformance.errors import CatalogError
from kconformance.planning import plan_test
from kconformance.profiles import feature_off_reason


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


def test_proof_of_a_kubelet_feature_keeps_its_api_on(catalog):
    """SidecarContainers lives in the kubelet: the apiserver keeps the gate on (it accepts
    restartPolicy: Always on an init container) and only the kubelet has it off."""
    plan = plan_test(catalog, "1.28", "SidecarContainers", prove=True)
    assert plan.proof and plan.skip is None
    profile = plan.profile
    assert profile.gates_for("kube-apiserver")["SidecarContainers"] is True
    assert profile.gates_for("kubelet")["SidecarContainers"] is False
    assert ("kubelet", "SidecarContainers", False) in profile.component_gates
    assert all(c != "kube-apiserver" for c, _, _ in profile.component_gates)


def test_default_off_features_of_the_gates_profile_share_one_proof_cluster(catalog):
    """The cluster that was the shared baseline for their proofs, with their APIs on: each
    feature's gate is off only where its behaviour lives."""
    plans = {
        name: plan_test(catalog, "1.28", name, prove=True)
        for name in ("SidecarContainers", "JobBackoffLimitPerIndex", "PodReadyToStartContainers")
    }
    assert {p.profile.name for p in plans.values()} == {"off-gates"}
    assert len({p.profile.hash for p in plans.values()}) == 1
    profile = plans["JobBackoffLimitPerIndex"].profile
    assert profile.gates_for("kube-controller-manager")["JobBackoffLimitPerIndex"] is False
    assert profile.gates_for("kubelet")["JobBackoffLimitPerIndex"] is True
    assert profile.gates_for("kubelet")["PodReadyToStartContainersCondition"] is False
    for plan in plans.values():
        assert "is off in profile 'off-gates'" in feature_off_reason(
            catalog, plan.profile, plan.feature
        )


def test_proof_of_a_beta_on_feature_turns_its_gates_off_only_in_its_components(catalog):
    plan = plan_test(catalog, "1.28", "JobPodFailurePolicy", prove=True)
    assert plan.profile.name == "off-jobpodfailu-ebf1"
    assert plan.profile.gates == {"JobPodFailurePolicy": True, "PodDisruptionConditions": True}
    assert plan.profile.component_gates == (
        ("kube-controller-manager", "JobPodFailurePolicy", False),
        ("kube-controller-manager", "PodDisruptionConditions", False),
    )


def test_proof_keeps_what_the_test_needs_on(catalog):
    plan = plan_test(
        catalog, "1.28", "JobBackoffLimitPerIndex", prove=True, needs=["SidecarContainers"]
    )
    assert plan.profile.name == "off-jobbackoffl-f21b"
    assert plan.profile.gates_for("kubelet")["SidecarContainers"] is True
    assert plan.profile.gates_for("kube-controller-manager") == {
        "JobBackoffLimitPerIndex": False,
        "SidecarContainers": True,
    }


def test_proof_of_an_apiserver_feature_turns_it_off_there(catalog):
    """CRD ratcheting lives in the apiserver: its proof is the release as shipped (the gate
    alpha, so off), with no per-component values; a default-on one is set false for all."""
    plan = plan_test(catalog, "1.28", "CRDValidationRatcheting", prove=True)
    assert plan.skip is None
    assert plan.profile.name == "baseline" and plan.profile.gates == {}
    assert plan.profile.component_gates == ()
    cel = plan_test(catalog, "1.28", "CustomResourceValidationExpressions", prove=True).profile
    assert cel.gates == {"CustomResourceValidationExpressions": False}
    assert cel.component_gates == ()


def test_proof_keeps_a_gated_features_settings(catalog):
    """The gate is what is switched off: the node-port range and the kubelet settings stay,
    except a kubelet field the kubelet refuses without the gate (swapBehavior)."""
    plan = plan_test(catalog, "1.28", "ServiceNodePortStaticSubrange", prove=True)
    assert plan.profile.gates == {"ServiceNodePortStaticSubrange": False}
    assert dict(plan.profile.apiserver_args) == {"service-node-port-range": "30000-30099"}
    swap = plan_test(catalog, "1.28", "NodeSwap", prove=True)
    assert swap.skip is None and swap.profile.name == "off-nodeswap"
    assert swap.profile.kubelet == {"failSwapOn": False}
    assert swap.profile.gates_for("kubelet")["NodeSwap"] is False


def test_proof_drops_a_flag_the_apiserver_refuses_with_the_gate_off(catalog):
    """--peer-ca-file needs UnknownVersionInteroperabilityProxy (apiserver_flags): with the
    proxy off in the apiserver the flag would stop it, so the proof profile goes without."""
    plan = plan_test(catalog, "1.36", "UnknownVersionInteroperabilityProxy", prove=True)
    assert plan.skip is None
    assert plan.profile.gates == {"UnknownVersionInteroperabilityProxy": False}
    assert "peer-ca-file" not in dict(plan.profile.apiserver_args)


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
    """StableLoadBalancerNodeSet lives in the cloud-controller-manager (the profile's fake-ccm):
    only that has the gate off. KMS v2 lives in the apiserver, which refuses a v2 encryption
    configuration with the gate off: the plugin goes too."""
    lb = plan_test(catalog, "1.28", "StableLoadBalancerNodeSet", prove=True).profile
    assert dict(lb.components) == {"fake-ccm": "fake-ccm.yaml"}
    assert lb.gates == {"StableLoadBalancerNodeSet": True}
    assert lb.gates_for("cloud-controller-manager") == {"StableLoadBalancerNodeSet": False}
    kms = plan_test(catalog, "1.28", "KMSv2", prove=True).profile
    assert kms.components == () and "encryption-provider-config" not in dict(kms.apiserver_args)


def test_proof_drops_the_profiles_features_that_share_the_gate(catalog):
    """topology-options' placement feature uses the same gate: it goes off with the options,
    and the feature's own option (refused with its gate off in the kubelet) is not in the off
    profile; the policy itself stays."""
    plan = plan_test(catalog, "1.28", "TopologyManagerPolicyOptions", prove=True)
    assert plan.skip is None
    assert plan.profile.kubelet == {"topologyManagerPolicy": "best-effort"}
    assert plan.profile.gates_for("kubelet")["TopologyManagerPolicyOptions"] is False


def test_topology_options_cannot_be_off_where_their_gate_is_locked(catalog):
    """From 1.32 the option is stable: the beta-options gate no longer matters, and
    TopologyManagerPolicyOptions is locked on in 1.36."""
    plan = plan_test(catalog, "1.36", "TopologyManagerPolicyOptions", prove=True)
    assert plan.skip and "cannot be off in Kubernetes 1.36" in plan.skip


def test_proof_of_a_drop_in_feature_runs_without_its_files(catalog):
    """No gate: its settings are its switch, so the proof goes without them."""
    plan = plan_test(catalog, "1.28", "KubeletDropInConfigDir", prove=True)
    assert plan.skip is None and plan.profile.name == "baseline"


def test_proof_of_a_feature_on_an_exclusive_profile_never_shares_the_baseline(catalog):
    """The token clean-up test restarts kube-controller-manager: its feature-off run must not
    do that on the baseline cluster every other feature-off test shares. It keeps the one-second
    period: only the cleaner's gate is off."""
    plan = plan_test(catalog, "1.28", "LegacyServiceAccountTokenCleanUp", prove=True)
    assert plan.profile.name == "off-legacyservi-2f40"
    assert dict(plan.profile.controller_manager_args) == {
        "legacy-service-account-token-clean-up-period": "1s"
    }
    assert plan.profile.gates_for("kube-controller-manager") == {
        "LegacyServiceAccountTokenCleanUp": False
    }
    assert plan.profile.gates_for("kube-apiserver") == {"LegacyServiceAccountTokenCleanUp": True}


@pytest.mark.parametrize("release", ["1.28", "1.29", "1.30", "1.31", "1.32", "1.36"])
def test_every_proof_profile_is_valid(catalog, release):
    """No proof is skipped because its own profile would stop a component."""
    for name, feature in catalog.features.items():
        if feature.not_testable:
            continue
        skip = plan_test(catalog, release, name, prove=True).skip or ""
        assert "no cluster can run" not in skip, skip


def test_same_beginning_never_names_two_profiles_alike(catalog):
    names = {
        plan_test(catalog, "1.28", f, prove=True).profile.name
        for f in ("TopologyManagerPolicyOptions", "TopologyManagerPreferClosestNUMAPlacement")
    }
    assert len(names) == 2
