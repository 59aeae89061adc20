"""``stress``: every suite N times on one release, tallied into per-test pass/fail counts."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from kconformance import stress
from kconformance.catalog import default_catalog, normalize_release
from kconformance.commands.tee import tee
from kconformance.errors import KconformanceError


def register(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "stress", help="every suite N times on one release: per-test pass/fail counts"
    )
    parser.add_argument("--k8s-version", required=True, help="one release, e.g. 1.28")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("-n", "--workers", default="4", help="pytest-xdist workers")
    parser.add_argument("--out", default=None, help="default: artifacts/stress-<release>")
    parser.add_argument(
        "pytest_args", nargs="*", help="more pytest arguments after --, e.g. -- --prove"
    )
    return parser


def run(args: argparse.Namespace) -> int:
    """The suite ``--runs`` times on one release; exit 1 when any run was not green."""
    release = normalize_release(args.k8s_version)
    default_catalog().release(release)
    if args.runs < 1:
        raise KconformanceError(f"--runs {args.runs}: give at least one run")
    out = Path(args.out or f"artifacts/stress-{release}")
    runs = stress.stress(
        release,
        args.runs,
        args.workers,
        out,
        args.pytest_args,
        runner=lambda argv, log: tee([sys.executable, "-m", *argv], log),
    )
    print(f"stress results in {out / 'STRESS.md'}")
    return 0 if all(r.exit_code == 0 for r in runs) else 1
