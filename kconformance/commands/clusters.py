"""``clusters``: list the clusters this tool created on this machine, with their owner's state."""

from __future__ import annotations

import argparse

from kconformance.commands.machine import registry
from kconformance.registry import pid_alive


def register(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    return subparsers.add_parser(
        "clusters", help="list the clusters this tool created on this machine"
    )


def run(args: argparse.Namespace) -> int:
    for record in registry().records():
        owner = "running" if pid_alive(record.owner_pid) else "owner gone"
        kept = "kept" if record.keep else "not kept"
        print(f"{record.name}\t{record.profile_key}\t{record.state}\t{kept}\t{owner}")
    return 0
