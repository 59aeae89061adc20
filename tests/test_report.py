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


def test_a_failed_cell_names_each_failed_test_and_its_first_line(tmp_path):
    report = _report("suites/t.py::test_x[1.28]", "failed", "JobBackoffLimitPerIndex")
    report.longrepr = SimpleNamespace(
        reprcrash=SimpleNamespace(message="AssertionError: status.terminating never 1\nassert 0")
    )
    collector = ReportCollector(default_catalog())
    collector.add(_report("suites/t.py::test_y[1.28]", "passed", "JobBackoffLimitPerIndex"))
    collector.add(report)
    row = next(r for r in collector.rows(["1.28"]) if r["feature"] == "JobBackoffLimitPerIndex")
    assert row["releases"]["1.28"]["failures"] == [
        {
            "test": "suites/t.py::test_x[1.28]",
            "reason": "AssertionError: status.terminating never 1",
        }
    ]
    collector.write(tmp_path, ["1.28"])
    assert (
        "- JobBackoffLimitPerIndex on 1.28: FAILED suites/t.py::test_x[1.28]: "
        "AssertionError: status.terminating never 1"
    ) in (tmp_path / "kconformance-report.md").read_text()


JUNIT_SUITE = """
import pytest

@pytest.mark.feature("JobBackoffLimitPerIndex")
def test_with_a_kep():
    pass

@pytest.mark.feature("NetworkPolicyStatusRemoved")
def test_tracked_by_a_pull_request():
    pass
"""


def test_junit_has_a_kep_property_only_where_there_is_a_kep(pytester: pytest.Pytester):
    pytester.makeini("[pytest]\n")
    pytester.makepyfile(test_suite=JUNIT_SUITE)
    result = pytester.runpytest_inprocess(
        "--k8s-version", "1.28", "-p", "no:cacheprovider", "--junitxml", "junit.xml", "--no-report"
    )
    result.assert_outcomes(passed=2)
    xml = (pytester.path / "junit.xml").read_text()
    assert '<property name="kep" value="3850"' in xml
    assert 'value="None"' not in xml
    assert '<property name="pr" value="115843"' in xml
