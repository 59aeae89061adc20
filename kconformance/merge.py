"""Merge the feature reports of several runs (CI shards: one SIG on one release each) into one
feature x release matrix, for the nightly job summary.

Each shard's ``kconformance-report.json`` lists every catalog feature, "not run" where the shard
did not cover it; merged, a cell is failed if any shard failed it, else passed if any passed,
else skipped, with test counts, seconds, profiles, skip reasons and failed tests (id and first
line of the failure) added up.

CI names the shards it expects (``--expect-sigs``, ``--expect-releases``), and each shard leaves a
``shard.json`` next to its report (``{"sig", "release", "notes": [...]}``: what it built, how
pytest ended). A shard with no report - a job that failed, was cancelled or timed out before
writing one - turns the not-run cells of its SIG on its release into ``missing``, a red cell
whose reason is the shard's notes, so no shard silently drops out of the matrix.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from kconformance.catalog import release_key
from kconformance.errors import KconformanceError
from kconformance.grid.markdown import MarkdownStyle, Notes, notes, table
from kconformance.grid.model import Grid, from_report

REPORT_NAME = "kconformance-report.json"
SHARD_NAME = "shard.json"
# Which shard's verdict a merged cell keeps: the one that says most (report.py's verdicts).
_RANK = {
    "not run": 0,
    "not testable": 1,
    "skipped": 2,
    "configured": 3,
    "passed": 4,
    "partial": 5,
    "failed": 6,
    "missing": 7,
}


def find_reports(paths: Iterable[Path], *, required: bool = True) -> list[Path]:
    """The report files among ``paths`` (files, or folders searched recursively).

    Raises:
        KconformanceError: a path does not exist, or (``required``) no report was found.
    """
    found: list[Path] = []
    for path in paths:
        if path.is_file():
            found.append(path)
        elif path.is_dir():
            found += sorted(path.rglob(REPORT_NAME))
        else:
            raise KconformanceError(f"merge-reports: {path}: no such file or directory")
    if not found and required:
        raise KconformanceError(
            f"merge-reports: no {REPORT_NAME} under {', '.join(map(str, paths))}: "
            "pass the folders the shards' reports were downloaded to"
        )
    return found


@dataclass(frozen=True)
class Shard:
    """One CI shard as it reported itself (``shard.json``) or, if it did not, as expected."""

    sig: str
    release: str
    notes: tuple[str, ...] = ()
    has_report: bool = False


def find_shards(paths: Iterable[Path]) -> dict[tuple[str, str], Shard]:
    """Each ``shard.json`` under ``paths``, by (sig, release); its report is any report in the
    same folder or below (the shard's artifact)."""
    shards: dict[tuple[str, str], Shard] = {}
    for path in paths:
        for record in sorted(path.rglob(SHARD_NAME)) if path.is_dir() else []:
            try:
                data = json.loads(record.read_text())
                key = (str(data["sig"]), str(data["release"]))
                notes = tuple(str(n) for n in data.get("notes", []) if str(n).strip())
            except (OSError, ValueError, KeyError, TypeError) as exc:
                raise KconformanceError(
                    f"merge-reports: {record}: not a shard record ({exc})"
                ) from None
            has_report = next(record.parent.rglob(REPORT_NAME), None) is not None
            shards[key] = Shard(key[0], key[1], notes, has_report)
    return shards


def expected_shards(
    found: dict[tuple[str, str], Shard], sigs: Iterable[str], releases: Iterable[str]
) -> list[Shard]:
    """Every expected shard (each SIG on each release), then any other shard found; one that
    left no record or no report says so first in its notes."""
    expected = [(sig, release) for release in releases for sig in sigs]
    shards = []
    for key in expected + sorted(set(found) - set(expected)):
        shard = found.get(key)
        if shard is None:
            why = "no artifact: the job was cancelled, timed out or failed before its upload"
            shards.append(Shard(key[0], key[1], (why,)))
        elif not shard.has_report:
            shards.append(replace(shard, notes=("no report", *shard.notes)))
        else:
            shards.append(shard)
    return shards


_PROOF_RANK = {
    "not run": 0,
    "cannot be switched off": 1,
    "configured": 2,
    "gated at API": 3,
    "proved": 4,
    "no evidence": 5,
    "not proved": 6,
}


def _merge_cell(into: dict[str, Any], cell: dict[str, Any]) -> dict[str, Any]:
    if _RANK.get(cell.get("verdict", "not run"), 0) > _RANK.get(into.get("verdict", "not run"), 0):
        verdict = cell["verdict"]
    else:
        verdict = into.get("verdict", "not run")
    if {verdict, into.get("verdict"), cell.get("verdict")} >= {"passed", "skipped"}:
        verdict = "partial"  # one shard's tests passed, another's were skipped
    merged: dict[str, Any] = {"verdict": verdict}
    proofs = [c["proof"] for c in (into, cell) if c.get("proof")]
    if proofs:  # the proof a shard ran; "not proved" wins over "proved"
        merged["proof"] = max(proofs, key=lambda p: _PROOF_RANK.get(p.get("verdict", ""), 0))
    if verdict in ("not run", "not testable"):
        merged["reasons"] = sorted(set(into.get("reasons", [])) | set(cell.get("reasons", [])))
        return merged
    for key in ("passed", "failed", "skipped"):
        merged[key] = int(into.get(key, 0)) + int(cell.get(key, 0))
    merged["seconds"] = round(float(into.get("seconds", 0)) + float(cell.get("seconds", 0)), 1)
    for key in ("reasons", "profiles"):
        merged[key] = sorted(set(into.get(key, [])) | set(cell.get(key, [])))
    failures = {(f["test"], f["reason"]) for c in (into, cell) for f in c.get("failures", [])}
    merged["failures"] = [{"test": t, "reason": r} for t, r in sorted(failures)]
    return merged


def merge(reports: list[Path], shards: Iterable[Shard] = ()) -> dict[str, Any]:
    """One row per feature, one cell per release; the not-run cells of a shard without a report
    are ``missing``, with the shard's notes as reasons."""
    releases: set[str] = set()
    rows: dict[str, dict[str, Any]] = {}
    for path in reports:
        try:
            data = json.loads(path.read_text())
            features = data["features"]
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise KconformanceError(
                f"merge-reports: {path}: not a kconformance report ({exc})"
            ) from None
        releases.update(data.get("releases", []))
        for row in features:
            merged = rows.setdefault(
                row["feature"],
                {**{k: v for k, v in row.items() if k != "releases"}, "releases": {}},
            )
            for release, cell in row.get("releases", {}).items():
                releases.add(release)
                merged["releases"][release] = _merge_cell(merged["releases"].get(release, {}), cell)
    shards = list(shards)
    missing = [s for s in shards if not s.has_report]
    ordered = sorted(releases | {s.release for s in missing}, key=release_key)
    for row in rows.values():
        for release in ordered:
            row["releases"].setdefault(release, {"verdict": "not run"})
        for shard in missing:
            cell = row["releases"][shard.release]
            if row["sig"] == shard.sig and cell["verdict"] == "not run":
                reasons = [f"shard {shard.sig} on {shard.release}: {n}" for n in shard.notes]
                row["releases"][shard.release] = {"verdict": "missing", "reasons": reasons}
    return {
        "releases": ordered,
        "features": list(rows.values()),
        "sources": [str(p) for p in reports],
        "shards": [
            {"sig": s.sig, "release": s.release, "report": s.has_report, "notes": list(s.notes)}
            for s in shards
        ],
    }


# The nightly's job summary: compact, one column per release, failures and skips listed once.
SUMMARY_STYLE = MarkdownStyle(
    columns=("sig",),
    proof_column=False,
    seconds=True,
    profiles=False,
    not_run="-",
    failure_note="- {feature} on {release}: `{test}`: {reason}",
    reason_note="- {feature} on {release}: {reason}",
    notes=(
        Notes("### Failures", ("failure",), sort=True),
        Notes("### Skip reasons", ("reason", "proof"), sort=True),
    ),
)


def markdown(merged: dict[str, Any]) -> str:
    """The matrix as a GitHub-flavoured table (by SIG, then feature), totals, the shards that
    said something or left no report, then failures and skip reasons."""
    grid = summary_grid(merged)
    totals = grid.verdicts()
    lines = ["## kconformance: feature x release", "", *table(grid, SUMMARY_STYLE), ""]
    lines.append(
        f"{totals['passed']} passed, {totals['failed']} failed, {totals['skipped']} skipped, "
        f"{totals['not run']} not run"
        + (f", {totals['missing']} missing" if totals["missing"] else "")
        + f" (feature x release cells, {len(merged['sources'])} reports)"
    )
    shards = [s for s in merged.get("shards", []) if s["notes"] or not s["report"]]
    if shards:
        lines += ["", "### Shards", ""] + [
            f"- {'' if s['report'] else '**MISSING** '}{s['sig']} on {s['release']}: "
            + "; ".join(s["notes"])
            for s in shards
        ]
    lines += notes(grid, SUMMARY_STYLE)
    return "\n".join(lines) + "\n"


def summary_grid(merged: dict[str, Any], shard_notes: bool = False) -> Grid:
    """The merged rows by SIG, then feature. A missing cell's reasons are its shard's notes:
    the summary lists them once, under Shards; a page gives each cell its own."""
    rows = sorted(merged["features"], key=lambda r: (r["sig"], r["feature"]))
    return from_report(
        merged["releases"], rows if shard_notes else [_without_shard_notes(r) for r in rows]
    )


def _without_shard_notes(row: dict[str, Any]) -> dict[str, Any]:
    """A missing cell's reasons are its shard's notes: listed once, under Shards."""
    cells = row["releases"].items()
    return {
        **row,
        "releases": {
            r: {"verdict": "missing"} if c["verdict"] == "missing" else c for r, c in cells
        },
    }
