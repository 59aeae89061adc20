"""``merge-reports``: merge shards' reports into one feature x release matrix."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from kconformance.merge import find_reports, markdown, merge


def register(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "merge-reports", help="merge shards' reports into one feature x release matrix"
    )
    parser.add_argument("paths", nargs="+", type=Path, help="report files or folders")
    parser.add_argument("--json", type=Path, default=None, help="also write the merged JSON")
    return parser


def run(args: argparse.Namespace) -> int:
    """Print the merged matrix as Markdown (CI appends it to $GITHUB_STEP_SUMMARY); exit 1
    when any feature failed on any release, so the summary job shows red too."""
    merged = merge(find_reports(args.paths))
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(merged, indent=2))
    print(markdown(merged), end="")
    failed = any(
        c["verdict"] == "failed" for r in merged["features"] for c in r["releases"].values()
    )
    return 1 if failed else 0
