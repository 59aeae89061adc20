#!/usr/bin/env python3
"""Benchmark the suite on this machine, in one run, and print the ratios the project aims for.

Usage: python bench/run.py [--k8s-version 1.28] [-m "sig_apps"] [--write bench/RESULTS.md]

Runs, in order, on the same selection:
  1. pytest -n 2 (cold: clusters created)       -> wall W2, cluster creations, per-test times
  2. pytest -n 0 (cold)                          -> wall W0
  3. pytest -n 2 --keep-clusters (creates, keeps)
  4. pytest -n 2 --keep-clusters (warm: reuses)  -> wall Wwarm, tests' own span
and samples the machine's used memory (kind nodes included) once a second throughout.

Physical limit = slowest cluster creation + longest single test (tests are independent, so the
longest chain of controller delays any test must sit through is its own duration).
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


class MemorySampler(threading.Thread):
    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.peak_kib = 0
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.wait(1.0):
            info = dict(
                line.split(":", 1) for line in Path("/proc/meminfo").read_text().splitlines()
            )
            used = int(info["MemTotal"].split()[0]) - int(info["MemAvailable"].split()[0])
            self.peak_kib = max(self.peak_kib, used)


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
    return max((t["duration"] for t in report["tests"] if t["outcome"] == "passed"), default=0.0)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--k8s-version", default="1.28")
    parser.add_argument("-m", dest="marker", default="")
    parser.add_argument("--write", default="")
    parser.add_argument(
        "--upstream-seconds",
        type=float,
        default=None,
        help="upstream e2e time for the same features (from hack/crosscheck)",
    )
    args = parser.parse_args()
    select = ["--kc-k8s-version", args.k8s_version] + (["-m", args.marker] if args.marker else [])
    tmp = ROOT / "artifacts" / "bench"
    sampler = MemorySampler()
    sampler.start()

    w2, r2 = run_pytest([*select, "-n", "2"], tmp / "n2")
    w0, r0 = run_pytest([*select, "-p", "no:xdist"], tmp / "n0")
    run_pytest([*select, "-n", "2", "--keep-clusters"], tmp / "keep")
    wwarm, rwarm = run_pytest([*select, "-n", "2", "--keep-clusters"], tmp / "warm")
    # the kept clusters are removed by a last ordinary run's teardown of nothing: delete them
    subprocess.run([sys.executable, "-m", "kconformance", "delete-kept"], cwd=ROOT, check=False)
    sampler.stop.set()

    profiles = {t["profile"] for t in r2["tests"] if t["profile"] and t["outcome"] != "skipped"}
    created = creations(r2)
    limit = (max(created) if created else 0.0) + longest_test(r2)
    warm_created = creations(rwarm)
    rows = [
        (
            "wall -n 2 / physical limit",
            w2 / limit if limit else float("nan"),
            "<= 1.25",
            f"{w2:.0f}s / ({max(created, default=0):.0f}s creation + {longest_test(r2):.0f}s longest test)",
        ),
        ("wall -n 2 / wall -n 0", w2 / w0, "<= 0.65", f"{w2:.0f}s / {w0:.0f}s"),
        (
            "clusters created / distinct profiles",
            len(created) / max(1, len(profiles)),
            "== 1",
            f"{len(created)} / {len(profiles)}",
        ),
        ("warm re-run: clusters created", float(len(warm_created)), "== 0", ""),
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
    rows.append(("peak machine memory (GiB)", sampler.peak_kib / 1048576, "report", ""))

    lines = [f"| {name} | {value:.2f} | {goal} | {detail} |" for name, value, goal, detail in rows]
    table = "\n".join(["| measure | value | goal | detail |", "|---|---|---|---|", *lines])
    print(table)
    if args.write:
        header = (
            f"# Benchmark results\n\n{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, machine "
            f"{platform.node()} ({platform.machine()}, 2 cores), Kubernetes {args.k8s_version}, "
            f"selection: {args.marker or 'all suites'}\n\n"
        )
        Path(args.write).write_text(header + table + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
