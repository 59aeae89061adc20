"""What counts as a feature-off proof."""

from __future__ import annotations

from kconformance.errors import ClusterError
from kconformance.proof import counts_as_feature_off


def test_an_image_pull_failure_is_no_proof():
    assert counts_as_feature_off(AssertionError("restartPolicy was dropped"))
    assert not counts_as_feature_off(
        AssertionError("pod p: container main is waiting in ErrImagePull: failed to pull")
    )
    assert not counts_as_feature_off(ClusterError("creating cluster failed"))
