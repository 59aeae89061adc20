"""Profiles are refused, in one line, before any container starts."""

from __future__ import annotations

import time
from dataclasses import replace

import pytest

from kconformance.catalog import default_catalog
from kconformance.errors import ProfileError
from kconformance.offprofiles import resolve_off_profile
from kconformance.profilechecks import validate_profile
from kconformance.profiles import feature_off_reason, parse_gate_list, resolve_profile


@pytest.fixture(scope="module")
def catalog():
    return default_catalog()


def refusal(catalog, release, profile="gates", gates=None, kubelet=None) -> str:
    profile = resolve_profile(catalog, profile, release, gates or {}, kubelet)
    with pytest.raises(ProfileError) as err:
        validate_profile(catalog, profile)
    message = str(err.value)
    assert "\n" not in message
    return message


def test_gates_profile_sends_only_default_off_gates(catalog):
    gates = resolve_profile(catalog, "gates", "1.28").gates
    assert gates["SidecarContainers"] is True
    assert gates["ValidatingAdmissionPolicy"] is True
    assert "PodIndexLabel" not in gates  # beta, on by default: no flag needed
    assert "APISelfSubjectReview" not in gates


def test_gates_profile_on_136_sends_no_removed_gate(catalog):
    profile = resolve_profile(catalog, "gates", "1.36")
    validate_profile(catalog, profile)
    for name in profile.gates:
        assert catalog.gates[name].stage("1.36").exists


def test_unavailable_features_contribute_no_gate(catalog):
    assert "UserNamespacesSupport" not in resolve_profile(catalog, "gates", "1.28").gates


def test_every_catalog_profile_is_valid_on_every_release(catalog):
    for release in catalog.release_names:
        for name in catalog.profiles:
            validate_profile(catalog, resolve_profile(catalog, name, release))


def test_removed_gate_is_refused_with_release_and_fix(catalog):
    message = refusal(catalog, "1.28", gates={"UserNamespacesStatelessPodsSupport": True})
    assert "UserNamespacesStatelessPodsSupport was removed in 1.28" in message
    assert "use UserNamespacesSupport instead" in message


def test_gate_removed_after_ga_is_refused(catalog):
    message = refusal(catalog, "1.36", gates={"CronJobsScheduledAnnotation": True})
    assert "removed in 1.35" in message and "Kubernetes 1.36" in message
    assert "remove it" in message


def test_article_gate_name_is_refused_with_the_real_one(catalog):
    message = refusal(catalog, "1.28", gates={"CronJobCreationAnnotation": True})
    assert "use CronJobsScheduledAnnotation instead" in message


def test_unknown_gate_suggests_a_close_name(catalog):
    message = refusal(catalog, "1.28", gates={"SidecarContainer": True})
    assert "unknown feature gate SidecarContainer" in message
    assert "did you mean SidecarContainers?" in message


def test_locked_gate_set_false_is_refused(catalog):
    message = refusal(catalog, "1.28", gates={"APISelfSubjectReview": False})
    assert "locked to true" in message and "APISelfSubjectReview" in message


def test_swap_behavior_without_gate_is_refused_on_128(catalog):
    message = refusal(
        catalog, "1.28", profile="baseline", kubelet={"memorySwap": {"swapBehavior": "LimitedSwap"}}
    )
    assert "needs feature gate NodeSwap" in message


def test_unlimited_swap_is_refused_from_130(catalog):
    message = refusal(
        catalog, "1.30", profile="swap", kubelet={"memorySwap": {"swapBehavior": "UnlimitedSwap"}}
    )
    assert "'UnlimitedSwap' is not accepted" in message


def test_unlimited_swap_is_accepted_on_128_with_gate(catalog):
    profile = resolve_profile(
        catalog, "swap", "1.28", extra_kubelet={"memorySwap": {"swapBehavior": "UnlimitedSwap"}}
    )
    validate_profile(catalog, profile)


def test_parallel_pulls_with_serialized_pulls_is_refused(catalog):
    message = refusal(
        catalog, "1.28", profile="parallel-pulls", kubelet={"serializeImagePulls": True}
    )
    assert "maxParallelImagePulls=2 needs serializeImagePulls: false" in message


def test_fail_cgroup_v1_is_refused_before_131(catalog):
    message = refusal(catalog, "1.28", profile="baseline", kubelet={"failCgroupV1": False})
    assert "exists only from 1.31" in message


def test_refusal_takes_well_under_five_seconds(catalog):
    started = time.monotonic()
    refusal(catalog, "1.28", gates={"UserNamespacesStatelessPodsSupport": True})
    assert time.monotonic() - started < 5


