"""``schema [--check]``: print the catalog's JSON Schema, generated from the catalog's models, for
an editor (``> my-catalog.schema.json``) or to refresh the shipped copy; ``--check`` only compares
it with the shipped kconformance/data/catalog.schema.json and fails when that is stale, which is
what lint (tox -e lint, .ci/run) uses."""

from __future__ import annotations

import argparse
import sys

from kconformance.catalogschema import SCHEMA_FILE, schema_text, shipped_schema_text


def register(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "schema", help="print the catalog's JSON Schema (editors use it to check a catalog)"
    )
    parser.add_argument(
        "--check", action="store_true", help=f"fail if the shipped {SCHEMA_FILE} is stale"
    )
    return parser


def run(args: argparse.Namespace) -> int:
    text = schema_text()
    if not args.check:
        sys.stdout.write(text)
        return 0
    if shipped_schema_text() == text:
        return 0
    print(
        f"kconformance/{SCHEMA_FILE} differs from what the catalog's models generate; "
        f"run: python -m kconformance schema > kconformance/{SCHEMA_FILE}",
        file=sys.stderr,
    )
    return 1
