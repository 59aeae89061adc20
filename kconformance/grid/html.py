"""The grid as one self-contained HTML page: readable at a glance, no network, no JavaScript.

Each cell is coloured by its verdict and starts with the catalog's stage in a badge of its own
colour; it links to its section under the table, which lists the cell's tests with how each
ended, the skip reasons, the failures, the feature-off proof and the catalog's explanation.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from html import escape

from kconformance.grid.model import Cell, Grid, Row


@dataclass(frozen=True)
class VerdictStyle:
    """How a verdict shows: its cell's colours, and its letters where a cell is too narrow for
    the word (the history's nights)."""

    background: str
    colour: str
    letters: str


# one entry per verdict a grid can hold; a verdict not listed (an undocumented one) is red
_VERDICT_STYLES = {
    "passed": VerdictStyle("#2e7d32", "#fff", "P"),
    "partial": VerdictStyle("#9ccc65", "#000", "p"),
    "configured": VerdictStyle("#c5e1a5", "#000", "C"),
    "skipped": VerdictStyle("#cfd8dc", "#000", "S"),
    "not testable": VerdictStyle("#eceff1", "#555", "NT"),
    "not run": VerdictStyle("#fafafa", "#999", "-"),
    "not built": VerdictStyle("#ffe082", "#000", "NB"),
    "run failed": VerdictStyle("#ff8a65", "#000", "RF"),
    "failed": VerdictStyle("#c62828", "#fff", "F"),
    "missing": VerdictStyle("#c62828", "#fff", "M"),
}
_UNKNOWN = VerdictStyle("#c62828", "#fff", "?")

# the catalog's stage codes (A alpha, B- beta off, B+ beta on, G GA, GL GA locked, X no gate)
_STAGE_COLOURS = {
    "A": "#ef6c00",
    "B-": "#f9a825",
    "B+": "#1565c0",
    "G": "#6a1b9a",
    "GL": "#4a148c",
}

_CSS = """
body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5em; color: #222; }
table.grid { border-collapse: collapse; }
.grid th, .grid td { border: 1px solid #bbb; padding: 3px 6px; vertical-align: top; }
.grid th { background: #eee; position: sticky; top: 0; }
.grid td.cell a { color: inherit; text-decoration: none; display: block; }
.stage { display: inline-block; padding: 0 4px; border-radius: 3px; color: #fff;
         font-size: 11px; background: #777; margin-right: 3px; }
.legend span { display: inline-block; padding: 1px 6px; margin: 2px; border: 1px solid #bbb; }
section.cell { border-top: 1px solid #ddd; padding: 0.4em 0; }
section.cell:target { background: #fff8e1; }
td.changed { outline: 3px solid #000; outline-offset: -3px; }
li.failed, li.error { color: #c62828; font-weight: bold; }
li.skipped { color: #666; }
code { font-size: 12px; }
"""


def page(grid: Grid, title: str, intro: Iterable[str] = (), after: Iterable[str] = ()) -> str:
    """The whole page: title, intro paragraphs (plain text), legend, table, cell sections,
    then ``after`` (HTML a caller renders, e.g. the nightly's history)."""
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{escape(title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{escape(title)}</h1>",
        *(f"<p>{escape(line)}</p>" for line in intro),
        _legend(grid),
        _table(grid),
        "<h2>Cells</h2>",
        *(_section(row, r) for row in grid.rows for r in grid.releases if _has_detail(row, r)),
        *after,
        "</body></html>",
    ]
    return "\n".join(parts) + "\n"


def anchor(feature: str, release: str) -> str:
    """The id of a cell's section: ``c-SidecarContainers-1-28``."""
    return "c-" + re.sub(r"[^A-Za-z0-9]+", "-", f"{feature}-{release}")


def style(verdict: str) -> VerdictStyle:
    return _VERDICT_STYLES.get(verdict, _UNKNOWN)


def _legend(grid: Grid) -> str:
    seen = sorted(grid.verdicts().items())
    spans = []
    for verdict, count in seen:
        look = style(verdict)
        spans.append(
            f'<span style="background:{look.background};color:{look.colour}">{escape(verdict)}: '
            f"{count}</span>"
        )
    return '<p class="legend">' + "".join(spans) + "</p>"


def _table(grid: Grid) -> str:
    head = "".join(f"<th>{escape(r)}</th>" for r in grid.releases)
    lines = [
        '<table class="grid">',
        f"<tr><th>Feature</th><th>KEP / PR</th><th>SIG</th>{head}</tr>",
    ]
    for row in grid.rows:
        cells = "".join(_td(row, r) for r in grid.releases)
        lines.append(
            f"<tr><th>{escape(row.feature)}</th><td>{escape(row.reference)}</td>"
            f"<td>{escape(row.sig)}</td>{cells}</tr>"
        )
    lines.append("</table>")
    return "\n".join(lines)


def _stage(cell: Cell) -> str:
    if cell.stage is None:
        return ""
    colour = _STAGE_COLOURS.get(cell.stage, "#777")
    return f'<span class="stage" style="background:{colour}">{escape(cell.stage)}</span>'


def _summary(cell: Cell) -> str:
    text = cell.verdict
    if cell.tally is not None:
        text += f" {cell.tally.passed}/{cell.tally.total}"
    if cell.proof is not None and cell.proof.verdict != "not run":
        text += f"; off: {cell.proof.summary()}"
    return escape(text)


def _td(row: Row, release: str) -> str:
    cell = row.cells[release]
    look = style(cell.verdict)
    body = _stage(cell) + _summary(cell)
    if _has_detail(row, release):
        body = f'<a href="#{anchor(row.feature, release)}">{body}</a>'
    return (
        f'<td class="cell" style="background:{look.background};color:{look.colour}" '
        f'title="{escape(row.feature)} on {escape(release)}">{body}</td>'
    )


def _has_detail(row: Row, release: str) -> bool:
    cell = row.cells[release]
    return bool(cell.tests or cell.failures or cell.reasons or cell.proof)


def _section(row: Row, release: str) -> str:
    cell = row.cells[release]
    lines = [
        f'<section class="cell" id="{anchor(row.feature, release)}">',
        f"<h3>{escape(row.feature)} on {escape(release)}: {_stage(cell)}{_summary(cell)}</h3>",
    ]
    if cell.profiles:
        lines.append(f"<p>profiles: {escape(', '.join(cell.profiles))}</p>")
    if cell.tests:
        lines.append("<ul>")
        for test in cell.tests:
            note = f" - {escape(test.note)}" if test.note else ""
            lines.append(
                f'<li class="{escape(test.outcome)}">{escape(test.outcome)}: '
                f"<code>{escape(test.test)}</code>{note}</li>"
            )
        lines.append("</ul>")
    listed = {t.test for t in cell.tests}
    for failure in cell.failures:
        if failure.test not in listed or failure.reason:
            reason = f" - {escape(failure.reason)}" if failure.reason else ""
            lines.append(
                f'<p class="failed">failed <code>{escape(failure.test)}</code>{reason}</p>'
            )
    if cell.failures and cell.explanation:
        lines.append(f"<p>explanation: {escape(cell.explanation)}</p>")
    lines += [f"<p>reason: {escape(reason)}</p>" for reason in cell.reasons]
    if cell.proof is not None:
        lines.append(f"<p>feature-off proof: {escape(cell.proof.summary())}</p>")
        lines += [f"<p>proof: {escape(reason)}</p>" for reason in cell.proof.reasons]
    lines.append("</section>")
    return "\n".join(lines)
