"""One renderer for the feature x release grid: one model, each document a style of it."""

from __future__ import annotations

import pytest

from kconformance import matrixdoc, merge, report
from kconformance.grid.markdown import MarkdownStyle, Notes, notes, table
from kconformance.grid.model import Cell, Failure, Grid, Proof, Row, Tally, from_report

RELEASES = ("1.28", "1.36")


def report_rows() -> list[dict]:
    """Two features as kconformance-report.json has them: one failed with a proof that did not
    prove it, one not testable."""
    failed = {
        "verdict": "failed",
        "passed": 1,
        "failed": 1,
        "skipped": 0,
        "reasons": [],
        "profiles": ["gates", "swap"],
        "seconds": 3.5,
        "failures": [{"test": "t.py::test_x[1.28]", "reason": "AssertionError: no"}],
        "proof": {
            "verdict": "not proved",
            "proved": 1,
            "ran": 2,
            "outcomes": {"proved": 1, "not proved": 1},
        },
    }
    return [
        {
            "feature": "SidecarContainers",
            "kep": 753,
            "reference": "KEP 753",
            "sig": "sig_node",
            "gates": ["SidecarContainers"],
            "releases": {"1.28": failed, "1.36": {"verdict": "not run", "proof": {}}},
        },
        {
            "feature": "EtcdVersion",
            "kep": None,
            "reference": "PR #117999",
            "sig": "sig_api_machinery",
            "gates": [],
            "releases": {
                r: {
                    "verdict": "not testable",
                    "reasons": ["not cluster behaviour"],
                    "proof": {"verdict": "cannot be switched off", "reasons": ["no gate"]},
                }
                for r in RELEASES
            },
        },
    ]


def test_a_report_row_becomes_the_model():
    grid = from_report(RELEASES, report_rows())
    sidecar, etcd = grid.rows
    cell = sidecar.cells["1.28"]
    assert cell.tally == Tally(1, 1, 0, 3.5)
    assert cell.failures == (Failure("t.py::test_x[1.28]", "AssertionError: no"),)
    assert cell.proof == Proof("not proved", 2, {"proved": 1, "not proved": 1})
    assert sidecar.cells["1.36"] == Cell()  # an empty proof is no proof
    assert etcd.cells["1.36"].tally is None
    assert grid.verdicts() == {"failed": 1, "not run": 1, "not testable": 2}


@pytest.mark.parametrize(
    ("proof", "text"),
    [
        (Proof("proved", 2, {"proved": 2}), "proved (2/2 proved)"),
        (
            Proof("not proved", 3, {"proved": 1, "gated at API": 1, "not proved": 1}),
            "not proved (1/3 proved, 1 gated at API, 1 not proved)",
        ),
        (Proof("cannot be switched off", reasons=("GA",)), "cannot be switched off"),
        (Proof("2 proved, 1 failed"), "2 proved, 1 failed"),  # an older report's summary
    ],
)
def test_the_proof_reads_the_same_in_every_document(proof, text):
    assert proof.summary() == text


COMPACT = MarkdownStyle(
    columns=("sig",),
    proof_column=False,
    seconds=True,
    profiles=False,
    not_run="-",
    failure_note="- {feature} on {release}: `{test}`: {reason}",
    reason_note="- {feature} on {release}: {reason}",
    notes=(Notes("### Notes", ("failure", "reason", "proof"), sort=True),),
)
FULL = MarkdownStyle(
    columns=("sig", "gates"),
    proof_column=True,
    seconds=True,
    profiles=True,
    failure_note="- {feature} on {release}: FAILED {test}: {reason}",
    reason_note="- {feature} on {release} ({verdict}): {reason}",
    notes=(Notes("## Reasons", ("failure", "reason", "proof")),),
)


def test_one_grid_in_two_styles():
    grid = from_report(RELEASES, report_rows())
    assert table(grid, COMPACT) == [
        "| Feature | KEP / PR | SIG | 1.28 | 1.36 |",
        "|---|---|---|---|---|",
        "| SidecarContainers | KEP 753 | sig_node | **FAILED** 1/2, 3.5s; off: not proved "
        "(1/2 proved, 1 not proved) | - |",
        "| EtcdVersion | PR #117999 | sig_api_machinery | not testable; off: cannot be switched "
        "off | not testable; off: cannot be switched off |",
    ]
    assert table(grid, FULL)[:3] == [
        "| Feature | KEP / PR | SIG | Gates | 1.28 | 1.28 proof | 1.36 | 1.36 proof |",
        "|---|---|---|---|---|---|---|---|",
        "| SidecarContainers | KEP 753 | sig_node | SidecarContainers | **FAILED** 1/2, 3.5s, "
        "gates/swap | not proved (1/2 proved, 1 not proved) | not run | not run |",
    ]
    assert table(grid, FULL)[3].startswith("| EtcdVersion | PR #117999 | sig_api_machinery | none")


