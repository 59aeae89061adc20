"""``verify-catalog``: compare the catalog's gate stages with each built release's own
binaries."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from kconformance.artifacts import cache_dir
from kconformance.catalog import default_catalog, load_catalog, normalize_release
from kconformance.gatetable import Recorder, find_binaries, verify_release


def register(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "verify-catalog", help="compare the catalog's gate stages with the built binaries"
    )
    parser.add_argument("--k8s-version", required=True, help="releases, e.g. 1.28,1.36")
    parser.add_argument(
        "--components", default="kube-apiserver,kubelet", help="binaries to ask (comma-separated)"
    )
    parser.add_argument("--catalog", default=None, help="another catalog file")
    parser.add_argument(
        "--record", default=None, help="also write the binaries' outputs to DIR/<release>.json"
    )
    return parser


def run(args: argparse.Namespace) -> int:
    """Print one line per catalog cell a release's binaries contradict; exit 1 if any."""
    catalog = load_catalog(Path(args.catalog)) if args.catalog else default_catalog()
    releases = [normalize_release(r) for r in args.k8s_version.split(",") if r.strip()]
    for release in releases:
        catalog.release(release)  # unknown release: one line, before any binary runs
    components = [c.strip() for c in args.components.split(",") if c.strip()]
    failed = 0
    for release in releases:
        start = time.monotonic()
        binaries = find_binaries(catalog, release, cache_dir(), components)
        recorder = Recorder({path: c for c, path in binaries.paths.items()})
        lines = verify_release(catalog, binaries, recorder)
        if args.record and binaries.paths:
            folder = Path(args.record)
            folder.mkdir(parents=True, exist_ok=True)
            fixture = {"release": release, "version": binaries.version, "outputs": recorder.outputs}
            (folder / f"{release}.json").write_text(json.dumps(fixture, indent=1, sort_keys=True))
        for line in lines:
            print(line)
        failed += len(lines)
        asked = ", ".join(sorted(binaries.paths)) or "none"
        print(
            f"[verify-catalog] {release} ({binaries.version or 'not built'}; {asked}): "
            f"{len(catalog.gates)} gates, {len(lines)} mismatches, "
            f"{time.monotonic() - start:.1f}s",
            file=sys.stderr,
        )
    return 1 if failed else 0
