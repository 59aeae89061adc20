"""The feature x release report written after every run, and the timing summary.

One row per catalog feature: KEP, SIG, gates, and for each release of the run a verdict that
cannot overstate: ``passed`` only when every test of the feature passed and at least one of them
showed behaviour (a feature whose passing tests only read back the profile's configuration is
``configured``), ``partial`` when some were skipped, else ``failed`` / ``skipped`` (with the
reason) / ``not run`` / ``not testable`` (catalog reason). The feature-off proof (``--prove``) is
a column of its own: ``proved`` when every feature-off run failed as it must. Markdown for
people, JSON for dashboards; JUnit stays pytest's own.
"""

from __future__ import annotations

import json
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from kconformance.catalog import Catalog
from kconformance.grid.markdown import MarkdownStyle, Notes, notes, table
from kconformance.grid.model import from_report
from kconformance.pool import Event


@dataclass
class TestResult:
    nodeid: str
    outcome: str  # passed | failed | skipped | error
    duration: float
    feature: str | None
    sig: str | None
    release: str | None
    profile: str | None
    reason: str = ""
    start: float | None = None
    stop: float | None = None
    mode: str = "verify"  # verify | proof (the feature-off run of --prove)
    evidence: str = "behaviour"  # behaviour | readback (reads back the profile's settings)
    # proof runs: proved | gated at API | configured | no evidence | not proved | error
    proof: str | None = None
    proof_reason: str = ""  # the exception (or the pass) that decided ``proof``
    cluster_wait: float = 0.0  # of ``duration``: seconds spent waiting for the cluster


def _failure_line(report: Any) -> str:
    """What failed, in one line (the matrix and the report explain failed cells with it)."""
    crash = getattr(getattr(report, "longrepr", None), "reprcrash", None)
    message = str(getattr(crash, "message", "") or "").strip()
    first = message.splitlines()[0] if message else ""
    prefix = "" if report.when == "call" else f"{report.when} failed: "
    return (prefix + first)[:300] or f"{report.when} failed"


