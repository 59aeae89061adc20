"""sig-api-machinery: mixed-version apiserver proxy (KEP-4020).

The catalog marks it unavailable here: it needs several kube-apiservers of different versions,
which a 2-core machine cannot hold. The test is what such a profile would run.
"""

from __future__ import annotations

import pytest

from kconformance.testing import Kube


@pytest.mark.feature("UnknownVersionInteroperabilityProxy")
def test_requests_for_a_peer_only_resource_are_proxied(kube: Kube) -> None:
    """With apiservers of two versions, each publishes an identity lease, and requests one
    cannot serve are proxied to a peer (apiserver_rerouted_request_total grows)."""
    leases = kube.cluster.resource("Lease", "coordination.k8s.io/v1").get(
        namespace="kube-system", label_selector="apiserver.kubernetes.io/identity=kube-apiserver"
    )
    assert len(leases.items) >= 2, "needs at least two apiservers"
    assert "apiserver_rerouted_request_total" in kube.cluster.raw_get("/metrics")
