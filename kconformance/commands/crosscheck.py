"""``crosscheck``: run our tests of every feature that has an upstream e2e test, keep the
cluster, run upstream's on it, print the comparison, then delete the clusters this run created.

Only clusters of the run ids our pytest run printed are used and deleted: the registry is shared
by every run on the machine (a kept cluster of a finished run may be reused by ours, and is then
left kept, as it was)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from kconformance.artifacts import built_releases, cache_dir
from kconformance.catalog import Catalog, default_catalog, normalize_release
from kconformance.commands.machine import (
    LazyKind,
    dead_run_records,
    exit_status,
    print_event,
    registry,
)
from kconformance.commands.tee import tee
from kconformance.coverage import load_coverage
from kconformance.crosscheck import alias_images, crosscheck, format_notes, format_table
from kconformance.crosscheck_md import CROSSCHECK_MD, render
from kconformance.crosscheck_runs import load_runs
from kconformance.deletion import delete_registered
from kconformance.errors import KconformanceError
from kconformance.kind import KindCLI
from kconformance.matrix import run_ids
from kconformance.registry import ClusterRecord


def register(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "crosscheck", help="compare our verdicts with upstream e2e tests"
    )
    parser.add_argument("--k8s-version", default="1.28")
    parser.add_argument("--e2e-binary", default=None, help="default: built by hack/build-e2e.sh")
    parser.add_argument("--out", default="reports")
    parser.add_argument(
        "--coverage",
        action="store_true",
        help="no run: write bench/CROSSCHECK.md from the coverage map and the recorded runs",
    )
    parser.add_argument(
        "--check", action="store_true", help="with --coverage: only fail if the file differs"
    )
    parser.add_argument("--md", default=str(CROSSCHECK_MD), help="with --coverage: the file")
    return parser


def run(args: argparse.Namespace) -> int:
    if args.coverage:
        return _coverage(Path(args.md), args.check)
    catalog = default_catalog()
    release = normalize_release(args.k8s_version)
    binary = _e2e_binary(args.e2e_binary, release)
    out = Path(args.out)
    log = out / "ours.log"
    code = _run_ours(catalog, release, out, log)
    ours = run_ids(log.read_text(errors="replace"))
    try:
        record = _kept_gates_cluster(ours, release)
        built = built_releases()[release]
        for image in alias_images(binary, dict(built.images)):
            KindCLI(built.kind or "kind").load_image(record.name, image)
        rows = crosscheck(
            catalog,
            release,
            binary,
            Path(record.kubeconfig),
            out / "ours" / "kconformance-report.json",
            out / "upstream",
        )
    finally:
        undeleted = _delete_run_clusters(ours, release)
    coverage = load_coverage()
    table = format_table(rows, coverage if coverage.release == release else None)
    notes = format_notes(catalog, release, [row[0] for row in rows])
    text = table + (f"\n\n{notes}" if notes else "")
    (out / f"crosscheck-{release}.md").write_text(text + "\n")
    print(text)
    return max(0 if code == 0 else 1, exit_status(undeleted))


def _e2e_binary(given: str | None, release: str) -> Path:
    """``--e2e-binary``, else the e2e.test hack/build-e2e.sh built for ``release``."""
    binary = given
    if binary is None:
        go_json = cache_dir() / "releases" / f"{release}-go.json"
        binary = str(Path(json.loads(go_json.read_text())["k8s_bin"]) / "e2e.test")
    if not Path(binary).is_file():
        raise KconformanceError(f"no e2e.test at {binary}: run hack/build-e2e.sh {release}")
    return Path(binary)


def _run_ours(catalog: Catalog, release: str, out: Path, log: Path) -> int:
    """Our tests of the features with an upstream test, their gates cluster kept for upstream's."""
    features = [f.name for f in catalog.features.values() if f.upstream and f.profile == "gates"]
    return tee(
        [
            sys.executable,
            "-m",
            "pytest",
            "suites",
            "-n",
            "2",
            "--kc-k8s-version",  # the --kc- name works next to any other plugin
            release,
            "--keep-clusters",
            "--features",
            ",".join(features),
            "--report-dir",
            str(out / "ours"),
        ],
        log,
    )


def _kept_gates_cluster(ours: set[str], release: str) -> ClusterRecord:
    record = next(
        (
            r
            for r in registry().records()
            if r.run_id in ours and r.profile_key == f"{release}-gates" and r.keep
        ),
        None,
    )
    if record is None:
        raise KconformanceError("our run left no kept gates cluster to run upstream tests on")
    return record


def _delete_run_clusters(ids: set[str], release: str) -> list[str]:
    """Delete the clusters of ``release`` that our run ``ids`` created (their names end with the
    run id), once their owner is gone; return those ``kind delete`` left. A kept cluster of an
    earlier run that ours reused is left kept, and said so."""
    machine_registry = registry()
    ours = []
    for record in dead_run_records(machine_registry, ids, release):
        if record.name.endswith(f"-{record.run_id}"):
            ours.append(record)
        else:
            print(f"[crosscheck] left kept: {record.name} (an earlier run's, reused by ours)")
    return delete_registered(machine_registry, LazyKind(), ours, print_event, "crosscheck over")


def _coverage(path: Path, check: bool) -> int:
    """Write (or, with ``check``, compare) the generated cross-check document."""
    text = render(load_coverage(), load_runs(), default_catalog())
    if path.is_file() and path.read_text() == text:
        return 0
    if check:
        print(f"{path} differs from the coverage map and the recorded runs", file=sys.stderr)
        print("run: python -m kconformance crosscheck --coverage", file=sys.stderr)
        return 1
    path.write_text(text)
    print(f"wrote {path}")
    return 0
