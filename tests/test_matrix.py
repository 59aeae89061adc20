"""The matrix runner and merge, with fake builds and fake suite runs (no cluster)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kconformance.catalog import default_catalog
from kconformance.commands.matrix import build_failure_reason
from kconformance.matrix import Built, MatrixState, merge, proof_text, run_matrix
from kconformance.matrixdoc import markdown


def _report(release: str, outcomes: dict[str, str], proof: dict[str, str] | None = None) -> dict:
    """A kconformance-report.json as the plugin writes it, for the given feature outcomes."""
    features = []
    tests = []
    for feature, outcome in outcomes.items():
        cell = {
            "verdict": outcome,
            "passed": int(outcome == "passed"),
            "failed": int(outcome == "failed"),
            "skipped": int(outcome == "skipped"),
            "reasons": ["needs containerd >= 2.0"] if outcome == "skipped" else [],
            "profiles": ["gates"],
            "seconds": 1.5,
        }
        features.append({"feature": feature, "releases": {release: cell}})
        test = {
            "nodeid": f"suites/test_{feature}.py::test_it[{release}]",
            "outcome": outcome,
            "feature": feature,
            "release": release,
        }
        if proof and feature in proof:
            test["proof"] = proof[feature]
        tests.append(test)
    return {"releases": [release], "features": features, "tests": tests}


class FakeWorld:
    """Which releases are built, what building does, what each suite run reports."""

    def __init__(self, built: set[str], outcomes: dict[str, dict[str, str]]) -> None:
        self.built = set(built)
        self.outcomes = outcomes
        self.ran: list[str] = []
        self.cleaned: list[str] = []
        self.builds: list[str] = []

    def lookup(self, release: str) -> Built | None:
        if release not in self.built:
            return None
        return Built(f"v{release}.1", f"kindest/node:v{release}.1", "/cache/bin/kind-v0.25.0")

    def build(self, release: str, log: Path) -> tuple[bool, str]:
        self.builds.append(release)
        if release == "1.30":
            return False, "step k8s-v1.30.14-build failed: go: module lookup disabled"
        self.built.add(release)
        return True, ""

    def run(self, release: str, report_dir: Path, log: Path) -> int:
        self.ran.append(release)
        if release not in self.outcomes:
            return 3  # pytest crashed before writing a report
        report_dir.mkdir(parents=True, exist_ok=True)
        report = _report(release, self.outcomes[release], {"SidecarContainers": "failed"})
        (report_dir / "kconformance-report.json").write_text(json.dumps(report))
        return 1 if "failed" in self.outcomes[release].values() else 0

    def clean(self, release: str, log: Path) -> None:
        self.cleaned.append(release)


def _run(world: FakeWorld, out: Path, releases: list[str], **kw) -> MatrixState:
    return run_matrix(
        releases,
        out,
        built=world.lookup,
        run_suites=world.run,
        cleanup=world.clean,
        say=lambda _: None,
        **kw,
    )


def test_each_release_runs_once_and_its_clusters_go_before_the_next(tmp_path):
    world = FakeWorld(
        {"1.28", "1.36"},
        {"1.28": {"SidecarContainers": "passed"}, "1.36": {"SidecarContainers": "passed"}},
    )
    state = _run(world, tmp_path, ["1.28", "1.36"])
    assert world.ran == ["1.28", "1.36"]
    assert world.cleaned == ["1.28", "1.36"]
    assert {r: state.runs[r].status for r in state.runs} == {"1.28": "run", "1.36": "run"}
    assert state.runs["1.28"].kubernetes_version == "v1.28.1"


def test_unbuilt_release_is_a_column_with_the_reason_and_others_still_run(tmp_path):
    world = FakeWorld({"1.28"}, {"1.28": {"SidecarContainers": "passed"}})
    state = _run(world, tmp_path, ["1.28", "1.29"])
    assert world.ran == ["1.28"]
    assert state.runs["1.29"].status == "not built"
    assert "hack/build.sh 1.29" in state.runs["1.29"].reason


def test_failed_build_names_the_step(tmp_path):
    world = FakeWorld({"1.28"}, {"1.28": {}, "1.29": {"SidecarContainers": "passed"}})
    state = _run(world, tmp_path, ["1.28", "1.29", "1.30"], build=world.build)
    assert world.builds == ["1.29", "1.30"]
    assert world.ran == ["1.28", "1.29"]
    assert state.runs["1.30"].status == "not built"
    assert state.runs["1.30"].reason.startswith("step k8s-v1.30.14-build failed")


def test_interrupted_run_resumes_after_the_last_finished_release(tmp_path):
    world = FakeWorld({"1.28", "1.29"}, {"1.28": {}, "1.29": {}})

    class Interrupt(Exception):
        pass

    def run_then_stop(release, report_dir, log):
        if release == "1.29":
            raise Interrupt
        return world.run(release, report_dir, log)

    with pytest.raises(Interrupt):
        run_matrix(
            ["1.28", "1.29"],
            tmp_path,
            built=world.lookup,
            run_suites=run_then_stop,
            cleanup=world.clean,
            say=lambda _: None,
        )
    assert world.cleaned == ["1.28", "1.29"]  # clusters deleted even when interrupted
    assert list(MatrixState.load(tmp_path / "state.json").runs) == ["1.28"]
    world.ran.clear()
    state = _run(world, tmp_path, ["1.28", "1.29"])
    assert world.ran == ["1.29"]
    assert set(state.runs) == {"1.28", "1.29"}
    world.ran.clear()
    _run(world, tmp_path, ["1.28", "1.29"], rerun=["1.28"])
    assert world.ran == ["1.28"]


def test_run_without_report_is_marked(tmp_path):
    world = FakeWorld({"1.28"}, {})
    state = _run(world, tmp_path, ["1.28"])
    assert state.runs["1.28"].status == "run failed"
    assert "exited 3" in state.runs["1.28"].reason


def test_merge_has_a_row_per_feature_with_stage_verdict_and_proof(tmp_path):
    catalog = default_catalog()
    world = FakeWorld(
        {"1.28", "1.36"},
        {
            "1.28": {"SidecarContainers": "passed", "UserNamespacesSupport": "skipped"},
            "1.36": {"SidecarContainers": "failed"},
        },
    )
    releases = ["1.28", "1.33", "1.36"]
    state = _run(world, tmp_path, releases)
    matrix = merge(catalog, state, releases)
    assert [row["feature"] for row in matrix["features"]] == list(catalog.features)
    sidecar = next(r for r in matrix["features"] if r["feature"] == "SidecarContainers")
    assert sidecar["releases"]["1.28"].pop("tests") == [
        {
            "test": "suites/test_SidecarContainers.py::test_it[1.28]",
            "outcome": "passed",
            "note": "proof: failed",
        }
    ]
    assert sidecar["releases"]["1.28"] == {
        "stage": "A",
        "verdict": "passed",
        "passed": 1,
        "failed": 0,
        "skipped": 0,
        "seconds": 1.5,
        "proof": "failed",
    }
    assert sidecar["releases"]["1.33"]["verdict"] == "not built"
    assert sidecar["releases"]["1.36"]["stage"] == "GL"
    assert sidecar["releases"]["1.36"]["failed_tests"]
    userns = next(r for r in matrix["features"] if r["feature"] == "UserNamespacesSupport")
    assert userns["releases"]["1.28"]["reason"] == "needs containerd >= 2.0"
    assert "proof" not in userns["releases"]["1.28"]  # absent field tolerated
    text = markdown(matrix)
    assert "| SidecarContainers | KEP 753 | A: passed 1/1; off: failed |" in text
    assert "not built: no node image built (run hack/build.sh 1.33)" in text
    assert "UserNamespacesSupport on 1.28 (skipped): needs containerd >= 2.0" in text
    assert (
        "SidecarContainers on 1.36: failed `suites/test_SidecarContainers.py::test_it[1.36]` - NOT EXPLAINED"
        in text
    )


def test_a_failed_cell_carries_the_catalogs_explanation(tmp_path):
    catalog = default_catalog()
    sidecars = catalog.features["SidecarContainers"]
    explained = sidecars.model_copy(update={"matrix": {"1.36": "a behaviour change in 1.36"}})
    catalog = catalog.model_copy(
        update={"features": {**catalog.features, "SidecarContainers": explained}}
    )
    world = FakeWorld({"1.36"}, {"1.36": {"SidecarContainers": "failed"}})
    matrix = merge(catalog, _run(world, tmp_path, ["1.36"]), ["1.36"])
    row = next(r for r in matrix["features"] if r["feature"] == "SidecarContainers")
    assert row["releases"]["1.36"]["explained"] == "a behaviour change in 1.36"
    assert "- a behaviour change in 1.36" in markdown(matrix)


def test_stage_text_says_when_a_gate_is_gone_after_ga():
    catalog = default_catalog()
    from kconformance.matrix import stage_text

    assert stage_text(catalog, ["JobPodFailurePolicy", "PodDisruptionConditions"], "1.28") == "B+"
    assert stage_text(catalog, ["APISelfSubjectReview"], "1.36") == "gone (GA)"
    assert stage_text(catalog, [], "1.28") == "no gate"


@pytest.mark.parametrize(
    ("proofs", "text"),
    [
        ([None, {}], ""),
        (["failed", "failed"], "2 failed"),
        ([{"outcome": "failed"}, {"verdict": "passed"}], "failed, passed"),
    ],
)
def test_proof_text_reads_strings_and_dicts(proofs, text):
    assert proof_text([{"proof": p} for p in proofs]) == text


def test_build_failure_reason_names_step_and_last_log_line():
    output = "\n".join(
        [
            "[timing] setup-docker 9s",
            "[timing] k8s-v1.30.14-deps 12s",
            "step k8s-v1.30.14-deps failed: bash -c ...",
            "---- last 30 lines of /cache/logs/k8s-v1.30.14-deps.log ----",
            "go: k8s.io/api@v0.30.14: reading https://proxy.golang.org/...: 403 Forbidden",
            "error: phase build-go-total failed (exit 1)",
        ]
    )
    assert build_failure_reason(output, 1) == (
        "step k8s-v1.30.14-deps failed: go: k8s.io/api@v0.30.14: reading "
        "https://proxy.golang.org/...: 403 Forbidden"
    )
    assert build_failure_reason("boom\n", 2) == "hack/build.sh exited 2: boom"


def test_cleanup_only_knows_the_run_ids_its_own_pytest_printed():
    from kconformance.matrix import run_ids

    log = "\n".join(
        [
            "kconformance: releases 1.28; kind; run e54f53",
            "kconformance: cluster kc-gates-128-e54f53 [1.28-gates] ready in 85.6s",
            "someone else: kconformance: releases 1.28; kind; run 45b404 (quoted, not ours)",
            "kconformance: releases 1.36; kind; run dd21e0; --keep-clusters",
        ]
    )
    assert run_ids(log) == {"e54f53", "dd21e0"}


def test_each_release_records_the_machines_peak_memory_and_the_table_totals_it(tmp_path):
    def run_suites(release: str, report_dir: Path, log: Path) -> int:
        report_dir.mkdir(parents=True)
        (report_dir / "kconformance-report.json").write_text('{"features": [], "tests": []}')
        return 0

    state = run_matrix(
        ["1.28"],
        tmp_path,
        built=lambda r: Built("v1.28.15", "kindest/node:v1.28.15", None),
        run_suites=run_suites,
        cleanup=lambda r, log: None,
        say=lambda line: None,
    )
    assert state.runs["1.28"].peak_memory_gib > 0
    text = markdown(merge(default_catalog(), state, ["1.28"]))
    assert "over 1 releases; peak" in text
    assert f"| {state.runs['1.28'].peak_memory_gib} GiB |" in text


def test_merge_only_reads_the_reports_from_any_working_directory(tmp_path, monkeypatch):
    """The state names reports relative to itself: `matrix --merge-only --out X` works from
    another directory (it used to resolve `matrix/runs/...` against the working directory)."""
    world = FakeWorld({"1.28"}, {"1.28": {"SidecarContainers": "passed"}})
    out = tmp_path / "matrix"
    _run(world, out, ["1.28"])
    assert MatrixState.load(out / "state.json").runs["1.28"].report == (
        "runs/1.28/kconformance-report.json"
    )
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    state = MatrixState.load(Path("..") / "matrix" / "state.json")
    matrix = merge(default_catalog(), state, ["1.28"])
    sidecar = next(r for r in matrix["features"] if r["feature"] == "SidecarContainers")
    assert sidecar["releases"]["1.28"]["verdict"] == "passed"


def test_a_report_gone_since_the_run_is_a_failed_run_not_a_crash(tmp_path):
    world = FakeWorld({"1.28"}, {"1.28": {"SidecarContainers": "passed"}})
    state = _run(world, tmp_path, ["1.28"])
    (tmp_path / "runs" / "1.28" / "kconformance-report.json").unlink()
    matrix = merge(default_catalog(), state, ["1.28"])
    cell = matrix["features"][0]["releases"]["1.28"]
    assert cell["verdict"] == "run failed"
    assert "is gone" in cell["reason"]


def test_the_header_says_how_each_column_came_about(tmp_path):
    """Each release's start, end and pytest arguments, and why a column was run again."""
    world = FakeWorld({"1.28", "1.36"}, {"1.28": {}, "1.36": {}})
    _run(world, tmp_path, ["1.28", "1.36"], arguments="--prove")
    state = _run(
        world, tmp_path, ["1.28", "1.36"], rerun=["1.36"], rerun_reason="node image rebuilt"
    )
    assert state.runs["1.28"].rerun == ""
    assert state.runs["1.36"].rerun == "node image rebuilt"
    assert state.runs["1.28"].arguments == "--prove"
    assert state.runs["1.36"].arguments == ""
    assert state.runs["1.36"].ended >= state.runs["1.36"].started
    text = markdown(merge(default_catalog(), state, ["1.28", "1.36"]))
    assert "| `--prove` |  |" in text
    assert " |  | node image rebuilt |" in text
