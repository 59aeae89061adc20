#!/usr/bin/env python3
"""Benchmark the suite on this machine, in one run, and print the ratios the project aims for.

Usage: python bench/run.py [--k8s-version 1.28] [-m "sig_apps"] [-n 4] [--once]
                           [--write bench/RESULTS.md]

Runs, in order, on the same selection:
  1. pytest -n N (cold: clusters created)       -> wall WN, cluster creations, per-test times
  2. pytest -n 0 (cold)                          -> wall W0
  3. pytest -n N --keep-clusters (creates, keeps)
  4. pytest -n N --keep-clusters (warm: reuses)  -> wall Wwarm, tests' own span
(--once: only run 1, e.g. for a release's full suite) and samples the machine's used memory
(kind nodes included) once a second throughout.

Physical limit = the larger of (slowest cluster creation + longest single test) and (all cluster
creations / the cores + longest single test): creation is CPU-bound, tests mostly wait on
controllers, and no test can end before its own duration. A test's own time is its duration
without the wait for its cluster (the report's ``cluster_wait``).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from kconformance.memory import PeakMemory  # noqa: E402


def run_pytest(args: list[str], report_dir: Path) -> tuple[float, dict]:
    argv = [
        sys.executable,
        "-m",
        "pytest",
        "suites",
        "-q",
        "-p",
        "no:randomly",
        "--report-dir",
        str(report_dir),
        *args,
    ]
    started = time.monotonic()
    proc = subprocess.run(
        argv, cwd=ROOT, text=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    wall = time.monotonic() - started
    print(proc.stdout[-3000:])
    report = json.loads((report_dir / "kconformance-report.json").read_text())
    report["exit"] = proc.returncode
    return wall, report


def creations(report: dict) -> list[float]:
    return [c["seconds"] for c in report["clusters"] if c["event"] == "ready" and c["seconds"]]


def test_span(report: dict) -> float:
    tests = [t for t in report["tests"] if t["start"] and t["stop"]]
    return max(t["stop"] for t in tests) - min(t["start"] for t in tests) if tests else 0.0


def longest_test(report: dict) -> float:
    """The longest passed test's own time (its wait for a cluster is the limit's other term)."""
    return max(
        (
            t["duration"] - t.get("cluster_wait", 0.0)
            for t in report["tests"]
            if t["outcome"] == "passed"
        ),
        default=0.0,
    )


def physical_limit(report: dict, cores: int) -> tuple[float, str]:
    created = creations(report)
    longest = longest_test(report)
    one = max(created, default=0.0) + longest
    shared = sum(created) / cores + longest
    detail = (
        f"max({max(created, default=0):.0f}s slowest creation, {sum(created):.0f}s for "
        f"{len(created)} creations / {cores} cores) + {longest:.0f}s longest test"
    )
    return max(one, shared), detail


def matrix_ratios(state_file: Path, write: str) -> int:
    """A matrix run's releases, each full suite's wall against its physical limit."""
    cores = len(os.sched_getaffinity(0))
    rows = []
    for run in json.loads(state_file.read_text())["releases"]:
        if run["status"] != "run":
            continue
        report = json.loads(Path(run["report"]).read_text())
        limit, detail = physical_limit(report, cores)
        failed = sum(1 for t in report["tests"] if t["outcome"] in ("failed", "error"))
        rows.append(
            f"| {run['release']} | {run['seconds'] / limit:.2f} | <= 1.25 | {run['seconds']:.0f}s"
            f" / {limit:.0f}s = {detail}; {len(report['tests'])} tests, {failed} failed; "
            f"peak {run.get('peak_memory_gib')} GiB |"
        )
    table = "\n".join(
        ["| release | wall / physical limit | goal | detail |", "|---|---|---|---|", *rows]
    )
    print(table)
    if write:
        with open(write, "a") as handle:
            handle.write(
                f"\n## {datetime.now(UTC):%Y-%m-%d %H:%M} UTC: full suites of the matrix run "
                f"{state_file}\n\nMachine {platform.node()} ({platform.machine()}, {cores} "
                f"cores).\n\n{table}\n"
            )
    return 0


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--k8s-version", default="1.28")
    parser.add_argument("-m", dest="marker", default="")
    parser.add_argument("-n", dest="workers", default="4", help="xdist workers (default 4)")
    parser.add_argument("--once", action="store_true", help="only the cold -n N run")
    parser.add_argument(
        "--matrix",
        type=Path,
        default=None,
        help="no run: each release of a matrix run (its state.json) against its physical limit",
    )
    parser.add_argument("--write", default="")
    parser.add_argument(
        "--upstream-seconds",
        type=float,
        default=None,
        help="upstream e2e time for the same features (from hack/crosscheck)",
    )
    args = parser.parse_args()
    if args.matrix:
        return matrix_ratios(args.matrix, args.write)
    select = ["--kc-k8s-version", args.k8s_version] + (["-m", args.marker] if args.marker else [])
    tmp = ROOT / "artifacts" / "bench"
    with PeakMemory() as sampler:
        cores = len(os.sched_getaffinity(0))
        n = ["-n", args.workers]
        w2, r2 = run_pytest([*select, *n], tmp / "n")
        limit, limit_detail = physical_limit(r2, cores)
        created = creations(r2)
        profiles = {t["profile"] for t in r2["tests"] if t["profile"] and t["outcome"] != "skipped"}
        failed = sum(1 for t in r2["tests"] if t["outcome"] in ("failed", "error"))
        rows = [
            (
                f"wall -n {args.workers} / physical limit",
                w2 / limit if limit else float("nan"),
                "<= 1.25",
                f"{w2:.0f}s / {limit:.0f}s = {limit_detail}; {len(r2['tests'])} tests, {failed} failed",
            ),
            (
                "clusters created / distinct profiles",
                len(created) / max(1, len(profiles)),
                "== 1",
                f"{len(created)} / {len(profiles)}",
            ),
        ]
        if not args.once:
            w0, _ = run_pytest([*select, "-p", "no:xdist"], tmp / "n0")
            run_pytest([*select, *n, "--keep-clusters"], tmp / "keep")
            wwarm, rwarm = run_pytest([*select, *n, "--keep-clusters"], tmp / "warm")
            # the kept clusters stay after the warm run: delete them
            subprocess.run(
                [sys.executable, "-m", "kconformance", "delete-kept"], cwd=ROOT, check=False
            )
            rows += [
                (
                    f"wall -n {args.workers} / wall -n 0",
                    w2 / w0,
                    "<= 0.65",
                    f"{w2:.0f}s / {w0:.0f}s",
                ),
                ("warm re-run: clusters created", float(len(creations(rwarm))), "== 0", ""),
                (
                    "warm re-run wall / tests' own span",
                    wwarm / max(1e-9, test_span(rwarm)),
                    "<= 1.1",
                    f"{wwarm:.0f}s / {test_span(rwarm):.0f}s",
                ),
            ]
    if args.upstream_seconds:
        ours = sum(t["duration"] for t in r2["tests"])
        rows.append(
            (
                "our time / upstream e2e time",
                ours / args.upstream_seconds,
                "<= 0.5",
                f"{ours:.0f}s / {args.upstream_seconds:.0f}s",
            )
        )
    rows.append(("peak machine memory (GiB)", sampler.gib, "report", ""))

    lines = [f"| {name} | {value:.2f} | {goal} | {detail} |" for name, value, goal, detail in rows]
    table = "\n".join(["| measure | value | goal | detail |", "|---|---|---|---|", *lines])
    print(table)
    if args.write:  # one section per measurement, appended: earlier figures stay comparable
        header = (
            f"\n## {datetime.now(UTC):%Y-%m-%d %H:%M} UTC: Kubernetes {args.k8s_version}, "
            f"{args.marker or 'all suites'}, -n {args.workers}\n\nMachine {platform.node()} "
            f"({platform.machine()}, {cores} cores).\n\n"
        )
        with open(args.write, "a") as handle:
            handle.write(header + table + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
