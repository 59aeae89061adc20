"""``python -m kconformance stress``: the whole suite N times on one release, and what flaked.

A red cell must mean the feature is broken; one green run cannot show that, N can. Each run is a
separate pytest process with fresh clusters (as CI creates them), its JUnit, report and
diagnostics in ``<out>/run-<i>/``. A failed run does not stop the next one. At the end every
test id gets its pass / fail / skip counts over the runs, and each failure its first line and
the path of its diagnostics, in ``<out>/STRESS.md`` and ``<out>/stress.json``.
"""

from __future__ import annotations

import json
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from kconformance.suiterun import suite_argv

PASSED, FAILED, SKIPPED = "passed", "failed", "skipped"


@dataclass(frozen=True)
class CaseResult:
    """One test id's outcome in one run, read from JUnit."""

    test_id: str
    outcome: str
    message: str = ""  # first line of the failure or skip
    diagnostics: str = ""  # the plugin's diagnostics file of a failed test
    seconds: float = 0.0


@dataclass
class RunSummary:
    index: int
    exit_code: int
    seconds: float
    started: str
    cases: list[CaseResult] = field(default_factory=list)

    def count(self, outcome: str) -> int:
        return sum(1 for c in self.cases if c.outcome == outcome)


def _first_line(text: str, limit: int = 240) -> str:
    return next((line.strip() for line in text.splitlines() if line.strip()), "")[:limit]


def _test_id(case: ET.Element) -> str:
    """``suites.sig_node.test_sidecars::test_x[1.28]``: JUnit's dotted module and the name."""
    classname, name = case.get("classname", ""), case.get("name", "")
    return f"{classname}::{name}" if classname else name


def read_junit(path: Path) -> list[CaseResult]:
    """Every testcase of a pytest JUnit file (a missing file: the run never got to write it)."""
    if not path.is_file():
        return []
    results = []
    for case in ET.parse(path).getroot().iter("testcase"):
        props = {p.get("name", ""): p.get("value", "") for p in case.iter("property")}
        failure = case.find("failure")
        if failure is None:
            failure = case.find("error")
        skipped = case.find("skipped")
        if failure is not None:
            outcome = FAILED
            message = failure.get("message") or failure.text or ""
        elif skipped is not None:
            outcome, message = SKIPPED, skipped.get("message") or ""
        else:
            outcome, message = PASSED, ""
        results.append(
            CaseResult(
                test_id=_test_id(case),
                outcome=outcome,
                message=_first_line(message),
                diagnostics=props.get("diagnostics", ""),
                seconds=float(case.get("time") or 0),
            )
        )
    return results


def tally(runs: Iterable[RunSummary]) -> dict[str, dict[str, int]]:
    """test id -> {passed, failed, skipped} over the runs."""
    counts: dict[str, dict[str, int]] = {}
    for run in runs:
        for case in run.cases:
            row = counts.setdefault(case.test_id, {PASSED: 0, FAILED: 0, SKIPPED: 0})
            row[case.outcome] += 1
    return dict(sorted(counts.items()))


def render(release: str, argv: list[str], runs: list[RunSummary]) -> str:
    """STRESS.md: the runs, the tests that failed at least once, every failure, all counts."""
    counts = tally(runs)
    flaky = {t: c for t, c in counts.items() if c[FAILED]}
    green = sum(1 for r in runs if r.exit_code == 0)
    lines = [
        f"# Stress: Kubernetes {release}, {len(runs)} runs, {green} green",
        "",
        f"Command per run: `{' '.join(argv)}`",
        "",
        "| run | started (UTC) | exit | wall | passed | failed | skipped |",
        "|---|---|---|---|---|---|---|",
    ]
    for run in runs:
        lines.append(
            f"| {run.index} | {run.started} | {run.exit_code} | {run.seconds:.0f} s "
            f"| {run.count(PASSED)} | {run.count(FAILED)} | {run.count(SKIPPED)} |"
        )
    lines += ["", f"## Tests that failed at least once ({len(flaky)} of {len(counts)})", ""]
    if flaky:
        lines += ["| test | passed | failed | skipped |", "|---|---|---|---|"]
        lines += [f"| `{t}` | {c[PASSED]} | {c[FAILED]} | {c[SKIPPED]} |" for t, c in flaky.items()]
        lines += ["", "### Failures", ""]
        for run in runs:
            for case in run.cases:
                if case.outcome == FAILED:
                    where = f" (diagnostics: `{case.diagnostics}`)" if case.diagnostics else ""
                    lines.append(f"- run {run.index} `{case.test_id}`: {case.message}{where}")
    else:
        lines.append("none")
    lines += ["", "## Every test", "", "| test | passed | failed | skipped |", "|---|---|---|---|"]
    lines += [f"| `{t}` | {c[PASSED]} | {c[FAILED]} | {c[SKIPPED]} |" for t, c in counts.items()]
    return "\n".join(lines) + "\n"


Runner = Callable[[list[str], Path], int]


def pytest_argv(release: str, workers: str, run_dir: Path, extra: list[str]) -> list[str]:
    """One run's pytest command line: every suite, its own JUnit, report and diagnostics."""
    return suite_argv(
        release,
        workers,
        junit=run_dir / "junit.xml",
        report_dir=run_dir / "report",
        artifacts_dir=run_dir / "artifacts",
        extra=extra,
    )


def stress(
    release: str,
    runs: int,
    workers: str,
    out: Path,
    extra: list[str],
    runner: Runner,
    log: Callable[[str], None] = print,
) -> list[RunSummary]:
    """Run the suite ``runs`` times; after each run rewrite STRESS.md and stress.json, so an
    interrupted stress keeps what it found."""
    out.mkdir(parents=True, exist_ok=True)
    summaries: list[RunSummary] = []
    for index in range(1, runs + 1):
        run_dir = out / f"run-{index}"
        run_dir.mkdir(parents=True, exist_ok=True)
        argv = pytest_argv(release, workers, run_dir, extra)
        started = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S")
        log(f"[stress] run {index}/{runs} on {release}: {' '.join(argv)}")
        t0 = time.monotonic()
        code = runner(argv, run_dir / "pytest.log")
        summary = RunSummary(
            index, code, time.monotonic() - t0, started, read_junit(run_dir / "junit.xml")
        )
        summaries.append(summary)
        log(
            f"[timing] stress run {index} {summary.seconds:.0f}s (exit {code}, "
            f"{summary.count(PASSED)} passed, {summary.count(FAILED)} failed, "
            f"{summary.count(SKIPPED)} skipped)"
        )
        generic = pytest_argv(release, workers, Path("<out>/run-<i>"), extra)
        (out / "STRESS.md").write_text(render(release, generic, summaries))
        (out / "stress.json").write_text(
            json.dumps(
                {
                    "release": release,
                    "argv": generic,
                    "runs": [asdict(s) for s in summaries],
                    "counts": tally(summaries),
                },
                indent=1,
            )
        )
    return summaries
