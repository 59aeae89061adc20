"""Profiles are refused, in one line, before any container starts."""

from __future__ import annotations

import time

import pytest

from kconformance.catalog import default_catalog
from kconformance.errors import ProfileError
from kconformance.profiles import (
    feature_off_reason,
    parse_gate_list,
    resolve_profile,
    validate_profile,
)


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
    message = refusal(catalog, "1.28", kubelet={"serializeImagePulls": True})
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
