"""Smoke: the profile a cluster was made from really reached it.

Every gate of the profile is on in the apiserver's kubernetes_feature_enabled metric, the
kubelet's /configz shows the profile's kubelet settings, and /version is the release's.
"""

from __future__ import annotations

import json

import pytest

from kconformance.featurestate import parse_feature_metrics
from kconformance.testing import Cluster, mismatches

pytestmark = [pytest.mark.smoke, pytest.mark.profile("gates")]


def test_profile_gates_are_enabled_in_the_apiserver(cluster: Cluster) -> None:
    enabled = parse_feature_metrics(cluster.raw_get("/metrics"))
    wanted = cluster.profile.gates
    assert {gate: enabled.get(gate) for gate in wanted} == wanted


def test_kubelet_runs_with_the_profile_settings(cluster: Cluster) -> None:
    node = cluster.core.list_node().items[0].metadata.name
    config = json.loads(cluster.raw_get(f"/api/v1/nodes/{node}/proxy/configz"))["kubeletconfig"]
    assert mismatches(config, cluster.profile.kubelet) == []
    for gate, value in cluster.profile.gates.items():
        assert config.get("featureGates", {}).get(gate) == value


def test_server_version_is_the_releases(cluster: Cluster) -> None:
    assert cluster.server_version() == cluster.profile.kubernetes_version
