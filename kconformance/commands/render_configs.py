"""``render-configs [--check]``: write kind-configs/<release>-<profile>.yaml (and the node files
they mount) from the catalog, for every release that has a node image; ``--check`` only reports
drift, which is what CI and the unit tests use."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from pathlib import Path

from kconformance.catalog import Catalog, default_catalog
from kconformance.kindconfig import config_filename, files_dirname, render, rendered_node_files
from kconformance.profilechecks import validate_profile
from kconformance.profiles import Profile, resolve_profile


def register(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = subparsers.add_parser("render-configs", help="write kind-configs/ from the catalog")
    parser.add_argument("--dir", default="kind-configs")
    parser.add_argument("--check", action="store_true", help="fail if files differ")
    return parser


def run(args: argparse.Namespace) -> int:
    return _render(Path(args.dir), args.check)


def _rendered_profiles(catalog: Catalog) -> Iterator[Profile]:
    """Every profile of the catalog, resolved for every release that has a node image."""
    for release in catalog.release_names:
        if not catalog.releases[release].node_image:
            continue
        for name in sorted(catalog.profiles):
            yield resolve_profile(catalog, name, release)


def rendered_configs() -> dict[str, str]:
    catalog = default_catalog()
    out = {}
    for profile in _rendered_profiles(catalog):
        validate_profile(catalog, profile)
        out[config_filename(profile)] = render(profile)
    return out


def rendered_files() -> dict[str, str]:
    """The node files the rendered configs mount, as '<release>-<profile>.files/<name>'."""
    out = {}
    for profile in _rendered_profiles(default_catalog()):
        for file_name, text in rendered_node_files(profile).items():
            out[f"{files_dirname(profile)}/{file_name}"] = text
    return out


def _render(folder: Path, check: bool) -> int:
    configs = {**rendered_configs(), **rendered_files()}
    drift = []
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in configs.items():
        path = folder / name
        if not path.exists() or path.read_text() != text:
            drift.append(name)
            if not check:
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(text)
    on_disk = [*folder.glob("*.yaml"), *folder.glob("*.files/*")]
    stale = sorted(
        str(p.relative_to(folder)) for p in on_disk if str(p.relative_to(folder)) not in configs
    )
    for name in stale:
        drift.append(f"{name} (no longer in the catalog)")
        if not check:
            (folder / name).unlink()
    if check and drift:
        print("kind configs differ from the catalog: " + ", ".join(drift), file=sys.stderr)
        print("run: python -m kconformance render-configs", file=sys.stderr)
        return 1
    for name in drift:
        print(f"wrote {folder / name}" if "(no longer" not in name else f"removed {name}")
    return 0
