"""``delete-kept``: delete the clusters ``--keep-clusters`` left, once their run is over."""

from __future__ import annotations

import argparse

from kconformance.commands.machine import LazyKind, exit_status, print_event, registry
from kconformance.deletion import delete_registered
from kconformance.registry import pid_alive


def register(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = subparsers.add_parser("delete-kept", help="delete clusters kept by --keep-clusters")
    parser.add_argument("--kind-bin", default=None)
    return parser


def run(args: argparse.Namespace) -> int:
    """Exit 1 when a ``kind delete`` failed."""
    machine_registry = registry()
    kept = [r for r in machine_registry.records() if r.keep and not pid_alive(r.owner_pid)]
    kind = LazyKind(args.kind_bin)
    failed = delete_registered(machine_registry, kind, kept, print_event, "kept by --keep-clusters")
    return exit_status(failed)