@dataclass
class ReportCollector:
    catalog: Catalog
    results: dict[str, TestResult] = field(default_factory=dict)
    cluster_events: list[Event] = field(default_factory=list)
    undeleted: list[str] = field(default_factory=list)  # clusters `kind delete` left behind

    @property
    def has_results(self) -> bool:
        return any(r.feature for r in self.results.values())

    def add(self, report: Any) -> None:
        props = dict(report.user_properties)
        result = self.results.get(report.nodeid)
        if result is None:
            result = TestResult(
                nodeid=report.nodeid,
                outcome="passed",
                duration=0.0,
                feature=props.get("feature"),
                sig=props.get("sig"),
                release=props.get("release"),
                profile=props.get("profile"),
                mode=props.get("mode", "verify"),
                evidence=props.get("evidence", "behaviour"),
            )
            self.results[report.nodeid] = result
        report_props = dict(getattr(report, "user_properties", ()))
        if "proof" in report_props:
            result.proof = report_props["proof"]
            result.proof_reason = str(report_props.get("proof_reason", ""))
        if "cluster_wait" in report_props:
            result.cluster_wait = float(report_props["cluster_wait"])
        result.duration += float(getattr(report, "duration", 0.0) or 0.0)
        start, stop = getattr(report, "start", None), getattr(report, "stop", None)
        if start is not None:
            result.start = start if result.start is None else min(result.start, start)
        if stop is not None:
            result.stop = stop if result.stop is None else max(result.stop, stop)
        if report.skipped:
            result.outcome = "skipped"
            longrepr = report.longrepr
            if isinstance(longrepr, tuple) and len(longrepr) == 3:
                result.reason = str(longrepr[2]).removeprefix("Skipped: ")
        elif report.failed:
            result.outcome = "failed" if report.when == "call" else "error"
            if result.reason == "":
                result.reason = _failure_line(report)

    def add_cluster_events(self, events: list[Event]) -> None:
        self.cluster_events.extend(events)

    # -- report -----------------------------------------------------------------------------
    def rows(self, releases: list[str]) -> list[dict[str, Any]]:
        by_feature: dict[str, list[TestResult]] = defaultdict(list)
        for result in self.results.values():
            if result.feature:
                by_feature[result.feature].append(result)
        rows = []
        for feature in self.catalog.features.values():
            cells = {}
            not_testable = feature.not_testable
            for release in releases:
                tests = [r for r in by_feature.get(feature.name, []) if r.release == release]
                cell = _cell([t for t in tests if t.mode == "verify"])
                if not tests and not_testable:
                    cell = {"verdict": "not testable", "reasons": [str(not_testable)]}
                cell["proof"] = _proof_cell([t for t in tests if t.mode == "proof"])
                cells[release] = cell
            rows.append(
                {
                    "feature": feature.name,
                    "kep": feature.kep,
                    "pr": feature.pr,
                    "reference": feature.reference,
                    "sig": feature.sig,
                    "gates": list(feature.gates),
                    "title": feature.title,
                    "releases": cells,
                }
            )
        return rows

    def proof_lines(self) -> list[str]:
        """The proof's summary: a count per outcome, then every run that did not prove its
        feature, with the reason."""
        runs = [r for r in self.results.values() if r.mode == "proof"]
        ran = [r for r in runs if r.outcome != "skipped"]
        counts = _proof_counts(ran)
        proved = counts.get("proved", 0)
        lines = [
            f"{proved} of {len(ran)} feature-off runs proved their feature "
            f"({len(runs) - len(ran)} could not run with the feature off)",
            "outcomes: " + (", ".join(f"{n} {k}" for k, n in counts.items()) or "none"),
        ]
        for result in sorted(ran, key=lambda r: (r.proof or "", r.nodeid)):
            if result.proof != "proved":
                what = (result.proof or result.outcome).upper()
                lines.append(f"{what} {result.feature}: {result.nodeid}: {result.proof_reason}")
        return lines

    def write(self, folder: Path, releases: list[str]) -> list[Path]:
        folder.mkdir(parents=True, exist_ok=True)
        rows = self.rows(releases)
        payload = {
            "generated": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "releases": releases,
            "features": rows,
            "tests": [asdict(r) for r in self.results.values()],
            "clusters": [asdict(e) for e in self.cluster_events],
            "undeleted_clusters": self.undeleted,
        }
        json_path = folder / "kconformance-report.json"
        json_path.write_text(json.dumps(payload, indent=2))
        md_path = folder / "kconformance-report.md"
        md_path.write_text(_markdown(rows, releases, payload["generated"], self.undeleted))
        return [md_path, json_path]

    # -- timings ----------------------------------------------------------------------------
    def timing_lines(self) -> list[str]:
        lines = []
        for event in self.cluster_events:
            if event.seconds is not None and event.event in ("ready", "deleted", "failed"):
                verb = {"ready": "created", "deleted": "deleted", "failed": "failed after"}[
                    event.event
                ]
                lines.append(
                    f"cluster {event.name} [{event.profile}] {verb} in {event.seconds:.1f}s"
                )
        per_sig: dict[str, list[TestResult]] = defaultdict(list)
        for result in self.results.values():
            per_sig[result.sig or "framework (no SIG)"].append(result)
        for sig, results in sorted(per_sig.items()):
            starts = [r.start for r in results if r.start is not None]
            stops = [r.stop for r in results if r.stop is not None]
            wall = (max(stops) - min(starts)) if starts and stops else 0.0
            total = sum(r.duration for r in results)
            counts = defaultdict(int)
            for r in results:
                counts[r.outcome] += 1
            summary = ", ".join(f"{n} {k}" for k, n in sorted(counts.items()))
            lines.append(f"suite {sig}: wall {wall:.1f}s, test time {total:.1f}s ({summary})")
        return lines