def test_notes_follow_the_cells_or_are_sorted_once():
    grid = from_report(RELEASES, report_rows())
    assert notes(grid, FULL) == [
        "",
        "## Reasons",
        "",
        "- SidecarContainers on 1.28: FAILED t.py::test_x[1.28]: AssertionError: no",
        "- EtcdVersion on 1.28 (not testable): not cluster behaviour",
        "- EtcdVersion on 1.28 (proof): no gate",
        "- EtcdVersion on 1.36 (not testable): not cluster behaviour",
        "- EtcdVersion on 1.36 (proof): no gate",
    ]
    assert notes(grid, COMPACT)[3:] == [
        "- EtcdVersion on 1.28 (proof): no gate",
        "- EtcdVersion on 1.28: not cluster behaviour",
        "- EtcdVersion on 1.36 (proof): no gate",
        "- EtcdVersion on 1.36: not cluster behaviour",
        "- SidecarContainers on 1.28: `t.py::test_x[1.28]`: AssertionError: no",
    ]


def test_a_grid_without_a_pr_names_the_column_kep_and_a_stage_leads_the_cell():
    row = Row("F", "KEP 1", "sig_x", (), {"1.28": Cell("partial", Tally(1, 0, 1), stage="B+")})
    assert table(Grid(("1.28",), (row,)), matrixdoc.MATRIX_STYLE) == [
        "| Feature | KEP | 1.28 |",
        "|---|---|---|",
        "| F | KEP 1 | B+: partial 1/2 |",
    ]
    assert notes(Grid(("1.28",), ()), COMPACT) == []


def test_a_failed_cell_reads_failed_in_each_document():
    """The report, the merged summary and the matrix render through the same code."""
    rows = report_rows()
    report_md = report._markdown(rows, list(RELEASES), "now")
    merged_md = merge.markdown({"releases": list(RELEASES), "features": rows, "sources": []})
    cell = {"stage": "A", "verdict": "failed", "passed": 1, "failed": 1, "skipped": 0}
    matrix_md = matrixdoc.markdown(
        {
            "generated": "now",
            "machine": {"hostname": "h", "cpus": 2, "memory_gib": 1, "kernel": "k", "cgroup": "v1"},
            "releases": [{"release": "1.28", "status": "run"}],
            "features": [
                {
                    "feature": "SidecarContainers",
                    "reference": "KEP 753",
                    "sig": "sig_node",
                    "gates": [],
                    "releases": {"1.28": cell},
                }
            ],
        }
    )
    assert "| **FAILED** 1/2, 3.5s, gates/swap |" in report_md
    assert "| **FAILED** 1/2, 3.5s; off: not proved" in merged_md
    assert "| SidecarContainers | KEP 753 | A: **FAILED** 1/2 |" in matrix_md


def test_the_html_page_colours_each_cell_and_links_it_to_its_tests():
    """Self-contained (no script, no network), coloured by verdict, a badge per stage, and a
    section per cell with its tests, reasons and proof; text is escaped."""
    from kconformance.grid.html import anchor, page
    from kconformance.grid.model import CellTest

    failed = Cell(
        "failed",
        Tally(1, 1, 0),
        failures=(Failure("t.py::test_b[1.36]", "assert <1> == 2"),),
        stage="GL",
        explanation="not explained",
        tests=(CellTest("t.py::test_a[1.36]", "passed"), CellTest("t.py::test_b[1.36]", "failed")),
    )
    skipped = Cell("skipped", Tally(0, 0, 1), reasons=("needs cgroup v2",), stage="B+")
    odd = Cell("something new")
    proved = Cell("passed", Tally(1, 0, 0), proof=Proof("proved", 1, {"proved": 1}), stage="A")
    row = Row(
        "F<x>", "KEP 1", "sig_x", (), {"1.28": proved, "1.35": odd, "1.36": failed, "1.34": skipped}
    )
    html = page(Grid(("1.28", "1.34", "1.35", "1.36"), (row,)), "Matrix", ["intro & more"])
    assert "<script" not in html and "http" not in html
    assert "F&lt;x&gt;" in html and "F<x>" not in html
    assert "intro &amp; more" in html
    assert f'<a href="#{anchor("F<x>", "1.36")}">' in html
    assert f'<section class="cell" id="{anchor("F<x>", "1.36")}">' in html
    assert 'style="background:#c62828;color:#fff"' in html  # failed, and the unknown verdict
    assert html.count('#c62828;color:#fff" title=') == 2
    assert '<li class="failed">failed: <code>t.py::test_b[1.36]</code>' in html
    assert "assert &lt;1&gt; == 2" in html
    assert "<p>reason: needs cgroup v2</p>" in html
    assert "passed 1/1; off: proved (1/1 proved)" in html
    assert anchor("F<x>", "1.35") not in html  # nothing to show: no section, no link
