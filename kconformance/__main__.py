"""Command line: ``python -m kconformance render-configs [--check]``, ``validate``,
``verify-catalog``, ``matrix``, ``stress`` and ``sweep``.

render-configs writes kind-configs/<release>-<profile>.yaml from the catalog, for every release
that has a node image; --check only reports drift (what CI and the unit tests use).
verify-catalog compares the catalog's gate stages with each built release's own binaries.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from kconformance.catalog import default_catalog
from kconformance.errors import KconformanceError
from kconformance.kindconfig import config_filename, files_dirname, render, rendered_node_files
from kconformance.profiles import parse_gate_list, resolve_profile, validate_profile


def rendered_configs() -> dict[str, str]:
    catalog = default_catalog()
    out = {}
    for release in catalog.release_names:
        if not catalog.releases[release].node_image:
            continue
        for name in sorted(catalog.profiles):
            profile = resolve_profile(catalog, name, release)
            validate_profile(catalog, profile)
            out[config_filename(profile)] = render(profile)
    return out


def rendered_files() -> dict[str, str]:
    """The node files the rendered configs mount, as '<release>-<profile>.files/<name>'."""
    catalog = default_catalog()
    out = {}
    for release in catalog.release_names:
        if not catalog.releases[release].node_image:
            continue
        for name in sorted(catalog.profiles):
            profile = resolve_profile(catalog, name, release)
            for file_name, text in rendered_node_files(profile).items():
                out[f"{files_dirname(profile)}/{file_name}"] = text
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="kconformance")
    sub = parser.add_subparsers(dest="command", required=True)
    render_cmd = sub.add_parser("render-configs", help="write kind-configs/ from the catalog")
    render_cmd.add_argument("--dir", default="kind-configs")
    render_cmd.add_argument("--check", action="store_true", help="fail if files differ")
    sub.add_parser("clusters", help="list the clusters this tool created on this machine")
    delete_cmd = sub.add_parser("delete-kept", help="delete clusters kept by --keep-clusters")
    delete_cmd.add_argument("--kind-bin", default=None)
    sweep_cmd = sub.add_parser(
        "sweep",
        help="delete the clusters of runs whose process is gone (never kept ones) and their "
        "run directories; safe while other runs go on",
    )
    sweep_cmd.add_argument("--kind-bin", default=None)
    cross = sub.add_parser("crosscheck", help="compare our verdicts with upstream e2e tests")
    cross.add_argument("--k8s-version", default="1.28")
    cross.add_argument("--e2e-binary", default=None, help="default: built by hack/build-e2e.sh")
    cross.add_argument("--out", default="reports")
    cross.add_argument(
        "--coverage",
        action="store_true",
        help="only print which upstream-asserted behaviours our tests cover (Markdown), no run",
    )
    merge_cmd = sub.add_parser(
        "merge-reports", help="merge shards' reports into one feature x release matrix"
    )
    merge_cmd.add_argument("paths", nargs="+", type=Path, help="report files or folders")
    merge_cmd.add_argument("--json", type=Path, default=None, help="also write the merged JSON")
    validate_cmd = sub.add_parser("validate", help="validate a profile with extra gates")
    validate_cmd.add_argument("--k8s-version", required=True)
    validate_cmd.add_argument("--profile", default="gates")
    validate_cmd.add_argument("--feature-gates", default="")
    verify = sub.add_parser(
        "verify-catalog", help="compare the catalog's gate stages with the built binaries"
    )
    verify.add_argument("--k8s-version", required=True, help="releases, e.g. 1.28,1.36")
    verify.add_argument(
        "--components", default="kube-apiserver,kubelet", help="binaries to ask (comma-separated)"
    )
    verify.add_argument("--catalog", default=None, help="another catalog file")
    verify.add_argument(
        "--record", default=None, help="also write the binaries' outputs to DIR/<release>.json"
    )
    matrix_cmd = sub.add_parser(
        "matrix", help="every suite on each release in turn, merged into MATRIX.md + JSON"
    )
    matrix_cmd.add_argument("--k8s-version", required=True, help="e.g. 1.28,1.29,...,1.36")
    matrix_cmd.add_argument("--out", default="matrix", help="state, per-release reports, MATRIX.md")
    matrix_cmd.add_argument(
        "-n",
        "--workers",
        default="4",
        help="pytest-xdist workers (README, Clusters: more workers than cores)",
    )
    matrix_cmd.add_argument(
        "--build", action="store_true", help="run hack/build.sh for a release not built yet"
    )
    matrix_cmd.add_argument(
        "--rerun", default="", help="releases to run again although the state file has them"
    )
    matrix_cmd.add_argument(
        "--merge-only", action="store_true", help="only rewrite MATRIX.md from the state file"
    )
    matrix_cmd.add_argument("pytest_args", nargs="*", help="more pytest arguments (after --)")
    stress_cmd = sub.add_parser(
        "stress", help="every suite N times on one release: per-test pass/fail counts"
    )
    stress_cmd.add_argument("--k8s-version", required=True, help="one release, e.g. 1.28")
    stress_cmd.add_argument("--runs", type=int, default=5)
    stress_cmd.add_argument("-n", "--workers", default="4", help="pytest-xdist workers")
    stress_cmd.add_argument("--out", default=None, help="default: artifacts/stress-<release>")
    stress_cmd.add_argument(
        "pytest_args", nargs="*", help="more pytest arguments after --, e.g. -- --prove"
    )
    args = parser.parse_args(argv)
    try:
        if args.command == "stress":
            return _stress(args)
        if args.command == "matrix":
            return _matrix(args)
        if args.command == "verify-catalog":
            return _verify_catalog(args)
        if args.command == "render-configs":
            return _render(Path(args.dir), args.check)
        if args.command == "clusters":
            return _list_clusters()
        if args.command == "delete-kept":
            return _delete_kept(args.kind_bin)
        if args.command == "sweep":
            return _sweep(args.kind_bin)
        if args.command == "crosscheck":
            return _crosscheck(args)
        if args.command == "merge-reports":
            return _merge_reports(args.paths, args.json)
        catalog = default_catalog()
        from kconformance.catalog import normalize_release

        profile = resolve_profile(
            catalog,
            args.profile,
            normalize_release(args.k8s_version),
            parse_gate_list(args.feature_gates),
        )
        validate_profile(catalog, profile)
        print(f"profile {profile.key} is valid (hash {profile.hash})")
        return 0
    except KconformanceError as exc:
        print(f"kconformance: {exc}", file=sys.stderr)
        return 2


def _registry():
    from kconformance.artifacts import cache_dir
    from kconformance.registry import Registry

    return Registry(cache_dir() / "clusters")


def _list_clusters() -> int:
    from kconformance.registry import pid_alive

    for record in _registry().records():
        owner = "running" if pid_alive(record.owner_pid) else "owner gone"
        kept = "kept" if record.keep else "not kept"
        print(f"{record.name}\t{record.profile_key}\t{record.state}\t{kept}\t{owner}")
    return 0


def _delete_kept(kind_bin: str | None) -> int:
    from kconformance.kind import KindCLI
    from kconformance.preflight import find_binary
    from kconformance.registry import pid_alive

    registry = _registry()
    kept = [r for r in registry.records() if r.keep and not pid_alive(r.owner_pid)]
    if not kept:
        return 0
    import glob

    built = sorted(glob.glob(str(registry.root.parent / "bin" / "kind-*")))
    kind = KindCLI(find_binary("kind", kind_bin, built[-1] if built else None))
    existing = set(kind.clusters())
    for record in kept:
        if record.name in existing:
            kind.delete(record.name)
        registry.remove(record.name)
        print(f"deleted {record.name}")
    return 0


def _sweep(kind_bin: str | None) -> int:
    """Delete what dead runs left: their clusters (registry entries whose owner process is gone,
    except kept ones) and their run directories. Exit 1 when a ``kind delete`` failed."""
    import glob

    from kconformance.artifacts import cache_dir
    from kconformance.kind import KindCLI
    from kconformance.pool import sweep_dead_runs
    from kconformance.preflight import find_binary
    from kconformance.runtime import sweep_run_dirs

    class _Kind:  # the pool's driver interface, with kind found only when a cluster is there
        def __init__(self) -> None:
            self._cli: KindCLI | None = None

        def cli(self) -> KindCLI:
            if self._cli is None:
                built = sorted(glob.glob(str(cache_dir() / "bin" / "kind-*")))
                self._cli = KindCLI(find_binary("kind", kind_bin, built[-1] if built else None))
            return self._cli

        def existing(self) -> set[str]:
            return set(self.cli().clusters())

        def delete(self, name: str) -> None:
            self.cli().delete(name)

    removed, failed = sweep_dead_runs(_registry(), _Kind(), lambda event: print(event.line()))
    for name in removed:
        print(f"kconformance: swept cluster {name}")
    for folder in sweep_run_dirs(cache_dir() / "runs"):
        print(f"kconformance: removed run directory {folder}")
    if failed:
        print(
            f"kconformance: {len(failed)} cluster(s) could not be deleted: {', '.join(failed)}",
            file=sys.stderr,
        )
        return 1
    return 0


def _crosscheck(args: argparse.Namespace) -> int:
    """Run our tests of every feature with an upstream e2e test, keep the cluster, run
    upstream's on it, print the comparison, then delete the clusters this run created.

    Only clusters of the run ids our pytest run printed are used and deleted: the registry is
    shared by every run on the machine (a kept cluster of a finished run may be reused by ours,
    and is then left kept, as it was)."""
    import json

    from kconformance.artifacts import cache_dir
    from kconformance.catalog import normalize_release
    from kconformance.crosscheck import (
        crosscheck,
        format_coverage,
        format_notes,
        format_table,
        load_coverage,
    )
    from kconformance.matrix import run_ids

    if args.coverage:
        print(format_coverage(load_coverage()), end="")
        return 0
    catalog = default_catalog()
    release = normalize_release(args.k8s_version)
    binary = args.e2e_binary
    if binary is None:
        go_json = cache_dir() / "releases" / f"{release}-go.json"
        binary = str(Path(json.loads(go_json.read_text())["k8s_bin"]) / "e2e.test")
    if not Path(binary).is_file():
        raise KconformanceError(f"no e2e.test at {binary}: run hack/build-e2e.sh {release}")
    features = [f.name for f in catalog.features.values() if f.upstream and f.profile == "gates"]
    out = Path(args.out)
    log = out / "ours.log"
    code = _tee(
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
    ours = run_ids(log.read_text(errors="replace"))
    try:
        record = next(
            (
                r
                for r in _registry().records()
                if r.run_id in ours and r.profile_key == f"{release}-gates" and r.keep
            ),
            None,
        )
        if record is None:
            raise KconformanceError("our run left no kept gates cluster to run upstream tests on")
        from kconformance.artifacts import built_releases
        from kconformance.crosscheck import alias_images
        from kconformance.kind import KindCLI

        built = built_releases()[release]
        for image in alias_images(Path(binary), dict(built.images)):
            KindCLI(built.kind or "kind").load_image(record.name, image)
        rows = crosscheck(
            catalog,
            release,
            Path(binary),
            Path(record.kubeconfig),
            out / "ours" / "kconformance-report.json",
            out / "upstream",
        )
    finally:
        _delete_run_clusters(ours, release)
    coverage = load_coverage()
    table = format_table(rows, coverage if coverage["release"] == release else None)
    notes = format_notes(catalog, release, [row[0] for row in rows])
    text = table + (f"\n\n{notes}" if notes else "")
    (out / f"crosscheck-{release}.md").write_text(text + "\n")
    print(text)
    return 0 if code == 0 else 1


def _delete_run_clusters(ids: set[str], release: str) -> None:
    """Delete the clusters of ``release`` that our run ``ids`` created (their names end with the
    run id), once their owner is gone. A kept cluster of an earlier run that ours reused is left
    kept, and said so."""
    registry, kind, ours = _dead_run_records(ids, release)
    existing = set(kind.clusters()) if ours else set()
    for record in ours:
        if not record.name.endswith(f"-{record.run_id}"):
            print(f"[crosscheck] left kept: {record.name} (an earlier run's, reused by ours)")
            continue
        if record.name in existing:
            kind.delete(record.name)
        registry.remove(record.name)
        print(f"[crosscheck] deleted {record.name}")


def _dead_run_records(ids: set[str], release: str):  # -> (Registry, KindCLI, [ClusterRecord])
    """The registry records of ``release``'s clusters made by the run ``ids`` whose owner is gone
    (never another run's: the registry is shared by the machine), and a kind CLI to delete them."""
    from kconformance.artifacts import built_releases
    from kconformance.kind import KindCLI
    from kconformance.registry import pid_alive

    registry = _registry()
    records = [
        r
        for r in registry.records()
        if r.run_id in ids
        and r.profile_key.startswith(f"{release}-")
        and not pid_alive(r.owner_pid)
    ]
    built = built_releases().get(release)
    return registry, KindCLI((built.kind if built else None) or "kind"), records


def _merge_reports(paths: list[Path], json_out: Path | None) -> int:
    """Print the merged matrix as Markdown (CI appends it to $GITHUB_STEP_SUMMARY); exit 1
    when any feature failed on any release, so the summary job shows red too."""
    import json

    from kconformance.merge import find_reports, markdown, merge

    merged = merge(find_reports(paths))
    if json_out is not None:
        json_out.parent.mkdir(parents=True, exist_ok=True)
        json_out.write_text(json.dumps(merged, indent=2))
    print(markdown(merged), end="")
    failed = any(
        c["verdict"] == "failed" for r in merged["features"] for c in r["releases"].values()
    )
    return 1 if failed else 0


def _verify_catalog(args: argparse.Namespace) -> int:
    """Print one line per catalog cell a release's binaries contradict; exit 1 if any."""
    import json
    import time

    from kconformance.artifacts import cache_dir
    from kconformance.catalog import load_catalog, normalize_release
    from kconformance.gatetable import Recorder, find_binaries, verify_release

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


def _matrix(args: argparse.Namespace) -> int:
    """Run the matrix (resumable), then merge whatever is finished into MATRIX.md + JSON."""
    from kconformance import matrix
    from kconformance.catalog import normalize_release

    catalog = default_catalog()
    releases = [normalize_release(r) for r in args.k8s_version.split(",") if r.strip()]
    for release in releases:
        catalog.release(release)
    out = Path(args.out)
    if args.merge_only:
        state = matrix.MatrixState.load(out / "state.json")
    else:
        rerun = [normalize_release(r) for r in args.rerun.split(",") if r.strip()]
        state = matrix.run_matrix(
            releases,
            out,
            built=_built_release,
            run_suites=lambda r, d, log: _run_suites(r, d, log, args.workers, args.pytest_args),
            cleanup=_delete_release_clusters,
            build=_build_release if args.build else None,
            rerun=rerun,
        )
    selection = " ".join(args.pytest_args)
    selection = f"pytest suites {selection}" if selection else "every suite"
    written = matrix.write(matrix.merge(catalog, state, releases, selection), out)
    print("matrix written to " + ", ".join(str(p) for p in written))
    bad = [r for r in releases if r not in state.runs or state.runs[r].status != "run"]
    return 1 if bad else 0


def _stress(args: argparse.Namespace) -> int:
    """The suite ``--runs`` times on one release; exit 1 when any run was not green."""
    from kconformance import stress
    from kconformance.catalog import normalize_release

    release = normalize_release(args.k8s_version)
    default_catalog().release(release)
    if args.runs < 1:
        raise KconformanceError(f"--runs {args.runs}: give at least one run")
    out = Path(args.out or f"artifacts/stress-{release}")
    runs = stress.stress(
        release,
        args.runs,
        args.workers,
        out,
        args.pytest_args,
        runner=lambda argv, log: _tee([sys.executable, "-m", *argv], log),
    )
    print(f"stress results in {out / 'STRESS.md'}")
    return 0 if all(r.exit_code == 0 for r in runs) else 1


def _built_release(release: str):  # -> matrix.Built | None
    from kconformance.artifacts import built_releases
    from kconformance.matrix import Built

    found = built_releases().get(release)
    if found is None:
        return None
    return Built(found.kubernetes_version, found.node_image, found.kind)


def _tee(argv: list[str], log: Path) -> int:
    """Run argv, its output both on the terminal and in ``log``."""
    import subprocess

    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("w") as sink:
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        assert proc.stdout is not None
        for line in proc.stdout:
            sys.stdout.write(line)
            sink.write(line)
        return proc.wait()


def _build_release(release: str, log: Path) -> tuple[bool, str]:
    """hack/build.sh RELEASE; on failure the reason names the failed step and its last line."""
    root = Path(__file__).resolve().parent.parent
    code = _tee([str(root / "hack" / "build.sh"), release], log)
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
    argv = [
        sys.executable,
        "-m",
        "pytest",
        "suites",
        "-n",
        workers,
        "--k8s-version",
        release,
        "-rfEs",
        "--report-dir",
        str(report_dir),
        "--junitxml",
        str(report_dir / "junit.xml"),
        *extra,
    ]
    report_dir.mkdir(parents=True, exist_ok=True)
    return _tee(argv, log)


def _delete_release_clusters(release: str, log: Path) -> None:
    """Delete what the matrix's own pytest run of ``release`` left behind (it normally deletes
    its clusters itself), so the next release starts with the memory free. Only clusters of the
    run ids that run printed, never another run's: the registry is shared by the machine."""
    from kconformance.matrix import run_ids

    ours = run_ids(log.read_text(errors="replace")) if log.is_file() else set()
    registry, kind, leftover = _dead_run_records(ours, release)
    existing = set(kind.clusters()) if leftover else set()
    for record in leftover:
        if record.name in existing:
            kind.delete(record.name)
            print(f"[matrix] deleted leftover cluster {record.name} (run {record.run_id})")
        registry.remove(record.name)


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


if __name__ == "__main__":
    sys.exit(main())