def _cell(tests: list[TestResult]) -> dict[str, Any]:
    if not tests:
        return {"verdict": "not run"}
    outcomes = {t.outcome for t in tests}
    behaviour_passed = any(t.outcome == "passed" and t.evidence == "behaviour" for t in tests)
    if outcomes & {"failed", "error"}:
        verdict = "failed"
    elif "passed" not in outcomes:
        verdict = "skipped"
    elif not behaviour_passed:
        verdict = "configured"
    elif "skipped" in outcomes:
        verdict = "partial"
    else:
        verdict = "passed"
    reasons = sorted({t.reason for t in tests if t.outcome == "skipped" and t.reason})
    return {
        # every failed test of the cell, with its first line: what the cell's "failed" means
        "failures": [
            {"test": t.nodeid, "reason": t.reason or t.outcome}
            for t in sorted(tests, key=lambda t: t.nodeid)
            if t.outcome in ("failed", "error")
        ],
        "verdict": verdict,
        "passed": sum(t.outcome == "passed" for t in tests),
        "failed": sum(t.outcome in ("failed", "error") for t in tests),
        "skipped": sum(t.outcome == "skipped" for t in tests),
        "reasons": reasons,
        "profiles": sorted({t.profile for t in tests if t.profile}),
        "seconds": round(sum(t.duration for t in tests), 1),
    }


_PROOF_ORDER = ("proved", "gated at API", "configured", "no evidence", "not proved", "error")


def _proof_counts(runs: list[TestResult]) -> dict[str, int]:
    """Outcome -> number of feature-off runs, in a fixed order."""
    counts = {k: sum(r.proof == k for r in runs) for k in _PROOF_ORDER}
    return {k: n for k, n in counts.items() if n}


def _proof_cell(runs: list[TestResult]) -> dict[str, Any]:
    """The feature-off proof of one feature on one release: ``proved`` when at least one run
    failed on the behaviour and none passed or gave no evidence."""
    if not runs:
        return {"verdict": "not run"}
    ran = [r for r in runs if r.outcome != "skipped"]
    if not ran:
        reasons = sorted({r.reason for r in runs if r.reason})
        return {"verdict": "cannot be switched off", "reasons": reasons}
    counts = _proof_counts(ran)
    if counts.get("not proved"):
        verdict = "not proved"
    elif counts.get("no evidence") or counts.get("error"):
        verdict = "no evidence"
    elif counts.get("proved"):
        verdict = "proved"
    elif counts.get("gated at API"):
        verdict = "gated at API"
    else:
        verdict = "configured"
    return {
        "verdict": verdict,
        "proved": counts.get("proved", 0),
        "ran": len(ran),
        "outcomes": counts,
        "not_proved": sorted(r.nodeid for r in ran if r.proof != "proved"),
        "why": {r.nodeid: f"{r.proof}: {r.proof_reason}" for r in ran if r.proof != "proved"},
        "profiles": sorted({r.profile for r in ran if r.profile}),
    }


# The run's own record: everything the grid has, the proof in a column of its own.
REPORT_STYLE = MarkdownStyle(
    columns=("sig", "gates"),
    proof_column=True,
    seconds=True,
    profiles=True,
    failure_note="- {feature} on {release}: FAILED {test}: {reason}",
    reason_note="- {feature} on {release} ({verdict}): {reason}",
    notes=(Notes("## Reasons", ("failure", "reason", "proof")),),
)


def _markdown(
    rows: list[dict[str, Any]], releases: list[str], generated: str, undeleted: Sequence[str] = ()
) -> str:
    grid = from_report(releases, rows)
    lines = [f"# kconformance report ({generated})", ""]
    lines += table(grid, REPORT_STYLE) + notes(grid, REPORT_STYLE)
    if undeleted:
        lines += ["", "## Clusters not deleted", ""]
        lines += [
            f"- {name}: `kind delete` failed; `python -m kconformance sweep` retries"
            for name in undeleted
        ]
    return "\n".join(lines) + "\n"
