"""``delete-kept``: delete the clusters ``--keep-clusters`` left, once their run is over."""

from __future__ import annotations

import argparse

from kconformance.commands.machine import find_kind, registry
from kconformance.registry import pid_alive


def register(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = subparsers.add_parser("delete-kept", help="delete clusters kept by --keep-clusters")
    parser.add_argument("--kind-bin", default=None)
    return parser


def run(args: argparse.Namespace) -> int:
    machine_registry = registry()
    kept = [r for r in machine_registry.records() if r.keep and not pid_alive(r.owner_pid)]
    if not kept:
        return 0
    kind = find_kind(args.kind_bin)
    existing = set(kind.clusters())
    for record in kept:
        if record.name in existing:
            kind.delete(record.name)
        machine_registry.remove(record.name)
        print(f"deleted {record.name}")
    return 0