def test_hash_changes_with_content_not_with_order(catalog):
    a = resolve_profile(catalog, "gates", "1.28", {"A": True, "B": False})
    b = resolve_profile(catalog, "gates", "1.28", {"B": False, "A": True})
    c = resolve_profile(catalog, "gates", "1.28")
    assert a.hash == b.hash != c.hash


def test_feature_off_reason_names_the_gate(catalog):
    baseline = resolve_profile(catalog, "baseline", "1.28")
    reason = feature_off_reason(catalog, baseline, catalog.features["SidecarContainers"])
    assert reason and "SidecarContainers is alpha (default off)" in reason


def test_parse_gate_list():
    assert parse_gate_list("A=true, B=False") == {"A": True, "B": False}
    with pytest.raises(ProfileError, match="write Name=true"):
        parse_gate_list("A")


def test_config_dir_without_its_environment_variable_is_refused_on_128(catalog):
    """1.28's kubelet exits at start-up ("flag ... specified but environment variable
    KUBELET_CONFIG_DROPIN_DIR_ALPHA not set, cannot start kubelet"): refused before kind runs."""
    from dataclasses import replace

    profile = replace(resolve_profile(catalog, "kubelet-dropin", "1.28"), kubelet_env=())
    with pytest.raises(ProfileError) as err:
        validate_profile(catalog, profile)
    assert "--config-dir needs the environment variable KUBELET_CONFIG_DROPIN_DIR_ALPHA" in str(
        err.value
    )


def test_config_dir_needs_no_environment_variable_from_130(catalog):
    from dataclasses import replace

    for release in ("1.30", "1.36"):
        profile = resolve_profile(catalog, "kubelet-dropin", release)
        assert profile.kubelet_env == ()
        validate_profile(catalog, replace(profile, kubelet_env=()))


def test_dropin_profile_carries_flag_env_and_files(catalog):
    profile = resolve_profile(catalog, "kubelet-dropin", "1.28")
    assert dict(profile.kubelet_args) == {"config-dir": "/etc/kubernetes/kubelet.conf.d"}
    assert dict(profile.kubelet_env) == {"KUBELET_CONFIG_DROPIN_DIR_ALPHA": "on"}
    assert sorted(dict(profile.node_files)) == [
        "/etc/kubernetes/kubelet.conf.d/10-kconformance-max-pods.conf",
        "/etc/kubernetes/kubelet.conf.d/20-kconformance-max-pods.conf",
        "/etc/kubernetes/kubelet.conf.d/30-kconformance-ignored.yaml",
    ]
    assert not resolve_profile(catalog, "baseline", "1.28").node_files


def test_topology_option_without_beta_options_gate_is_refused_on_128(catalog):
    message = refusal(
        catalog,
        "1.28",
        profile="topology-options",
        gates={"TopologyManagerPolicyBetaOptions": False},
    )
    assert (
        "kubelet field topologyManagerPolicyOptions.prefer-closest-numa-nodes needs feature gate "
        "TopologyManagerPolicyBetaOptions" in message
    )


def test_topology_options_without_options_gate_are_refused_on_128(catalog):
    message = refusal(
        catalog, "1.28", profile="topology-options", gates={"TopologyManagerPolicyOptions": False}
    )
    assert "topologyManagerPolicyOptions needs feature gate TopologyManagerPolicyOptions" in message


def test_topology_option_is_stable_on_136(catalog):
    """prefer-closest-numa-nodes is a stable option in 1.36: the beta-options gate is not needed."""
    profile = resolve_profile(
        catalog, "topology-options", "1.36", {"TopologyManagerPolicyBetaOptions": False}
    )
    validate_profile(catalog, profile)


def test_contradicting_cgroup_driver_only_where_the_runtime_overrules_it(catalog):
    """A kubelet config contradicting containerd's runc starts no pod unless the runtime answers
    RuntimeConfig: 1.28 (containerd 1.6) keeps kind's systemd on both sides; from 1.32
    (containerd 2.x) runc runs cgroupfs under kind's systemd kubelet config."""
    old = resolve_profile(catalog, "cgroup-driver-cri", "1.28")
    assert "cgroupDriver" not in old.kubelet and not old.containerd_patch
    assert old.gates == {"KubeletCgroupDriverFromCRI": True}
    for release in ("1.32", "1.36"):
        new = resolve_profile(catalog, "cgroup-driver-cri", release)
        assert "cgroupDriver" not in new.kubelet
        assert "SystemdCgroup = false" in new.containerd_patch
    assert resolve_profile(catalog, "cgroup-driver-cri", "1.36").gates == {}  # GA, locked


