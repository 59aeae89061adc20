"""``sweep``: delete what dead runs left, their clusters (never kept ones) and their run
directories; safe while other runs go on."""

from __future__ import annotations

import argparse

from kconformance.artifacts import cache_dir
from kconformance.commands.machine import LazyKind, exit_status, print_event, registry
from kconformance.runtime import sweep_run_dirs
from kconformance.teardown import sweep_dead_runs


def register(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "sweep",
        help="delete the clusters of runs whose process is gone (never kept ones) and their "
        "run directories; safe while other runs go on",
    )
    parser.add_argument("--kind-bin", default=None)
    return parser


def run(args: argparse.Namespace) -> int:
    """Exit 1 when a ``kind delete`` failed."""
    removed, failed = sweep_dead_runs(registry(), LazyKind(args.kind_bin), print_event)
    for name in removed:
        print(f"kconformance: swept cluster {name}")
    for folder in sweep_run_dirs(cache_dir() / "runs"):
        print(f"kconformance: removed run directory {folder}")
    return exit_status(failed)
