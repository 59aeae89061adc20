"""Command line: ``python -m kconformance COMMAND``, one module per command in
``kconformance/commands/`` (its ``register`` adds the sub-command, its ``run`` does it).

A ``KconformanceError`` from any command is one line on stderr and exit code 2.
"""

from __future__ import annotations

import argparse
import sys

from kconformance.commands import (
    clusters,
    crosscheck,
    delete_kept,
    matrix,
    merge_reports,
    render_configs,
    schema,
    stress,
    sweep,
    validate,
    verify_catalog,
)
from kconformance.errors import KconformanceError

COMMANDS = (
    render_configs,
    clusters,
    delete_kept,
    sweep,
    crosscheck,
    merge_reports,
    validate,
    verify_catalog,
    schema,
    matrix,
    stress,
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="kconformance")
    subparsers = parser.add_subparsers(dest="command", required=True)
    for command in COMMANDS:
        command.register(subparsers).set_defaults(run=command.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except KconformanceError as exc:
        print(f"kconformance: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
