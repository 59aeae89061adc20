"""sig-instrumentation: extended metrics stability (KEP-3498), on the apiserver's endpoints.

Components built on k8s.io/component-base prefix every metric's HELP text with its stability
level, ``[ALPHA]``, ``[BETA]``, ``[STABLE]`` or ``[INTERNAL]`` (metrics/opts.go,
annotateStabilityLevel). KEP-3498 added BETA and INTERNAL and the ``/metrics/slis`` endpoint.
There is no gate: it cannot be switched off, so ``--profile baseline`` passes too.
"""

from __future__ import annotations

import re

import pytest
from kubernetes.client.exceptions import ApiException

from kconformance.metrics import Exposition, parse_exposition, wait_until
from kconformance.testing import Kube


# Stability levels per release, from each release's source (1.28.15, 1.29.15, 1.30.14, 1.31.0,
# 1.32.2, 1.33.13, 1.34.4, 1.35.4, 1.36.3): k8s.io/component-base
# metrics/prometheus/feature/metrics.go and metrics/prometheus/slis/metrics.go, k8s.io/apiserver
# pkg/endpoints/metrics/metrics.go. Only the health-check SLIs changed: BETA in 1.28, STABLE from
# 1.29. A release missing here was not checked.
def _levels(healthchecks: str) -> dict[str, str]:
    return {
        "kubernetes_feature_enabled": "BETA",
        "apiserver_request_total": "STABLE",
        "kubernetes_healthcheck": healthchecks,
        "kubernetes_healthchecks_total": healthchecks,
    }


LATER = ("1.29", "1.30", "1.31", "1.32", "1.33", "1.34", "1.35", "1.36")
LEVELS = {"1.28": _levels("BETA"), **{release: _levels("STABLE") for release in LATER}}
_LEVEL = re.compile(r"^\[(ALPHA|BETA|STABLE|INTERNAL)\] ")


def _levels_for(release: str) -> dict[str, str]:
    if release not in LEVELS:
        pytest.skip(f"the metrics' stability levels were not read from the {release} source")
    return LEVELS[release]


@pytest.mark.feature("MetricsStability")
def test_apiserver_metrics_carry_their_stability_level(kube: Kube) -> None:
    """ "This enhancement adds two new stability levels: Internal ... Beta": on /metrics the HELP
    text of kubernetes_feature_enabled starts with "[BETA] " and apiserver_request_total with
    "[STABLE] "; every level seen is one of ALPHA, BETA, STABLE, INTERNAL, and ALPHA, BETA and
    STABLE all occur.

    INTERNAL is allowed, not required: no metric of kube-apiserver 1.28.15 is INTERNAL (no
    ``metrics.INTERNAL`` in k8s.io/apiserver or component-base v0.28.15; the one user in
    k8s.io/kubernetes is the kubelet's CRI stats collector, served only with
    PodAndContainerStatsFromCRI)."""
    expected = _levels_for(kube.release)
    metrics = parse_exposition(kube.cluster.raw_get("/metrics"))
    for name in ("kubernetes_feature_enabled", "apiserver_request_total"):
        help_text = metrics.help(name)
        assert help_text is not None, f"{name} not exposed"
        assert help_text.startswith(f"[{expected[name]}] "), help_text
    seen = {m.group(1) for h in metrics.helps.values() if (m := _LEVEL.match(h))}
    assert {"ALPHA", "BETA", "STABLE"} <= seen, seen
    unknown = {h.split("]")[0] + "]" for h in metrics.helps.values() if h.startswith("[")} - {
        f"[{level}]" for level in ("ALPHA", "BETA", "STABLE", "INTERNAL")
    }
    assert not unknown, unknown


def _checked_slis(kube: Kube) -> Exposition:
    """Run the apiserver's health checks (each request to /healthz, /livez and /readyz records
    every check's result for the SLIs; a failing one answers 500), then read /metrics/slis."""
    for endpoint in ("/healthz", "/livez", "/readyz"):
        try:
            kube.cluster.raw_get(endpoint)
        except ApiException as exc:
            if exc.status != 500:
                raise
    return parse_exposition(kube.cluster.raw_get("/metrics/slis"))


def _etcd_passing(slis: Exposition) -> bool:
    return (
        all(
            slis.values("kubernetes_healthcheck", name="etcd", type=kind) == [1.0]
            for kind in ("healthz", "livez", "readyz")
        )
        and slis.total("kubernetes_healthchecks_total", name="etcd", status="success") >= 1
    )


@pytest.mark.feature("MetricsStability")
def test_slis_endpoint_serves_healthcheck_results(kube: Kube) -> None:
    """/metrics/slis serves kubernetes_healthcheck{name,type} (1 = passing) for every health
    check of the apiserver, e.g. etcd on healthz, livez and readyz, and
    kubernetes_healthchecks_total{name,status,type}; BETA in 1.28, STABLE from 1.29.

    The gauge holds the result of the latest run of the check (an etcd check that timed out
    under load reads 0 until the next run), and a type has no series before its endpoint was
    first asked: the test runs the checks itself and reads again until etcd passes on all
    three. The metrics' HELP texts cannot change: they are checked once, first."""
    expected = _levels_for(kube.release)
    slis = _checked_slis(kube)
    for name in ("kubernetes_healthcheck", "kubernetes_healthchecks_total"):
        help_text = slis.help(name)
        assert help_text is not None, f"{name} not served on /metrics/slis"
        assert help_text.startswith(f"[{expected[name]}] "), help_text
    slis = wait_until(
        lambda: _checked_slis(kube),
        _etcd_passing,
        timeout=60,
        interval=1,
        description="/metrics/slis to report the etcd check passing on healthz, livez and readyz",
    )
    for kind in ("healthz", "livez", "readyz"):
        assert slis.values("kubernetes_healthcheck", name="etcd", type=kind) == [1.0], kind
    assert slis.total("kubernetes_healthchecks_total", name="etcd", status="success") >= 1
