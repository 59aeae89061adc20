"""The cross-check's coverage data (kconformance/data/upstream-coverage.yaml) stays true to the
suite it names, and bench/CROSSCHECK.md shows what the data says."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from kconformance.catalog import default_catalog
from kconformance.crosscheck import (
    KINDS,
    behaviours,
    coverage_counts,
    format_coverage,
    format_notes,
    format_table,
    kind_of,
    load_coverage,
)

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def coverage():
    return load_coverage()


def _feature_marks(path: Path) -> dict[str, set[str]]:
    """test function -> the features its @pytest.mark.feature(...) decorators name."""
    marks: dict[str, set[str]] = {}
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.FunctionDef):
            names = set()
            for deco in node.decorator_list:
                if (
                    isinstance(deco, ast.Call)
                    and isinstance(deco.func, ast.Attribute)
                    and deco.func.attr == "feature"
                    and deco.args
                    and isinstance(deco.args[0], ast.Constant)
                ):
                    names.add(deco.args[0].value)
            marks[node.name] = names
    return marks


def test_every_behaviour_has_exactly_one_kind(coverage):
    for feature in coverage["features"]:
        for _group, behaviour in behaviours(coverage, feature):
            assert kind_of(behaviour) in KINDS
            assert behaviour["what"].strip()


def test_every_ours_reference_is_a_test_of_that_feature(coverage):
    for feature in coverage["features"]:
        for _group, behaviour in behaviours(coverage, feature):
            refs = behaviour.get("ours") or []
            for ref in refs if isinstance(refs, list) else [refs]:
                file, _, function = ref.partition("::")
                path = ROOT / "suites" / file
                assert path.is_file(), ref
                marks = _feature_marks(path)
                assert function in marks, f"{ref}: no such test"
                assert feature in marks[function], f"{ref} is not a test of {feature}"


def test_covered_features_are_cross_checked_against_upstream_e2e(coverage):
    catalog = default_catalog()
    for feature, groups in coverage["features"].items():
        upstream = catalog.features[feature].upstream
        assert any(u.get("suite") == "e2e" for u in upstream), feature
        for group in groups:
            assert group["specs"] and group["asserts"], feature
            assert group["file"].startswith("test/e2e/"), group["file"]


def test_crosscheck_md_shows_the_coverage_data(coverage):
    """bench/CROSSCHECK.md holds `python -m kconformance crosscheck --coverage` verbatim."""
    assert format_coverage(coverage) in (ROOT / "bench" / "CROSSCHECK.md").read_text()


def test_table_counts_behaviours_on_e2e_rows_only(coverage):
    rows = [
        ("SidecarContainers", "passed", "node e2e only", 60.0, 0.0),
        ("SidecarContainers", "passed", "passed (6/6)", 60.0, 120.0),
        ("NodeSwap", "not run", "node e2e only", 0.0, 0.0),
    ]
    lines = format_table(rows, coverage).splitlines()
    assert lines[0].endswith("| upstream behaviours: ours / reason / gap |")
    assert lines[2].endswith("| - |")
    assert lines[3].endswith(
        "| {} / {} / {} |".format(*coverage_counts(coverage, "SidecarContainers"))
    )
    assert lines[4].endswith("| - |")
    assert "behaviours" not in format_table(rows)


def test_notes_come_from_the_catalog_per_release():
    catalog = default_catalog()
    notes = format_notes(catalog, "1.28", ["WatchList", "WatchList", "NodeSwap"])
    assert notes.splitlines() == [
        f"- WatchList: {catalog.features['WatchList'].crosscheck['1.28']}"
    ]


def _junit(path: Path, cases: list[str]) -> None:
    path.mkdir(parents=True, exist_ok=True)
    body = "".join(cases)
    (path / "junit_01.xml").write_text(f"<testsuites><testsuite>{body}</testsuite></testsuites>")


def test_verdict_counts_only_specs_the_focus_selected(tmp_path):
    """ginkgo's JUnit lists every spec of e2e.test; those outside the focus are plain
    "skipped", a selected spec that skipped itself says why."""
    from kconformance.crosscheck import result_label, verdict_from

    _junit(
        tmp_path / "a",
        [
            '<testcase name="[It] ran and passed"></testcase>',
            '<testcase name="[It] not in focus"><skipped message="skipped"/></testcase>',
            '<testcase name="[It] two nodes"><skipped message="skipped - needs two nodes"/>'
            "</testcase>",
            '<testcase name="[SynchronizedBeforeSuite]"></testcase>',
        ],
    )
    result = verdict_from(tmp_path / "a", "focus", 1.0)
    assert (result.verdict, result.passed, result.failed, result.skipped) == ("passed", 1, 0, 1)
    assert result_label(result) == "passed (1/1, 1 skipped)"

    _junit(
        tmp_path / "b",
        ['<testcase name="[It] x"><skipped message="skipped - requires 2 nodes"/></testcase>'],
    )
    assert result_label(verdict_from(tmp_path / "b", "focus", 1.0)) == "skipped (0/0, 1 skipped)"

    _junit(tmp_path / "c", ['<testcase name="[It] x"><failure message="boom"/></testcase>'])
    assert result_label(verdict_from(tmp_path / "c", "focus", 1.0)) == "failed (0/1)"
    assert verdict_from(tmp_path / "d", "f", 600.0, True, 600).verdict == "timed out after 600s"
