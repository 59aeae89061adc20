"""``sweep``: delete what dead runs left, their clusters (never kept ones) and their run
directories; safe while other runs go on."""

from __future__ import annotations

import argparse
import sys

from kconformance.artifacts import cache_dir
from kconformance.commands.machine import find_kind, registry
from kconformance.kind import KindCLI
from kconformance.pool import sweep_dead_runs
from kconformance.runtime import sweep_run_dirs


def register(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "sweep",
        help="delete the clusters of runs whose process is gone (never kept ones) and their "
        "run directories; safe while other runs go on",
    )
    parser.add_argument("--kind-bin", default=None)
    return parser


class _Kind:
    """The pool's driver interface, with kind found only when a cluster is there."""

    def __init__(self, kind_bin: str | None) -> None:
        self._kind_bin = kind_bin
        self._cli: KindCLI | None = None

    def cli(self) -> KindCLI:
        if self._cli is None:
            self._cli = find_kind(self._kind_bin)
        return self._cli

    def existing(self) -> set[str]:
        return set(self.cli().clusters())

    def delete(self, name: str) -> None:
        self.cli().delete(name)


def run(args: argparse.Namespace) -> int:
    """Exit 1 when a ``kind delete`` failed."""
    removed, failed = sweep_dead_runs(
        registry(), _Kind(args.kind_bin), lambda event: print(event.line())
    )
    for name in removed:
        print(f"kconformance: swept cluster {name}")
    for folder in sweep_run_dirs(cache_dir() / "runs"):
        print(f"kconformance: removed run directory {folder}")
    if failed:
        print(
            f"kconformance: {len(failed)} cluster(s) could not be deleted: {', '.join(failed)}",
            file=sys.stderr,
        )
        return 1
    return 0
