"""Decide, per test and release, which profile it runs on or why it is skipped.

Pure functions of the catalog and the options, so the decisions are unit-tested without a
cluster and every skip reason comes from the catalog, never from a hard-coded string in a suite.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from kconformance.catalog import Catalog, Feature
from kconformance.errors import ProfileError
from kconformance.offprofiles import (
    feature_can_be_off,
    proof_impossible_reason,
    resolve_off_profile,
)
from kconformance.profilechecks import validate_profile
from kconformance.profiles import Profile, feature_off_reason, resolve_profile


@dataclass(frozen=True)
class TestPlan:
    release: str
    feature: Feature | None
    profile: Profile
    skip: str | None = None
    expects_off: bool = False
    forced: bool = False
    proof: bool = False  # run with the feature off, expected to fail (see kconformance.proof)


def plan_test(
    catalog: Catalog,
    release: str,
    feature_name: str | None,
    *,
    off: bool = False,
    explicit_profile: str | None = None,
    forced_profile: str | None = None,
    extra_gates: Mapping[str, bool] | None = None,
    kubernetes_version: str | None = None,
    host: frozenset[str] = frozenset(),
    prove: bool = False,
    needs: Sequence[str] = (),
) -> TestPlan:
    """The profile a test needs on ``release``, and a skip reason when it cannot run there.

    With ``prove``, the profile is the one where the test's feature is off (and the features it
    ``needs`` are on): the test is expected to fail there.
    """
    feature = catalog.feature(feature_name) if feature_name else None
    if prove and feature is not None:
        return _plan_proof(
            catalog,
            release,
            feature,
            [catalog.feature(n) for n in needs],
            extra_gates,
            kubernetes_version,
            host,
        )
    if off:
        profile_name = feature.off_profile if feature else "baseline"
    else:
        profile_name = explicit_profile or (feature.profile if feature else "baseline")
    if forced_profile:
        profile_name = forced_profile
    profile = resolve_profile(
        catalog,
        profile_name,
        release,
        extra_gates,
        kubernetes_version=kubernetes_version,
        host=host,
    )
    plan = TestPlan(release, feature, profile, expects_off=off, forced=bool(forced_profile))
    if feature is None:
        return plan
    reason = feature.unavailable_reason(release, host)
    if reason:
        return _skip(plan, f"{feature.name} ({feature.reference}) on {release}: {reason}")
    if off:
        reason = feature_can_be_off(catalog, release, feature)
        if reason:
            return _skip(plan, reason)
        if feature_off_reason(catalog, profile, feature) is None:
            return _skip(
                plan,
                f"{feature.name} is on by default in {release}: showing it off needs a profile "
                "that sets its gate to false",
            )
        return plan
    if not forced_profile:
        reason = feature_off_reason(catalog, profile, feature)
        if reason:
            return _skip(plan, reason)
    return plan


def _plan_proof(
    catalog: Catalog,
    release: str,
    feature: Feature,
    needs: list[Feature],
    extra_gates: Mapping[str, bool] | None,
    kubernetes_version: str | None,
    host: frozenset[str],
) -> TestPlan:
    profile = resolve_off_profile(
        catalog,
        feature,
        release,
        needs,
        extra_gates,
        kubernetes_version=kubernetes_version,
        host=host,
    )
    plan = TestPlan(release, feature, profile, proof=True)
    try:
        validate_profile(catalog, profile)
    except ProfileError as refused:
        # the components would not start with the feature off: nothing a test could run on
        return _skip(plan, f"proof: no cluster can run with {feature.name} off: {refused}")
    reason = feature.unavailable_reason(release, host)
    if reason:
        return _skip(plan, f"{feature.name} ({feature.reference}) on {release}: {reason}")
    reason = proof_impossible_reason(catalog, release, feature)
    if reason:
        return _skip(plan, f"proof: {reason}")
    for needed in needs:
        reason = needed.unavailable_reason(release, host) or feature_off_reason(
            catalog, profile, needed
        )
        if reason:
            return _skip(plan, f"proof: needs {needed.name}, which cannot be on here: {reason}")
    return plan


def _skip(plan: TestPlan, reason: str) -> TestPlan:
    return TestPlan(
        plan.release, plan.feature, plan.profile, reason, plan.expects_off, plan.forced, plan.proof
    )


def validate_run_profiles(settings: Any) -> None:
    """Validate every profile the run could use, in the controller, before any worker starts.

    Cheap (no cluster, no Docker) and complete: a removed gate passed with --feature-gates is
    refused here in one line instead of surfacing inside an xdist worker.
    """
    names = (
        [settings.forced_profile] if settings.forced_profile else list(settings.catalog.profiles)
    )
    for release in settings.releases:
        for name in names:
            profile = resolve_profile(
                settings.catalog,
                name,
                release,
                settings.extra_gates,
                kubernetes_version=settings.kubernetes_version(release),
                host=settings.host,
            )
            validate_profile(settings.catalog, profile)
