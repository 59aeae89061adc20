"""sig-storage: recovery from volume expansion failure (KEP-1790) and the PVC status fields that
came with it (article "Other changes": resizeStatus replaced by allocatedResourceStatuses)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from kconformance.testing import ApiRejection, Kube

FIELD = "spec.resources.requests.storage"


def _bound_claim(kube: Kube) -> tuple[str, dict[str, Any]]:
    klass = f"{kube.namespace}-expand"
    kube.apply("sig_storage/expandable-claim.yaml", **{"class": klass, "size": "1Gi"})
    claim = kube.wait_for(
        "PersistentVolumeClaim",
        lambda c: (
            bool(c)
            and c["status"].get("phase") == "Bound"
            and (c["status"].get("capacity") or {}).get("storage") == "1Gi"
        ),
        name="claim",
        timeout=90,
        description="the claim to bind to its 1Gi PersistentVolume",
    )
    return klass, claim


def _request(kube: Kube, klass: str, size: str) -> dict[str, Any]:
    """Re-apply the claim with another storage request; returns what the server stored."""
    (claim,) = [
        doc
        for doc in kube.render(
            "sig_storage/expandable-claim.yaml", **{"class": klass, "size": size}
        )
        if doc["kind"] == "PersistentVolumeClaim"
    ]
    (stored,) = kube.apply_objects([claim], source="sig_storage/expandable-claim.yaml")
    return stored


def _refusal(kube: Kube, klass: str, size: str) -> ApiRejection:
    with pytest.raises(ApiRejection) as refused:
        _request(kube, klass, size)
    return refused.value


@pytest.mark.feature("RecoverVolumeExpansionFailure")
def test_request_may_be_lowered_while_above_capacity(kube: Kube) -> None:
    """ "If you requested a size bigger than the CSI driver allows, you were able to recover by
    requesting a smaller size (bigger than the original size before the increase)": a bound
    claim with status.capacity 1Gi is expanded to 3Gi (nothing resizes it: no resizer runs),
    then lowered to 2Gi - accepted. Lowering to 1Gi (equal to status.capacity) or 512Mi is
    refused with "field can not be less than status.capacity" (the rule is <=, so the message's
    "less than" also covers equal). With the gate off (1.28 default) the 2Gi step is refused
    with "field can not be less than previous value".

    Where the article differs: it presents the rename of pvc.status.resizeStatus as this
    feature; see test_pvc_status_has_allocated_resource_statuses."""
    klass, _ = _bound_claim(kube)
    expanded = _request(kube, klass, "3Gi")
    assert expanded["spec"]["resources"]["requests"]["storage"] == "3Gi"

    lowered = _request(kube, klass, "2Gi")
    assert lowered["spec"]["resources"]["requests"]["storage"] == "2Gi"
    assert lowered["status"]["capacity"]["storage"] == "1Gi"

    for size in ("1Gi", "512Mi"):
        refusal = _refusal(kube, klass, size)
        assert refusal.code == 422 and refusal.reason == "Invalid", refusal
        assert refusal.message == (
            'PersistentVolumeClaim "claim" is invalid: '
            f"{FIELD}: Forbidden: field can not be less than status.capacity"
        ), refusal.message
        assert refusal.cause_fields() == [FIELD]
    assert kube.get("PersistentVolumeClaim", "claim")["spec"]["resources"]["requests"] == {
        "storage": "2Gi"
    }


@pytest.mark.feature("RecoverVolumeExpansionFailure", off=True)
def test_without_the_gate_any_decrease_is_refused(kube: Kube) -> None:
    """The rule before KEP-1790, on a release where its gate is off by default: lowering a
    request from 3Gi to 2Gi, still above status.capacity (1Gi), is refused with
    "field can not be less than previous value"."""
    klass, _ = _bound_claim(kube)
    _request(kube, klass, "3Gi")
    refusal = _refusal(kube, klass, "2Gi")
    assert refusal.code == 422 and refusal.reason == "Invalid", refusal
    assert refusal.message == (
        'PersistentVolumeClaim "claim" is invalid: '
        f"{FIELD}: Forbidden: field can not be less than previous value"
    ), refusal.message


@pytest.mark.feature("PersistentVolumeClaimAllocatedResourceStatus")
def test_pvc_status_has_allocated_resource_statuses(kube: Kube) -> None:
    """ "pvc.Status: resizeStatus ➜ AllocatedResourceStatus": the served OpenAPI v3 schema of
    PersistentVolumeClaimStatus has allocatedResourceStatuses (a map of resource name to
    resize status) and allocatedResources, and no resizeStatus. The field name is
    allocatedResourceStatuses (plural), not the article's "AllocatedResourceStatus". An API
    type change: no gate brings resizeStatus back."""
    schemas = json.loads(kube.cluster.raw_get("/openapi/v3/api/v1"))["components"]["schemas"]
    status = schemas["io.k8s.api.core.v1.PersistentVolumeClaimStatus"]["properties"]
    assert "resizeStatus" not in status
    assert {"allocatedResourceStatuses", "allocatedResources"} <= set(status)
    assert status["allocatedResourceStatuses"]["type"] == "object"
    assert status["allocatedResourceStatuses"]["additionalProperties"]["type"] == "string"
