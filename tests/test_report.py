"""Report verdicts that cannot overstate what the tests showed."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from kconformance.catalog import default_catalog
from kconformance.report import ReportCollector


def _report(nodeid: str, outcome: str, feature: str, **props: str) -> SimpleNamespace:
    base = {"feature": feature, "sig": "sig_apps", "release": "1.28", "profile": "gates"}
    return SimpleNamespace(
        nodeid=nodeid,
        when="call",
        duration=1.0,
        skipped=outcome == "skipped",
        failed=outcome == "failed",
        passed=outcome == "passed",
        longrepr=("f", 1, "Skipped: why") if outcome == "skipped" else None,
        user_properties=list({**base, **props}.items()),
    )


def _cell(reports: list[SimpleNamespace], feature: str) -> dict:
    collector = ReportCollector(default_catalog())
    for report in reports:
        collector.add(report)
    row = next(r for r in collector.rows(["1.28"]) if r["feature"] == feature)
    return row["releases"]["1.28"]


@pytest.mark.parametrize(
    ("outcomes", "verdict"),
    [
        (["passed", "passed"], "passed"),
        (["passed", "skipped"], "partial"),
        (["passed", "failed"], "failed"),
        (["skipped"], "skipped"),
    ],
)
def test_passed_only_when_every_test_passed(outcomes: list[str], verdict: str) -> None:
    reports = [_report(f"t{i}", o, "JobPodFailurePolicy") for i, o in enumerate(outcomes)]
    assert _cell(reports, "JobPodFailurePolicy")["verdict"] == verdict


def test_readback_only_is_configured_not_passed() -> None:
    reports = [_report("t", "passed", "NodeSwap", evidence="readback")]
    assert _cell(reports, "NodeSwap")["verdict"] == "configured"


def test_proof_is_its_own_column() -> None:
    reports = [
        _report("t[1.28]", "passed", "JobPodFailurePolicy"),
        _report("t[1.28-off]", "passed", "JobPodFailurePolicy", mode="proof", proof="proved"),
        _report("u[1.28-off]", "failed", "JobPodFailurePolicy", mode="proof", proof="not proved"),
    ]
    cell = _cell(reports, "JobPodFailurePolicy")
    assert cell["verdict"] == "passed"
    assert cell["proof"]["verdict"] == "not proved"
    assert cell["proof"]["not_proved"] == ["u[1.28-off]"]


def test_a_failed_test_carries_its_failure_line_and_its_wait_for_the_cluster():
    report = _report("t::x", "failed", "JobBackoffLimitPerIndex", cluster_wait="12.5")
    report.longrepr = SimpleNamespace(
        reprcrash=SimpleNamespace(message="AssertionError: status.terminating never 1\nassert 0")
    )
    collector = ReportCollector(default_catalog())
    collector.add(report)
    result = collector.results["t::x"]
    assert result.reason == "AssertionError: status.terminating never 1"
    assert result.cluster_wait == 12.5
