"""``matrix``: every suite on each release in turn (resumable), merged into MATRIX.md + JSON.

The run itself is ``kconformance.matrix.run_matrix``; what is here are the pieces it is given
that touch the machine: the built releases, hack/build.sh, one ``pytest suites`` per release,
and the deletion of what that pytest run left behind."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from kconformance import matrix, matrixdoc
from kconformance.artifacts import built_releases
from kconformance.catalog import default_catalog, normalize_release
from kconformance.commands.machine import (
    LazyKind,
    dead_run_records,
    exit_status,
    print_event,
    registry,
)
from kconformance.commands.tee import tee
from kconformance.deletion import delete_registered
from kconformance.suiterun import suite_argv


def register(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "matrix", help="every suite on each release in turn, merged into MATRIX.md + JSON"
    )
    parser.add_argument("--k8s-version", required=True, help="e.g. 1.28,1.29,...,1.36")
    parser.add_argument("--out", default="matrix", help="state, per-release reports, MATRIX.md")
    parser.add_argument(
        "-n",
        "--workers",
        default="4",
        help="pytest-xdist workers (README, Clusters: more workers than cores)",
    )
    parser.add_argument(
        "--build", action="store_true", help="run hack/build.sh for a release not built yet"
    )
    parser.add_argument(
        "--rerun", default="", help="releases to run again although the state file has them"
    )
    parser.add_argument(
        "--rerun-reason", default="", help="why (recorded in the state and the matrix header)"
    )
    parser.add_argument(
        "--merge-only", action="store_true", help="only rewrite MATRIX.md from the state file"
    )
    parser.add_argument("pytest_args", nargs="*", help="more pytest arguments (after --)")
    return parser


def run(args: argparse.Namespace) -> int:
    """Run the matrix (resumable), then merge whatever is finished into MATRIX.md + JSON."""
    catalog = default_catalog()
    releases = [normalize_release(r) for r in args.k8s_version.split(",") if r.strip()]
    for release in releases:
        catalog.release(release)
    out = Path(args.out)
    arguments = " ".join(args.pytest_args)
    undeleted: list[str] = []
    if args.merge_only:
        state = matrix.MatrixState.load(out / "state.json")
    else:
        rerun = [normalize_release(r) for r in args.rerun.split(",") if r.strip()]
        state = matrix.run_matrix(
            releases,
            out,
            built=_built_release,
            run_suites=lambda r, d, log: _run_suites(r, d, log, args.workers, args.pytest_args),
            cleanup=lambda r, log: undeleted.extend(_delete_release_clusters(r, log)),
            build=_build_release if args.build else None,
            rerun=rerun,
            rerun_reason=args.rerun_reason,
            arguments=arguments,
        )
    selection = f"pytest suites {arguments}" if arguments else "every suite"
    written = matrixdoc.write(matrix.merge(catalog, state, releases, selection), out)
    print("matrix written to " + ", ".join(str(p) for p in written))
    bad = [r for r in releases if r not in state.runs or state.runs[r].status != "run"]
    return max(1 if bad else 0, exit_status(undeleted))


def _built_release(release: str) -> matrix.Built | None:
    found = built_releases().get(release)
    if found is None:
        return None
    return matrix.Built(found.kubernetes_version, found.node_image, found.kind)


def _build_release(release: str, log: Path) -> tuple[bool, str]:
    """hack/build.sh RELEASE; on failure the reason names the failed step and its last line."""
    root = Path(__file__).resolve().parents[2]
    code = tee([str(root / "hack" / "build.sh"), release], log)
    if code == 0:
        return True, ""
    return False, build_failure_reason(log.read_text(errors="replace"), code)


def build_failure_reason(output: str, code: int) -> str:
    """'step NAME failed: CMD' (hack/lib.sh) plus the last line of the log tail it printed."""
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    step = next((line for line in reversed(lines) if " failed: " in line and "step " in line), "")
    tail = [
        line for line in lines if not line.startswith(("[timing]", "----", "error: phase", "step "))
    ]
    last = tail[-1] if tail else ""
    if step:
        name = step.split(" failed: ")[0].removeprefix("step ")
        return f"step {name} failed: {last}"[:300]
    return f"hack/build.sh exited {code}: {last}"[:300]


def _run_suites(release: str, report_dir: Path, log: Path, workers: str, extra: list[str]) -> int:
    argv = suite_argv(
        release, workers, junit=report_dir / "junit.xml", report_dir=report_dir, extra=extra
    )
    report_dir.mkdir(parents=True, exist_ok=True)
    return tee([sys.executable, "-m", *argv], log)


def _delete_release_clusters(release: str, log: Path) -> list[str]:
    """Delete what the matrix's own pytest run of ``release`` left behind (it normally deletes
    its clusters itself), so the next release starts with the memory free; return those
    ``kind delete`` left. Only clusters of the run ids that run printed, never another run's:
    the registry is shared by the machine."""
    ours = matrix.run_ids(log.read_text(errors="replace")) if log.is_file() else set()
    machine_registry = registry()
    leftover = dead_run_records(machine_registry, ours, release)
    return delete_registered(machine_registry, LazyKind(), leftover, print_event, "matrix leftover")
