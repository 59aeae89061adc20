"""sig-network: NetworkPolicy's status field withdrawn (PR #115843, article "Other changes")."""

from __future__ import annotations

import json

import pytest

from kconformance.featurestate import parse_feature_metrics
from kconformance.testing import Kube


@pytest.mark.feature("NetworkPolicyStatusRemoved")
def test_network_policy_has_no_status(kube: Kube) -> None:
    """ "Things that are deprecated and will stop working: The NetworkPolicyStatus feature": in
    1.28 it is already gone - the served OpenAPI v3 schema of networking.k8s.io/v1
    NetworkPolicy has no status property, discovery lists no networkpolicies/status
    subresource, kubectl explain finds no such field, and the apiserver reports no
    NetworkPolicyStatus gate. Where the article differs: the feature is removed in 1.28, not
    deprecated. It cannot be switched back on: the gate no longer exists."""
    schemas = json.loads(kube.cluster.raw_get("/openapi/v3/apis/networking.k8s.io/v1"))
    policy = schemas["components"]["schemas"]["io.k8s.api.networking.v1.NetworkPolicy"]
    assert set(policy["properties"]) == {"apiVersion", "kind", "metadata", "spec"}
    resources = json.loads(kube.cluster.raw_get("/apis/networking.k8s.io/v1"))["resources"]
    names = {r["name"] for r in resources}
    assert "networkpolicies" in names and "networkpolicies/status" not in names
    explained = kube.kubectl("explain", "networkpolicy.status", check=False)
    assert explained.returncode != 0
    assert 'field "status" does not exist' in explained.stdout, explained.stdout
    assert "NetworkPolicyStatus" not in parse_feature_metrics(kube.cluster.raw_get("/metrics"))
