"""sig-scheduling: scheduler_scheduler_goroutines removed for scheduler_goroutines (PR #117727,
article "Other changes"), read from kube-scheduler's own /metrics.

kube-scheduler serves /metrics on its secure port (10259), bound to 127.0.0.1 by kubeadm, and
authorizes the request through the apiserver: the test reads it inside the control-plane node
with a ServiceAccount token allowed to GET /metrics. A metric definition of the release: no
gate changes it, so ``--profile baseline`` passes too.
"""

from __future__ import annotations

import pytest

from kconformance.catalog import release_key
from kconformance.metrics import parse_exposition, wait_until
from kconformance.testing import Kube
from suites.nodes import control_plane, node_exec


@pytest.mark.kind_nodes
@pytest.mark.feature("SchedulerGoroutinesMetric")
def test_scheduler_goroutines_replaces_scheduler_scheduler_goroutines(kube: Kube) -> None:
    """ "scheduler_scheduler_goroutines ➜ scheduler_goroutines": kube-scheduler exposes
    scheduler_goroutines{operation} ("Number of running goroutines split by the work they do
    such as binding.", [ALPHA] through 1.35 and [BETA] in 1.36 - pkg/scheduler/metrics/metrics.go
    of each release) with a binding series once it has bound a pod, and no
    scheduler_scheduler_goroutines at all.

    The test has the scheduler bind a pod of its own first (the series is created when a binding
    starts, before the pod's nodeName is written), then reads /metrics until the binding series
    is there - the metrics-reader token is refused until its new RBAC binding reaches the
    scheduler's authorizer. scheduler_scheduler_goroutines once served, or a wrong HELP text,
    cannot go away: either ends the wait at once."""
    level = "BETA" if release_key(kube.release) >= (1, 36) else "ALPHA"
    help_text = f"[{level}] Number of running goroutines split by the work they do such as binding."
    kube.apply("sig_scheduling/metrics-reader.yaml")
    kube.apply("sig_scheduling/bound-pod.yaml")
    token = kube.cluster.core.create_namespaced_service_account_token(
        "metrics-reader", kube.namespace, {"spec": {"expirationSeconds": 600}}
    ).status.token
    node = control_plane(kube)
    kube.wait_for(
        "Pod",
        lambda p: bool(p) and bool(p["spec"].get("nodeName")),
        name="bound",
        timeout=120,
        description="kube-scheduler to bind the pod bound",
    )

    def read():
        return parse_exposition(
            node_exec(
                node,
                "curl",
                "-sSk",
                "-H",
                f"Authorization: Bearer {token}",
                "https://127.0.0.1:10259/metrics",
            )
        )

    def binding_series(metrics) -> bool:
        assert "scheduler_scheduler_goroutines" not in metrics.names()
        served = metrics.help("scheduler_goroutines")
        assert served in (None, help_text), served
        return bool(metrics.values("scheduler_goroutines", operation="binding"))

    metrics = wait_until(
        read,
        binding_series,
        timeout=60,
        description="kube-scheduler /metrics to serve scheduler_goroutines{operation=binding}",
    )
    assert metrics.help("scheduler_goroutines") == help_text
    assert metrics.values("scheduler_goroutines", operation="binding"), "no binding series"
    assert "scheduler_scheduler_goroutines" not in metrics.names()
