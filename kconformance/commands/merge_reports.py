"""``merge-reports``: merge shards' reports into one feature x release matrix."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from kconformance.errors import KconformanceError
from kconformance.merge import expected_shards, find_reports, find_shards, markdown, merge


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
    print(markdown(merged), end="")
    failed = any(
        c["verdict"] == "failed" for r in merged["features"] for c in r["releases"].values()
    )
    return 1 if failed or any(not s.has_report for s in shards) else 0
