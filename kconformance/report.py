"""The feature x release report written after every run, and the timing summary.

One row per catalog feature: KEP, SIG, gates, and for each release of the run whether its tests
passed, failed, were skipped (with the reason) or did not run, plus the profile and the time its
tests took. Markdown for people, JSON for dashboards; JUnit stays pytest's own.
"""

from __future__ import annotations

import json
import time
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from kconformance.catalog import Catalog
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


@dataclass
class ReportCollector:
    catalog: Catalog
    results: dict[str, TestResult] = field(default_factory=dict)
    cluster_events: list[Event] = field(default_factory=list)

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
            )
            self.results[report.nodeid] = result
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
            if result.outcome == "error" and result.reason == "":
                result.reason = f"{report.when} failed"

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
            for release in releases:
                tests = [r for r in by_feature.get(feature.name, []) if r.release == release]
                cells[release] = _cell(tests)
            rows.append(
                {
                    "feature": feature.name,
                    "kep": feature.kep,
                    "sig": feature.sig,
                    "gates": list(feature.gates),
                    "title": feature.title,
                    "releases": cells,
                }
            )
        return rows

    def write(self, folder: Path, releases: list[str]) -> list[Path]:
        folder.mkdir(parents=True, exist_ok=True)
        rows = self.rows(releases)
        payload = {
            "generated": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "releases": releases,
            "features": rows,
            "tests": [asdict(r) for r in self.results.values()],
            "clusters": [asdict(e) for e in self.cluster_events],
        }
        json_path = folder / "kconformance-report.json"
        json_path.write_text(json.dumps(payload, indent=2))
        md_path = folder / "kconformance-report.md"
        md_path.write_text(_markdown(rows, releases, payload["generated"]))
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
    if outcomes & {"failed", "error"}:
        verdict = "failed"
    elif "passed" in outcomes:
        verdict = "passed"
    else:
        verdict = "skipped"
    reasons = sorted({t.reason for t in tests if t.outcome == "skipped" and t.reason})
    return {
        "verdict": verdict,
        "passed": sum(t.outcome == "passed" for t in tests),
        "failed": sum(t.outcome in ("failed", "error") for t in tests),
        "skipped": sum(t.outcome == "skipped" for t in tests),
        "reasons": reasons,
        "profiles": sorted({t.profile for t in tests if t.profile}),
        "seconds": round(sum(t.duration for t in tests), 1),
    }


def _markdown(rows: list[dict[str, Any]], releases: list[str], generated: str) -> str:
    head = "| Feature | KEP | SIG | Gates | " + " | ".join(releases) + " |"
    sep = "|---|---|---|---|" + "---|" * len(releases)
    lines = [f"# kconformance report ({generated})", "", head, sep]
    notes = []
    for row in rows:
        cells = []
        for release in releases:
            cell = row["releases"][release]
            text = cell["verdict"]
            if cell["verdict"] != "not run":
                text += f" ({cell['passed']}/{cell['passed'] + cell['failed'] + cell['skipped']}, "
                text += f"{cell['seconds']}s, {'/'.join(cell['profiles'])})"
            for reason in cell.get("reasons", []):
                notes.append(f"- {row['feature']} on {release}: {reason}")
            cells.append(text)
        gates = ", ".join(row["gates"]) or "none"
        lines.append(
            f"| {row['feature']} | {row['kep']} | {row['sig']} | {gates} | "
            + " | ".join(cells)
            + " |"
        )
    if notes:
        lines += ["", "## Skip reasons", ""] + notes
    return "\n".join(lines) + "\n"
