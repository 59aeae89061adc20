"""sig-api-machinery: mixed-version apiserver proxy (KEP-4020).

Two kube-apiservers share the cluster's etcd: the control plane's, and a second one on the worker
started with ``--runtime-config=batch/v1=false`` (suites/sig_api_machinery/peers.py), as in the
upstream integration test test/integration/apiserver/peerproxy. The article's situation is an
upgrade where one apiserver is older and does not serve a group yet; a disabled group is the same
thing to the proxy, which only asks which peer serves the resource.
"""

from __future__ import annotations

import json

import pytest

from kconformance.errors import CommandError
from kconformance.metrics import wait_until
from kconformance.testing import Kube, wait_for
from suites.sig_api_machinery.peers import (
    IDENTITY,
    Peer,
    peer_get,
    rerouted_total,
    start_peer_apiserver,
)

JOB = "served-by-the-peer"


@pytest.fixture
def peer(kube: Kube) -> Peer:
    return start_peer_apiserver(kube)


def _jobs_path(kube: Kube) -> str:
    return f"/apis/batch/v1/namespaces/{kube.namespace}/jobs"


@pytest.mark.kind_nodes
@pytest.mark.feature("UnknownVersionInteroperabilityProxy")
def test_request_to_an_apiserver_without_the_group_is_served_by_its_peer(
    kube: Kube, peer: Peer
) -> None:
    """KEP-4020: a request for a resource the local apiserver cannot serve is proxied to a peer
    that can. The worker's apiserver does not serve batch/v1, yet listing Jobs through it returns
    the Job created through the control plane, and its ``apiserver_rerouted_request_total``
    grows across that request. Each apiserver holds an identity Lease in kube-system."""
    leases = wait_for(
        kube.cluster,
        "Lease",
        lambda items: len(items) >= 2,
        namespace="kube-system",
        label_selector=IDENTITY,
        timeout=120,
        description="an identity lease per apiserver",
    )
    assert len({lease["spec"]["holderIdentity"] for lease in leases}) == 2
    kube.apply("sig_api_machinery/suspended-job.yaml")
    before = rerouted_total(kube, peer)
    try:
        listing = json.loads(peer_get(kube, peer, _jobs_path(kube)))
    except CommandError as refused:  # what a peer that does not proxy answers (404)
        raise AssertionError(f"the worker's apiserver did not serve Jobs: {refused}") from None
    assert listing["kind"] == "JobList"
    assert [j["metadata"]["name"] for j in listing["items"]] == [JOB]
    # the peer counts a proxied request once its handler returns, which can be just after the
    # client has the whole answer: read the counter until it shows the request
    wait_until(
        lambda: rerouted_total(kube, peer),
        lambda after: after >= before + 1,
        timeout=30,
        interval=1,
        description=f"the peer's apiserver_rerouted_request_total to grow from {before}",
    )


@pytest.mark.kind_nodes
@pytest.mark.feature("UnknownVersionInteroperabilityProxy", off=True)
def test_without_the_gate_the_request_is_not_found(kube: Kube, peer: Peer) -> None:
    """With UnknownVersionInteroperabilityProxy off (profile mixed-version-off), the worker's
    apiserver answers a request for the group it does not serve with 404 Not Found, as any
    apiserver does for an unknown path, and reroutes nothing."""
    kube.apply("sig_api_machinery/suspended-job.yaml")
    answer = peer_get(kube, peer, _jobs_path(kube), check=False)
    assert answer.returncode != 0
    assert "the server could not find the requested resource" in answer.stdout, answer.stdout
    assert rerouted_total(kube, peer) == 0
