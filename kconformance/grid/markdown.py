"""The grid as GitHub-flavoured Markdown: the table, then notes that explain its cells.

One renderer for the three documents that show the grid; a :class:`MarkdownStyle` says what a
document shows of it. The run's report is the full record (SIG and gates, a proof column per
release, profiles and seconds in each cell); the nightly's merged summary is compact (a
feature not run on a release is "-"); the lifecycle matrix starts each cell with the catalog's
stage. A failed cell reads **FAILED** in every document (and a merged summary's cell whose CI
shard left no report **MISSING**).
"""

from __future__ import annotations

from dataclasses import dataclass

from kconformance.grid.model import Cell, Grid, Row

# identity columns a document may show after Feature and KEP / PR
_COLUMNS = {
    "sig": ("SIG", lambda row: row.sig),
    "gates": ("Gates", lambda row: ", ".join(row.gates) or "none"),
}


@dataclass(frozen=True)
class Notes:
    """A section of notes under the table.

    Args:
        heading: the section's heading line, e.g. ``## Reasons``.
        kinds: which notes of a cell, in order: "failure" (each failed test), "reason" (each
            skip reason or why the cell did not run), "proof" (why the feature could not be
            switched off).
        sort: sorted and without repeats (merged shards may say the same thing twice).
    """

    heading: str
    kinds: tuple[str, ...]
    sort: bool = False


@dataclass(frozen=True)
class MarkdownStyle:
    """What one document shows of the grid.

    Args:
        columns: identity columns after Feature and KEP / PR: "sig", "gates".
        proof_column: the proof in a column of its own per release; else appended to the cell
            as "; off: <proof>" where a proof ran.
        seconds: the tests' seconds in the cell.
        profiles: the profiles the tests ran on, in the cell.
        not_run: how a cell nothing ran in reads.
        failure_note: a failed test's note; fields feature, release, verdict, test, reason,
            explanation.
        reason_note: a skip reason's note; fields feature, release, verdict, reason.
        notes: the sections under the table.
    """

    columns: tuple[str, ...]
    proof_column: bool
    seconds: bool
    profiles: bool
    failure_note: str
    reason_note: str
    notes: tuple[Notes, ...]
    not_run: str = "not run"


def table(grid: Grid, style: MarkdownStyle) -> list[str]:
    """The header, separator and one line per row."""
    pr = any(row.reference.startswith("PR") for row in grid.rows)
    head = ["Feature", "KEP / PR" if pr else "KEP"] + [_COLUMNS[c][0] for c in style.columns]
    for release in grid.releases:
        head += [release, f"{release} proof"] if style.proof_column else [release]
    lines = [_line(head), "|" + "---|" * len(head)]
    for row in grid.rows:
        values = [row.feature, row.reference] + [_COLUMNS[c][1](row) for c in style.columns]
        for release in grid.releases:
            values += _cell(row.cells[release], style)
        lines.append(_line(values))
    return lines


def notes(grid: Grid, style: MarkdownStyle) -> list[str]:
    """Each notes section that has any, preceded by an empty line and its heading."""
    lines = []
    for section in style.notes:
        found = [
            note
            for row in grid.rows
            for release in grid.releases
            for kind in section.kinds
            for note in _notes(kind, row, release, style)
        ]
        if section.sort:
            found = sorted(set(found))
        if found:
            lines += ["", section.heading, "", *found]
    return lines


def _line(values: list[str]) -> str:
    return "| " + " | ".join(values) + " |"


def _cell(cell: Cell, style: MarkdownStyle) -> list[str]:
    """The cell's text, and its proof's where the proof has a column of its own."""
    marks = {"failed": "**FAILED**", "missing": "**MISSING**", "not run": style.not_run}
    text = marks.get(cell.verdict, cell.verdict)
    if cell.tally is not None:
        parts = [f"{cell.tally.passed}/{cell.tally.total}"]
        if style.seconds:
            parts.append(f"{cell.tally.seconds}s")
        if style.profiles and cell.profiles:
            parts.append("/".join(cell.profiles))
        text += " " + ", ".join(parts)
    if cell.stage is not None:
        text = f"{cell.stage}: {text}"
    if style.proof_column:
        return [text, cell.proof.summary() if cell.proof else "not run"]
    if cell.proof is not None and cell.proof.verdict != "not run":
        text += f"; off: {cell.proof.summary()}"
    return [text]


def _notes(kind: str, row: Row, release: str, style: MarkdownStyle) -> list[str]:
    cell = row.cells[release]
    about = {"feature": row.feature, "release": release, "verdict": cell.verdict}
    if kind == "failure":
        return [
            style.failure_note.format(
                **about, test=f.test, reason=f.reason, explanation=cell.explanation
            )
            for f in cell.failures
        ]
    if kind == "reason":
        return [style.reason_note.format(**about, reason=reason) for reason in cell.reasons]
    reasons = cell.proof.reasons if cell.proof else ()
    return [f"- {row.feature} on {release} (proof): {reason}" for reason in reasons]
