"""The feature x release grid as data, with no renderer's syntax in it.

Rows are catalog features (KEP or PR, SIG, gates), columns releases, and a cell what the runs
showed there: the verdict, test counts and time, the profiles, why tests were skipped, each
failed test with the first line of its failure, the feature-off proof and, in the lifecycle
matrix, the catalog's stage of the feature's gates and its explanation of a failure.
``from_report`` reads the rows of ``kconformance-report.json`` (the report writes them, the
nightly's merge adds shards' rows up); the matrix builds its cells from its own JSON.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Failure:
    """A failed test of a cell: its id, and the first line of its failure where known."""

    test: str
    reason: str = ""


@dataclass(frozen=True)
class CellTest:
    """One test of a cell: its id, how it ended, and its skip reason or proof outcome."""

    test: str
    outcome: str
    note: str = ""


@dataclass(frozen=True)
class Tally:
    """How a cell's tests ended, and the seconds they took."""

    passed: int
    failed: int
    skipped: int
    seconds: float = 0.0

    @property
    def total(self) -> int:
        return self.passed + self.failed + self.skipped

    @classmethod
    def of(cls, cell: Mapping[str, Any]) -> Tally | None:
        """The counts of a JSON cell; None for a cell without tests (not run, not testable)."""
        if "passed" not in cell:
            return None
        return cls(
            int(cell.get("passed", 0)),
            int(cell.get("failed", 0)),
            int(cell.get("skipped", 0)),
            float(cell.get("seconds", 0.0)),
        )


@dataclass(frozen=True)
class Proof:
    """The feature-off proof of a cell (``--prove``): its verdict, how many feature-off runs
    ran and how each ended, and why none could run."""

    verdict: str
    ran: int = 0
    outcomes: Mapping[str, int] = field(default_factory=dict)
    reasons: tuple[str, ...] = ()

    def summary(self) -> str:
        """'proved (2/2 proved)', 'not proved (1/3 proved, 1 gated at API, 1 not proved)', or
        the verdict alone where nothing ran (or an older report gives nothing but a summary)."""
        if not self.ran:
            return self.verdict
        parts = [f"{self.outcomes.get('proved', 0)}/{self.ran} proved"]
        parts += [f"{n} {outcome}" for outcome, n in self.outcomes.items() if outcome != "proved"]
        return f"{self.verdict} ({', '.join(parts)})"

    @classmethod
    def of(cls, proof: Mapping[str, Any]) -> Proof:
        """A report's proof cell (``report._proof_cell``)."""
        outcomes = proof.get("outcomes") or (
            {"proved": proof["proved"]} if "proved" in proof else {}
        )
        return cls(
            proof.get("verdict", "not run"),
            int(proof.get("ran", 0)),
            dict(outcomes),
            tuple(proof.get("reasons", ())),
        )


@dataclass(frozen=True)
class Cell:
    """One feature on one release."""

    verdict: str = "not run"
    tally: Tally | None = None
    profiles: tuple[str, ...] = ()
    reasons: tuple[str, ...] = ()  # skip reasons, or why the cell could not run at all
    failures: tuple[Failure, ...] = ()
    proof: Proof | None = None
    stage: str | None = None  # the catalog's stage of the gates in the release (the matrix)
    explanation: str = ""  # why the failures are expected (the catalog's), or that none is
    tests: tuple[CellTest, ...] = ()  # every test of the cell, where the source lists them

    @classmethod
    def of(cls, cell: Mapping[str, Any]) -> Cell:
        """A report's cell (``report._cell``), or a merged one (``merge._merge_cell``)."""
        proof = cell.get("proof")
        return cls(
            verdict=cell.get("verdict", "not run"),
            tally=Tally.of(cell),
            profiles=tuple(cell.get("profiles", ())),
            reasons=tuple(cell.get("reasons", ())),
            failures=tuple(Failure(f["test"], f["reason"]) for f in cell.get("failures", ())),
            proof=Proof.of(proof) if proof else None,
        )


@dataclass(frozen=True)
class Row:
    """One feature: what tracks it upstream (KEP 1234 or PR #5678), its SIG and gates."""

    feature: str
    reference: str
    sig: str
    gates: tuple[str, ...]
    cells: Mapping[str, Cell]


@dataclass(frozen=True)
class Grid:
    releases: tuple[str, ...]
    rows: tuple[Row, ...]

    def verdicts(self) -> Counter[str]:
        """How many cells have each verdict."""
        return Counter(row.cells[r].verdict for row in self.rows for r in self.releases)


def from_report(releases: Iterable[str], rows: Iterable[Mapping[str, Any]]) -> Grid:
    """The grid of report rows (``kconformance-report.json``'s ``features``), in their order."""
    releases = tuple(releases)
    return Grid(
        releases,
        tuple(
            Row(
                feature=row["feature"],
                reference=str(row.get("reference", row.get("kep"))),
                sig=row["sig"],
                gates=tuple(row.get("gates", ())),
                cells={r: Cell.of(row["releases"].get(r, {})) for r in releases},
            )
            for row in rows
        ),
    )
