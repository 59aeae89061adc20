"""The lifecycle matrix: every suite on every release in turn, merged into one feature x release
table.

A release is run as one ``pytest suites --k8s-version R`` (its own report directory); its
clusters are deleted before the next release starts, so the run fits the machine's memory.
A state file records each finished release (run, or not built with the reason), so an
interrupted matrix run resumes with the first unfinished release. The merged table puts, in each
cell, the catalog's stage of the feature's gates in that release next to the run's verdict (and
the proof result where the report has one: a test's ``proof`` field, the outcome of the same test
with the feature off).
"""

from __future__ import annotations

import json
import os
import platform
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from kconformance.catalog import Catalog, Stage
from kconformance.memory import PeakMemory

REPORT = "kconformance-report.json"


def _utc_now() -> str:
    """The state's and the matrix's timestamps: ``2026-12-03T17:24:10Z``."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


@dataclass
class ReleaseRun:
    """One release's column: how it ended and where its report is."""

    release: str
    status: str  # "run" | "not built" | "run failed"
    reason: str = ""
    exit_code: int | None = None
    report: str | None = None  # relative to the state file's directory
    kubernetes_version: str | None = None
    node_image: str | None = None
    kind: str | None = None
    started: str | None = None
    seconds: float | None = None
    peak_memory_gib: float | None = None  # the machine's, kind nodes included
    ended: str | None = None
    arguments: str = ""  # the pytest arguments given beyond the suite run's own
    rerun: str = ""  # why this release was run again, when it was


@dataclass
class MatrixState:
    """The resumable record: finished releases, in the order they finished."""

    path: Path
    runs: dict[str, ReleaseRun] = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path) -> MatrixState:
        state = cls(path)
        if path.is_file():
            for raw in json.loads(path.read_text()).get("releases", []):
                run = ReleaseRun(**raw)
                state.runs[run.release] = run
        return state

    def report(self, release: str) -> Path | None:
        """Where a finished release's report is: the state stores it relative to its own
        directory, so ``--merge-only`` reads the same files from any working directory."""
        run = self.runs.get(release)
        if run is None or not run.report:
            return None
        return self.path.parent / run.report

    def record(self, run: ReleaseRun) -> None:
        self.runs[run.release] = run
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(
            json.dumps({"releases": [asdict(r) for r in self.runs.values()]}, indent=2) + "\n"
        )
        os.replace(tmp, self.path)


@dataclass(frozen=True)
class Built:
    """What the matrix needs to know of a built release (hack/build.sh's releases/R.json)."""

    kubernetes_version: str
    node_image: str
    kind: str | None


# Seams (tests replace them): is a release built, build it, run its suites, delete its clusters.
BuiltLookup = Callable[[str], Built | None]
Builder = Callable[[str, Path], tuple[bool, str]]  # (release, log) -> (ok, failure reason)
SuiteRunner = Callable[[str, Path, Path], int]  # (release, report dir, log) -> pytest exit code
Cleaner = Callable[[str, Path], None]  # (release, the suites' log): delete that run's clusters


def run_matrix(
    releases: Sequence[str],
    out: Path,
    *,
    built: BuiltLookup,
    run_suites: SuiteRunner,
    cleanup: Cleaner,
    build: Builder | None = None,
    rerun: Sequence[str] = (),
    rerun_reason: str = "",
    arguments: str = "",
    say: Callable[[str], None] = print,
) -> MatrixState:
    """Run each release not yet finished in ``out/state.json``; return the final state.

    A release that is not built (and, with ``build``, fails to build) becomes a "not built"
    column with the reason; the others still run. Each finished release records its start,
    end and pytest ``arguments``, and, for one in ``rerun``, ``rerun_reason``: the matrix's
    header says how every column came about.
    """
    state = MatrixState.load(out / "state.json")
    for release in releases:
        if release in state.runs and release not in rerun:
            say(f"[matrix] {release}: done earlier ({state.runs[release].status}), skipped")
            continue
        rerun_why = (rerun_reason or "rerun requested") if release in state.runs else ""
        start = time.monotonic()
        started = _utc_now()
        info = built(release)
        if info is None and build is not None:
            say(f"[matrix] {release}: building (hack/build.sh {release})")
            ok, why = build(release, out / "logs" / f"build-{release}.log")
            info = built(release) if ok else None
            if info is None:
                reason = why or "hack/build.sh succeeded but wrote no releases/<release>.json"
                state.record(ReleaseRun(release, "not built", reason, started=started))
                say(f"[matrix] {release}: not built: {reason}")
                continue
        if info is None:
            reason = f"no node image built (run hack/build.sh {release})"
            state.record(ReleaseRun(release, "not built", reason, started=started))
            say(f"[matrix] {release}: not built: {reason}")
            continue
        report_dir = out / "runs" / release
        log = out / "logs" / f"suites-{release}.log"
        say(f"[matrix] {release}: running every suite on {info.node_image}")
        with PeakMemory() as peak:
            try:
                code = run_suites(release, report_dir, log)
            finally:
                cleanup(release, log)
        seconds = round(time.monotonic() - start, 1)
        has_report = (report_dir / REPORT).is_file()
        status = "run" if has_report else "run failed"
        reason = "" if has_report else f"pytest exited {code} without writing {REPORT}"
        state.record(
            ReleaseRun(
                release,
                status,
                reason,
                exit_code=code,
                report=str((report_dir / REPORT).relative_to(out)) if has_report else None,
                kubernetes_version=info.kubernetes_version,
                node_image=info.node_image,
                kind=info.kind,
                started=started,
                seconds=seconds,
                peak_memory_gib=peak.gib,
                ended=_utc_now(),
                arguments=arguments,
                rerun=rerun_why,
            )
        )
        say(f"[timing] matrix-{release} {seconds}s (pytest exit {code})")
    return state