# -- per-component gate values (feature-off proofs) ------------------------------------------


def _with(profile, *component_gates):
    return replace(profile, component_gates=tuple(sorted(component_gates)))


def test_gates_for_a_component_overlays_its_own_values(catalog):
    profile = _with(
        resolve_profile(catalog, "gates", "1.28"), ("kubelet", "SidecarContainers", False)
    )
    assert profile.gates["SidecarContainers"] is True  # every other component
    assert profile.gates_for("kube-apiserver")["SidecarContainers"] is True
    assert profile.gates_for("kubelet")["SidecarContainers"] is False
    assert profile.gates_for("kube-proxy") == profile.gates


def test_component_gates_are_part_of_the_hash_only_when_set(catalog):
    """A profile without per-component values keeps the hash it had (kept clusters, the
    checked-in kind configs); one with them never shares a cluster with one without."""
    gates = resolve_profile(catalog, "gates", "1.28")
    assert _with(gates).hash == gates.hash
    kubelet_off = _with(gates, ("kubelet", "SidecarContainers", False))
    proxy_off = _with(gates, ("kube-proxy", "SidecarContainers", False))
    assert len({gates.hash, kubelet_off.hash, proxy_off.hash}) == 3


def test_locked_gate_set_false_in_one_component_is_refused_naming_it(catalog):
    profile = _with(
        resolve_profile(catalog, "baseline", "1.28"), ("kubelet", "APISelfSubjectReview", False)
    )
    with pytest.raises(ProfileError) as err:
        validate_profile(catalog, profile)
    assert "(kubelet)" in str(err.value) and "locked to true" in str(err.value)
    assert "stops the kubelet" in str(err.value)


def test_removed_gate_in_one_component_is_refused_naming_it(catalog):
    profile = _with(
        resolve_profile(catalog, "baseline", "1.36"),
        ("kube-proxy", "CronJobsScheduledAnnotation", False),
    )
    with pytest.raises(ProfileError, match=r"\(kube-proxy\).*removed in 1.35.*the kube-proxy"):
        validate_profile(catalog, profile)


def test_gate_for_an_unknown_component_is_refused(catalog):
    profile = _with(resolve_profile(catalog, "baseline", "1.28"), ("kubelett", "NodeSwap", True))
    with pytest.raises(ProfileError, match="'kubelett', which is not a component"):
        validate_profile(catalog, profile)


def test_kubelet_field_is_judged_by_the_kubelets_own_gate(catalog):
    """swapBehavior needs NodeSwap in the kubelet: off there is refused, off only in the
    apiserver is not the kubelet's concern."""
    swap = resolve_profile(catalog, "swap", "1.28")
    with pytest.raises(
        ProfileError, match="needs feature gate NodeSwap, which is off in the kubelet"
    ):
        validate_profile(catalog, _with(swap, ("kubelet", "NodeSwap", False)))
    validate_profile(catalog, _with(swap, ("kube-apiserver", "NodeSwap", False)))


def test_apiserver_flag_without_its_gate_is_refused(catalog):
    """kube-apiserver refuses --peer-ca-file without UnknownVersionInteroperabilityProxy."""
    mixed = resolve_profile(catalog, "mixed-version", "1.28")
    validate_profile(catalog, mixed)
    off = _with(mixed, ("kube-apiserver", "UnknownVersionInteroperabilityProxy", False))
    with pytest.raises(ProfileError, match="flag --peer-ca-file needs feature gate Unknown"):
        validate_profile(catalog, off)
    validate_profile(
        catalog, _with(mixed, ("kubelet", "UnknownVersionInteroperabilityProxy", False))
    )


def test_feature_off_reason_names_the_component_where_the_behaviour_is_off(catalog):
    profile = _with(
        resolve_profile(catalog, "gates", "1.28"), ("kubelet", "SidecarContainers", False)
    )
    reason = feature_off_reason(catalog, profile, catalog.features["SidecarContainers"])
    assert reason and "gate SidecarContainers is off in the kubelet" in reason
    # off in a component its behaviour does not live in: still on
    other = _with(
        resolve_profile(catalog, "gates", "1.28"), ("kube-proxy", "SidecarContainers", False)
    )
    assert feature_off_reason(catalog, other, catalog.features["SidecarContainers"]) is None


def test_off_profile_of_a_kubelet_feature_is_valid_and_per_component(catalog):
    sidecar = catalog.features["SidecarContainers"]
    profile = resolve_off_profile(catalog, sidecar, "1.28")
    validate_profile(catalog, profile)
    assert profile.component_gates and profile.gates_for("kubelet")["SidecarContainers"] is False
