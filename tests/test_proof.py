"""What counts as a feature-off proof: decided by the exception's type, never its message."""

from __future__ import annotations

import pytest
from kubernetes.client.exceptions import ApiException

from kconformance import proof
from kconformance.errors import ClusterError, WaitStopped, WaitTimeout
from kconformance.manifests import ApiRejection, FieldsDropped, NotServed


def test_an_assertion_or_a_wait_on_the_behaviour_is_proof():
    assert proof.classify(AssertionError("restartCount is 0")) == proof.PROVED
    assert proof.classify(WaitTimeout("timed out waiting for the Job")) == proof.PROVED
    assert proof.classify(WaitStopped("job j failed: BackoffLimitExceeded")) == proof.PROVED


def test_a_refusal_at_apply_shows_only_that_the_field_is_gated():
    obj = {"kind": "Job", "metadata": {"name": "j"}}
    assert proof.classify(FieldsDropped("m.yaml", obj, ["spec.x"])) == proof.GATED
    rejected = ApiRejection("m.yaml", obj, ApiException(status=422, reason="Invalid"))
    assert proof.classify(rejected) == proof.GATED
    assert proof.classify(NotServed("m.yaml: not served")) == proof.GATED


@pytest.mark.parametrize(
    "exc",
    [KeyError("PodReadyToStartContainers"), IndexError("list index"), TypeError("None")],
)
def test_a_bug_or_a_missing_key_is_no_evidence(exc):
    assert proof.classify(exc) == proof.NO_EVIDENCE


def test_an_assertion_of_a_readback_test_only_shows_the_configuration():
    assert proof.classify(AssertionError("swapBehavior"), readback=True) == proof.CONFIGURED


def test_infrastructure_trouble_says_nothing_either_way():
    assert proof.classify(ClusterError("creating cluster failed")) == proof.INFRASTRUCTURE
    assert (
        proof.classify(AssertionError("pod p: container main is waiting in ErrImagePull"))
        == proof.INFRASTRUCTURE
    )
    assert proof.classify(ApiException(status=503)) == proof.INFRASTRUCTURE