# the header line of kconformance.plugin.pytest_report_header; --keep-clusters appends a field
_RUN_LINE = re.compile(
    r"^kconformance: releases .*; run ([0-9a-f]+)(?:; --keep-clusters)?\s*$", re.M
)


def run_ids(log_text: str) -> set[str]:
    """The run ids a pytest run of ours printed in its header: the only clusters it may delete
    (the registry under the cache is shared with every other run on the machine)."""
    return set(_RUN_LINE.findall(log_text))


# -- merge ---------------------------------------------------------------------------------


def stage_text(catalog: Catalog, gates: Sequence[str], release: str) -> str:
    """The catalog's stage of a feature's gates in a release, e.g. "B+" or "A/B+"."""
    if not gates:
        return "no gate"
    codes = [catalog.gates[g].stage(release) for g in gates]
    texts = []
    for gate, code in zip(gates, codes, strict=True):
        if code is Stage.ABSENT and catalog.gates[gate].graduated_before(release):
            texts.append("gone (GA)")
        else:
            texts.append(code.value)
    return "/".join(dict.fromkeys(texts))


def proof_text(tests: Sequence[Mapping[str, Any]]) -> str:
    """Summarise the ``proof`` fields of a feature's tests (absent in older reports)."""
    proofs = []
    for test in tests:
        proof = test.get("proof")
        if proof in (None, "", {}):
            continue
        if isinstance(proof, Mapping):
            value = proof.get("verdict") or proof.get("outcome") or proof.get("result")
            proofs.append(str(value) if value is not None else json.dumps(proof, sort_keys=True))
        else:
            proofs.append(str(proof))
    if not proofs:
        return ""
    counts: dict[str, int] = {}
    for p in proofs:
        counts[p] = counts.get(p, 0) + 1
    return ", ".join(f"{n} {p}" if n > 1 else p for p, n in counts.items())


def merge(
    catalog: Catalog, state: MatrixState, releases: Sequence[str], selection: str = ""
) -> dict[str, Any]:
    """The matrix as data: one row per catalog feature, one cell per release."""
    reports: dict[str, dict[str, Any]] = {}
    for release in releases:
        path = state.report(release)
        if path is not None and path.is_file():
            reports[release] = json.loads(path.read_text())
    rows = []
    for feature in catalog.features.values():
        cells: dict[str, Any] = {}
        for release in releases:
            run = state.runs.get(release)
            cell: dict[str, Any] = {"stage": stage_text(catalog, feature.gates, release)}
            if run is None:
                cell["verdict"] = "not run"
            elif run.status != "run":
                cell["verdict"] = run.status
                cell["reason"] = run.reason
            elif release not in reports:
                cell["verdict"] = "run failed"
                cell["reason"] = f"its report {state.report(release)} is gone"
            else:
                cell.update(_verdict(reports[release], feature.name, release))
            if release in feature.matrix:
                cell["explained"] = feature.matrix[release]
            cells[release] = cell
        rows.append(
            {
                "feature": feature.name,
                "kep": feature.kep,
                "reference": feature.reference,
                "sig": feature.sig,
                "gates": list(feature.gates),
                "releases": cells,
            }
        )
    return {
        "generated": _utc_now(),
        "machine": machine(),
        "selection": selection or "every suite",
        "releases": [
            asdict(state.runs[r]) if r in state.runs else {"release": r, "status": "not run"}
            for r in releases
        ],
        "features": rows,
    }


def _verdict(report: Mapping[str, Any], feature: str, release: str) -> dict[str, Any]:
    row = next((f for f in report.get("features", []) if f.get("feature") == feature), None)
    raw = (row or {}).get("releases", {}).get(release) or {"verdict": "not run"}
    cell: dict[str, Any] = {"verdict": raw.get("verdict", "not run")}
    for key in ("passed", "failed", "skipped", "seconds"):
        if key in raw:
            cell[key] = raw[key]
    if raw.get("reasons"):
        cell["reason"] = "; ".join(raw["reasons"])
    tests = [
        t
        for t in report.get("tests", [])
        if t.get("feature") == feature and t.get("release") == release
    ]
    if tests:
        cell["tests"] = [
            {
                "test": t["nodeid"],
                "outcome": t.get("outcome", ""),
                "note": t.get("reason") or (f"proof: {t['proof']}" if t.get("proof") else ""),
            }
            for t in tests
        ]
    failures = [t for t in tests if t.get("outcome") in ("failed", "error")]
    if failures:
        cell["failed_tests"] = [t["nodeid"] for t in failures]
    proof = proof_text(tests)
    if proof:
        cell["proof"] = proof
    return cell


def machine() -> dict[str, Any]:
    """Where the run happened: enough to compare runs of different machines."""
    mem_gib = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem_gib = round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    v2 = Path("/sys/fs/cgroup/cgroup.controllers").exists()
    return {
        "hostname": platform.node(),
        "kernel": platform.release(),
        "cpus": os.cpu_count(),
        "memory_gib": mem_gib,
        "cgroup": "v2" if v2 else "v1",
    }
