"""``validate``: resolve a profile with extra gates for a release and check it, without a
cluster."""

from __future__ import annotations

import argparse

from kconformance.catalog import default_catalog, normalize_release
from kconformance.profilechecks import validate_profile
from kconformance.profiles import parse_gate_list, resolve_profile


def register(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = subparsers.add_parser("validate", help="validate a profile with extra gates")
    parser.add_argument("--k8s-version", required=True)
    parser.add_argument("--profile", default="gates")
    parser.add_argument("--feature-gates", default="")
    return parser


def run(args: argparse.Namespace) -> int:
    catalog = default_catalog()
    profile = resolve_profile(
        catalog,
        args.profile,
        normalize_release(args.k8s_version),
        parse_gate_list(args.feature_gates),
    )
    validate_profile(catalog, profile)
    print(f"profile {profile.key} is valid (hash {profile.hash})")
    return 0
