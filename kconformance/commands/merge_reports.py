"""``merge-reports``: merge shards' reports into one feature x release matrix."""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime
from pathlib import Path

from kconformance.errors import KconformanceError
from kconformance.grid.history import add_night, section
from kconformance.grid.html import page
from kconformance.merge import (
    expected_shards,
    find_reports,
    find_shards,
    markdown,
    merge,
    summary_grid,
)


def register(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "merge-reports", help="merge shards' reports into one feature x release matrix"
    )
    parser.add_argument("paths", nargs="+", type=Path, help="report files or folders")
    parser.add_argument("--json", type=Path, default=None, help="also write the merged JSON")
    parser.add_argument(
        "--expect-sigs",
        default="",
        help="comma-separated SIGs CI ran on every --expect-releases release: a shard of them "
        "without a report is a missing (red) cell, with the reason its shard.json gives",
    )
    parser.add_argument("--expect-releases", default="", help="comma-separated releases")
    parser.add_argument(
        "--html", type=Path, default=None, help="also write the matrix as one self-contained page"
    )
    parser.add_argument(
        "--history",
        type=Path,
        default=None,
        help="a JSON file of earlier nights' verdicts: tonight's are added to it, and --html "
        "shows the nights feature x night",
    )
    parser.add_argument(
        "--night", default=None, help="the history's key for this run (default: today, UTC)"
    )
    return parser


def _split(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def run(args: argparse.Namespace) -> int:
    """Print the merged matrix as Markdown (CI appends it to $GITHUB_STEP_SUMMARY); exit 1
    when any feature failed on any release or an expected shard left no report, so the summary
    job shows red too."""
    sigs, releases = _split(args.expect_sigs), _split(args.expect_releases)
    if bool(sigs) != bool(releases):
        raise KconformanceError("merge-reports: give --expect-sigs and --expect-releases together")
    shards = expected_shards(find_shards(args.paths), sigs, releases) if sigs else []
    merged = merge(find_reports(args.paths, required=not shards), shards)
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(merged, indent=2))
    if args.html is not None or args.history is not None:
        _write_page(merged, args.html, args.history, args.night)
    print(markdown(merged), end="")
    failed = any(
        c["verdict"] == "failed" for r in merged["features"] for c in r["releases"].values()
    )
    return 1 if failed or any(not s.has_report for s in shards) else 0


def _write_page(
    merged: dict, page_path: Path | None, history_path: Path | None, night: str | None
) -> None:
    """The HTML page, with the history below the grid; the history file updated in place."""
    grid = summary_grid(merged, shard_notes=True)
    after: list[str] = []
    if history_path is not None:
        earlier = json.loads(history_path.read_text()) if history_path.is_file() else None
        tonight = night or datetime.now(UTC).strftime("%Y-%m-%d")
        history = add_night(earlier, tonight, grid)
        history_path.parent.mkdir(parents=True, exist_ok=True)
        history_path.write_text(json.dumps(history, indent=1) + "\n")
        after.append(section(history))
    if page_path is not None:
        page_path.parent.mkdir(parents=True, exist_ok=True)
        intro = [f"Merged from {len(merged['sources'])} reports."]
        page_path.write_text(page(grid, "kconformance: feature x release", intro, after))
