"""The coverage map (kconformance/data/upstream-coverage.yaml) and the recorded runs stay true to
the suites they name, and bench/CROSSCHECK.md is what they generate."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from kconformance.catalog import default_catalog
from kconformance.coverage import VERDICTS, Behaviour, Coverage, Group, counts, load_coverage
from kconformance.crosscheck import format_notes, format_table
from kconformance.crosscheck_md import CROSSCHECK_MD, render
from kconformance.crosscheck_runs import NO_COUNTERPART, Run, disagreements, load_runs

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def coverage() -> Coverage:
    return load_coverage()


@pytest.fixture(scope="module")
def runs() -> dict[str, Run]:
    return load_runs()


def _feature_marks(path: Path) -> dict[str, set[str]]:
    """Test function defined in ``path`` -> the features its @pytest.mark.feature(...) names."""
    marks: dict[str, set[str]] = {}
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.FunctionDef):
            marks[node.name] = {
                deco.args[0].value
                for deco in node.decorator_list
                if isinstance(deco, ast.Call)
                and isinstance(deco.func, ast.Attribute)
                and deco.func.attr == "feature"
                and deco.args
                and isinstance(deco.args[0], ast.Constant)
            }
    return marks


def _test_exists(ref: str) -> tuple[bool, set[str]]:
    file, _, function = ref.partition("::")
    path = ROOT / "suites" / file
    if not path.is_file():
        return False, set()
    marks = _feature_marks(path)
    return function in marks, marks.get(function, set())


def test_every_test_of_the_map_is_defined_in_suites_and_marked_with_its_feature(coverage):
    for behaviour in coverage.behaviours:
        for ref in behaviour.ours:
            defined, features = _test_exists(ref)
            assert defined, f"{behaviour.feature}: {ref} is not a test function in suites/"
            assert behaviour.feature in features, f"{ref} is not marked with {behaviour.feature}"


def test_every_test_the_runs_name_is_defined_in_suites(runs):
    for run in runs.values():
        for ref in run.ours_not_run:
            assert _test_exists(ref)[0], f"{run.release}: {ref} is not a test function in suites/"


def test_the_map_names_catalog_features_and_the_runs_its_specs(coverage, runs):
    catalog = default_catalog()
    assert [f for f in coverage.features if f not in catalog.features] == []
    specs = {name for b in coverage.behaviours if b.group.is_spec for name in b.group.names}
    for run in runs.values():
        assert [s for s in run.upstream_specs if s not in specs] == [], run.release
        assert [r[0] for r in run.rows if r[0] not in catalog.features] == [], run.release


def test_crosscheck_md_is_generated_from_the_map(coverage, runs):
    """`python -m kconformance crosscheck --coverage --check` in test form."""
    expected = render(coverage, runs, default_catalog())
    assert (ROOT / CROSSCHECK_MD).read_text() == expected, (
        "bench/CROSSCHECK.md is out of date: run python -m kconformance crosscheck --coverage"
    )


def _write(tmp_path: Path, entry: str, suite: str = "e2e", file: str = "test/e2e/a.go") -> Path:
    key = "specs" if suite.startswith("e2e") else "functions"
    path = tmp_path / "coverage.yaml"
    path.write_text(
        f"schema: 2\nrelease: '1.36'\nkubernetes: v1.36.3\nfeatures:\n  F:\n"
        f"    - suite: {suite}\n      file: {file}\n      {key}: [x]\n      asserts:\n"
        + "".join(f"        {line}\n" for line in entry.strip().splitlines())
    )
    return path


@pytest.mark.parametrize(
    ("entry", "suite", "file", "complaint"),
    [
        ("- {what: w, verdict: equivalent}", "e2e", "test/e2e/a.go", "`ours`"),
        ("- {what: w, verdict: missing, ours: [a.py::t]}", "e2e", "test/e2e/a.go", "`ours`"),
        ("- {what: w, verdict: reason}", "e2e", "test/e2e/a.go", "`reason`"),
        ("- {what: w, verdict: weaker, ours: [a.py::t]}", "e2e", "test/e2e/a.go", "note"),
        ("- {what: w, verdict: gap}", "e2e", "test/e2e/a.go", "verdict"),
        ("- {what: w, verdict: missing}", "unit", "test/e2e/a.go", "live under"),
        (
            "- {what: w, verdict: missing, reading: {verdict: EQ}}",
            "e2e",
            "test/e2e/a.go",
            "reading",
        ),
        (
            "- {what: w, verdict: missing, row: r}\n- {what: v, verdict: missing, row: r}",
            "e2e",
            "test/e2e/a.go",
            "twice",
        ),
    ],
)
def test_a_malformed_entry_is_refused_with_its_place(tmp_path, entry, suite, file, complaint):
    with pytest.raises(ValueError, match=complaint):
        load_coverage(_write(tmp_path, entry, suite, file))


def test_a_well_formed_entry_loads(tmp_path):
    path = _write(
        tmp_path,
        "- {what: w, verdict: reason, reason: why, reading: {verdict: MISS, why: because}}",
        "integration",
        "test/integration/a_test.go",
    )
    (behaviour,) = load_coverage(path).behaviours
    assert (behaviour.verdict, behaviour.reading.verdict, behaviour.group.names) == (
        "reason",
        "MISS",
        ("x",),
    )


def test_counts_are_in_verdict_order(coverage):
    assert sum(counts(coverage.behaviours)) == len(coverage.behaviours)
    assert VERDICTS == ("equivalent", "weaker", "missing", "reason")


def test_table_counts_the_rows_suite_only(coverage):
    rows = [
        ("SidecarContainers", "passed", "node e2e only", 60.0, 0.0),
        ("SidecarContainers", "passed", "passed (6/6)", 60.0, 120.0),
        ("NodeSwap", "not run", "node e2e only", 0.0, 0.0),
    ]
    lines = format_table(rows, coverage).splitlines()
    assert lines[0].endswith("| upstream behaviours: equivalent / weaker / missing / reason |")
    node = counts(coverage.of("SidecarContainers", "e2e_node"))
    e2e = counts(coverage.of("SidecarContainers", "e2e"))
    assert lines[2].endswith("| {} / {} / {} / {} |".format(*node))
    assert lines[3].endswith("| {} / {} / {} / {} |".format(*e2e))
    assert lines[4].endswith("| - |")
    assert "behaviours" not in format_table(rows)


def test_notes_come_from_the_catalog_per_release():
    catalog = default_catalog()
    notes = format_notes(catalog, "1.28", ["WatchList", "WatchList", "NodeSwap"])
    assert notes.splitlines() == [
        f"- WatchList: {catalog.features['WatchList'].crosscheck['1.28']}"
    ]


def _behaviour(group: Group, verdict: str, ours: tuple[str, ...] = ()) -> Behaviour:
    return Behaviour(
        "F", group, None, "w", verdict, ours, "r" if verdict == "reason" else None, None, None
    )


def test_disagreements_are_per_spec_against_our_counterparts():
    """A spec that skipped itself while ours passed, one we have no counterpart for, and one
    whose counterpart did not run disagree; a shared pass and a spec outside the focus do not."""
    covered = Group("e2e", "test/e2e/a.go", ("both pass", "skipped upstream"), True, None)
    uncovered = Group("e2e", "test/e2e/a.go", ("no counterpart",), True, None)
    outside = Group("e2e", "test/e2e/a.go", ("outside",), False, None)
    not_run = Group("e2e", "test/e2e/a.go", ("ours not run",), True, None)
    coverage = Coverage(
        "1.36",
        "v1.36.3",
        ("F",),
        (
            _behaviour(covered, "equivalent", ("a.py::test_a",)),
            _behaviour(uncovered, "missing"),
            _behaviour(outside, "missing"),
            _behaviour(not_run, "weaker", ("a.py::test_off",)),
        ),
    )
    run = Run(
        "1.36",
        "v1.36.3",
        "",
        (("F", "partial", "passed (4/4, 1 skipped)", 1.0, 1.0),),
        {"skipped upstream": "skipped: needs two nodes"},
        {"a.py::test_off": "the gate is locked on"},
        "",
    )
    found = {d.spec: d for d in disagreements(coverage, run, {"F": "the note"})}
    assert sorted(found) == ["no counterpart", "ours not run", "skipped upstream"]
    assert (found["skipped upstream"].upstream, found["skipped upstream"].ours) == (
        "skipped",
        "passed",
    )
    assert found["skipped upstream"].upstream_why == "needs two nodes"
    assert found["no counterpart"].ours == NO_COUNTERPART
    assert found["no counterpart"].ours_why == "missing: w"
    assert found["ours not run"].ours_why == "test_off: the gate is locked on"


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
