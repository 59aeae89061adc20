"""The stress command's bookkeeping, with a fake pytest run writing JUnit (no cluster)."""

from __future__ import annotations

from pathlib import Path

from kconformance import stress

JUNIT = """<?xml version="1.0" encoding="utf-8"?>
<testsuites><testsuite name="pytest">
<testcase classname="suites.sig_node.test_sidecars" name="test_restart[1.28]" time="12.5">{restart}</testcase>
<testcase classname="suites.sig_apps.test_jobs" name="test_index[1.28]" time="3.0"/>
<testcase classname="suites.sig_node.test_swap" name="test_swap[1.28]" time="0.0">
<skipped type="pytest.skip" message="needs cgroup v2">needs cgroup v2</skipped></testcase>
</testsuite></testsuites>
"""
FAILURE = (
    '<properties><property name="diagnostics" value="artifacts/diagnostics/x.txt"/>'
    '</properties><failure message="AssertionError: main is not running&#10;more">tb</failure>'
)


def test_every_run_is_counted_and_a_failure_keeps_its_first_line_and_diagnostics(tmp_path):
    def fake_pytest(argv: list[str], log: Path) -> int:
        junit = Path(argv[argv.index("--junitxml") + 1])
        second = junit.parent.name == "run-2"
        junit.write_text(JUNIT.format(restart=FAILURE if second else ""))
        return 1 if second else 0

    runs = stress.stress("1.28", 3, "4", tmp_path, ["--prove"], fake_pytest, log=lambda _: None)

    assert [r.exit_code for r in runs] == [0, 1, 0]
    counts = stress.tally(runs)
    assert counts["suites.sig_node.test_sidecars::test_restart[1.28]"] == {
        "passed": 2,
        "failed": 1,
        "skipped": 0,
    }
    assert counts["suites.sig_node.test_swap::test_swap[1.28]"]["skipped"] == 3
    text = (tmp_path / "STRESS.md").read_text()
    assert "3 runs, 2 green" in text
    assert (
        "- run 2 `suites.sig_node.test_sidecars::test_restart[1.28]`: AssertionError: main is "
        "not running (diagnostics: `artifacts/diagnostics/x.txt`)"
    ) in text
    assert "--prove" in text and (tmp_path / "stress.json").is_file()


def test_a_run_that_wrote_no_junit_still_counts_as_a_run(tmp_path):
    runs = stress.stress("1.36", 1, "8", tmp_path, [], lambda argv, log: 3, log=lambda _: None)
    assert runs[0].exit_code == 3 and runs[0].cases == []
    assert "1 runs, 0 green" in (tmp_path / "STRESS.md").read_text()
