"""sig-auth: the article's "Other changes" of sig-auth APIs - KMSv1 deprecated (PR #119007) and
SelfSubjectReview's API version (KEP-3325)."""

from __future__ import annotations

import pytest

from kconformance.catalog import Catalog
from kconformance.metrics import parse_exposition
from kconformance.testing import Kube
from suites.sig_api_machinery.apis import served_versions, serves_kind


@pytest.mark.feature("KMSv1Deprecated")
def test_kmsv1_gate_is_deprecated_on_in_128_and_off_later(kube: Kube, catalog: Catalog) -> None:
    """ "KMSv1 ➜ Use KMSv2, or set --feature-gates=KMSv1=true": the apiserver reports
    kubernetes_feature_enabled{name="KMSv1",stage="DEPRECATED"} 1 in 1.28 (deprecated, still on
    by default) and 0 from 1.29 (off by default: a KMS v1 provider then needs the gate). The
    expected value is the catalog's stage for the release, so the catalog is checked too.

    Where the article differs: in 1.28 nothing has to be set yet - KMSv1 is on by default; the
    gate is needed from 1.29."""
    stage = catalog.gates["KMSv1"].stage(kube.release)
    metrics = parse_exposition(kube.cluster.raw_get("/metrics"))
    assert metrics.values("kubernetes_feature_enabled", name="KMSv1", stage="DEPRECATED") == [
        1.0 if stage.default else 0.0
    ], stage


def _versions_serving(kube: Kube, group: str, kind: str) -> set[str]:
    return {v for v in served_versions(kube, group) if serves_kind(kube, group, v, kind)}


@pytest.mark.feature("SelfSubjectReviewAPIVersions")
def test_self_subject_review_is_served_as_v1_only(kube: Kube) -> None:
    """ "SelfSubjectReview: v1beta1 ➜ v1": discovery lists selfsubjectreviews under
    authentication.k8s.io/v1 only. 1.28 still has v1beta1 and v1alpha1 in the code, but as
    non-GA versions they are off unless --runtime-config enables them; 1.36 keeps v1beta1
    (off by default) and v1alpha1 (off). The gate APISelfSubjectReview is GA and locked in 1.28,
    so the API cannot be switched off."""
    assert _versions_serving(kube, "authentication.k8s.io", "SelfSubjectReview") == {"v1"}
