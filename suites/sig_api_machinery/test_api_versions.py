"""sig-api-machinery: the article's "API version changes" for ValidatingAdmissionPolicy
(KEP-3488), read from discovery."""

from __future__ import annotations

import pytest

from kconformance.catalog import release_key
from kconformance.testing import Kube
from suites.sig_api_machinery.apis import served_versions, serves_kind

GROUP = "admissionregistration.k8s.io"


def _versions_serving(kube: Kube, kind: str) -> set[str]:
    return {v for v in served_versions(kube, GROUP) if serves_kind(kube, GROUP, v, kind)}


@pytest.mark.feature("ValidatingAdmissionPolicyAPIVersions")
def test_admission_policy_versions_served(kube: Kube) -> None:
    """ "ValidatingAdmissionPolicy: v1alpha1 ➜ v1beta1" (and its Binding alike): both kinds are
    served exactly in the versions the cluster enables - on 1.28 v1beta1 (gate on plus
    runtime-config admissionregistration.k8s.io/v1beta1) and, only because this profile's
    runtime-config also enables it, v1alpha1; never v1. From 1.30 they are v1 (GA), and v1beta1
    is off by default. With the 1.28 defaults (gate off, no runtime-config) neither is served."""
    enabled = {
        key.split("/")[1]
        for key, value in (kube.cluster.profile.runtime_config if kube.cluster.profile else ())
        if key.startswith(f"{GROUP}/") and value == "true"
    }
    ga = release_key(kube.release) >= (1, 30)
    expected = enabled | ({"v1"} if ga else set())
    for kind in ("ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding"):
        served = _versions_serving(kube, kind)
        assert ("v1" if ga else "v1beta1") in served, (kind, served)
        assert served == expected, (kind, served)
