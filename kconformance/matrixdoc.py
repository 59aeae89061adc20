"""The matrix's documents: MATRIX.md and MATRIX.html from ``matrix.merge``'s data, and the
JSON beside them. The grid itself is rendered by ``kconformance.grid``; here is what only the
matrix shows: the runs it came from, the catalog's stage in each cell and its explanation of a
failure."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from kconformance.grid.html import page
from kconformance.grid.markdown import MarkdownStyle, Notes, notes, table
from kconformance.grid.model import Cell, CellTest, Failure, Grid, Proof, Row, Tally


def markdown(matrix: Mapping[str, Any]) -> str:
    """MATRIX.md: the table, the runs it came from, and every non-passing cell explained."""
    m = matrix["machine"]
    lines = [
        "# Lifecycle matrix: seed features x Kubernetes releases",
        "",
        f"Generated {matrix['generated']} on {m['hostname']} ({m['cpus']} CPUs, "
        f"{m['memory_gib']} GiB, kernel {m['kernel']}, cgroup {m['cgroup']}) by "
        "`python -m kconformance matrix`. Each cell: the catalog's stage of the feature's "
        "gates in that release (A alpha, B- beta off, B+ beta on, G GA, GL GA locked, X not "
        "a gate; gone (GA) = removed after graduating), then the verdict of the run.",
        "",
        f"Tests run: {matrix.get('selection', 'every suite')}.",
        "",
        "| release | Kubernetes | node image | kind | status | started | ended | time "
        "| peak memory | pytest arguments | rerun because |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for run in matrix["releases"]:
        status = run["status"]
        if run.get("reason"):
            status += f": {run['reason']}"
        seconds = f"{run['seconds']}s" if run.get("seconds") is not None else ""
        memory = f"{run['peak_memory_gib']} GiB" if run.get("peak_memory_gib") else ""
        arguments = f"`{run['arguments']}`" if run.get("arguments") else ""
        lines.append(
            f"| {run['release']} | {run.get('kubernetes_version') or ''} | "
            f"{run.get('node_image') or ''} | {_kind_version(run.get('kind'))} | {status} | "
            f"{run.get('started') or ''} | {run.get('ended') or ''} | {seconds} | {memory} | "
            f"{arguments} | {run.get('rerun') or ''} |"
        )
    ran = [r for r in matrix["releases"] if r.get("seconds") is not None]
    if ran:
        total = sum(r["seconds"] for r in ran)
        peak = max((r.get("peak_memory_gib") or 0 for r in ran), default=0)
        lines += ["", f"Suites' total time {total:.0f}s over {len(ran)} releases; peak {peak} GiB."]
    grid = _grid(matrix)
    lines += ["", *table(grid, MATRIX_STYLE), *notes(grid, MATRIX_STYLE)]
    return "\n".join(lines) + "\n"


# Each cell starts with the catalog's stage; a failed test needs the catalog's explanation.
MATRIX_STYLE = MarkdownStyle(
    columns=(),
    proof_column=False,
    seconds=False,
    profiles=False,
    failure_note="- {feature} on {release}: failed `{test}` - {explanation}",
    reason_note="- {feature} on {release} ({verdict}): {reason}",
    notes=(Notes("## Cells that did not pass", ("reason", "failure")),),
)


def _grid(matrix: Mapping[str, Any]) -> Grid:
    """The grid of ``merge``'s rows: the stage, the report's verdict and counts, the reason
    (skips, or why the release did not run), the failed tests and the proof's summary."""
    releases = tuple(r["release"] for r in matrix["releases"])
    rows = []
    for row in matrix["features"]:
        cells = {}
        for release in releases:
            cell = row["releases"][release]
            cells[release] = Cell(
                verdict=cell["verdict"],
                tally=Tally.of(cell),
                reasons=(cell["reason"],) if cell.get("reason") else (),
                failures=tuple(Failure(test) for test in cell.get("failed_tests", ())),
                proof=Proof(cell["proof"]) if cell.get("proof") else None,
                stage=cell["stage"],
                explanation=cell.get("explained")
                or "NOT EXPLAINED in the catalog (feature.matrix)",
                tests=tuple(CellTest(**t) for t in cell.get("tests", ())),
            )
        rows.append(Row(row["feature"], row["reference"], row["sig"], tuple(row["gates"]), cells))
    return Grid(releases, tuple(rows))


def _kind_version(path: str | None) -> str:
    if not path:
        return ""
    name = Path(path).name
    return name.removeprefix("kind-") if name.startswith("kind-") else name


def write(matrix: Mapping[str, Any], out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    json_path = out / "matrix.json"
    json_path.write_text(json.dumps(matrix, indent=2) + "\n")
    md_path = out / "MATRIX.md"
    md_path.write_text(markdown(matrix))
    html_path = out / "MATRIX.html"
    html_path.write_text(html(matrix))
    return [md_path, html_path, json_path]


def html(matrix: Mapping[str, Any]) -> str:
    """MATRIX.html: the same grid coloured by verdict and stage, each cell linking to its
    tests, reasons and proof, and the runs it came from."""
    runs = [
        f"{run['release']}: {run['status']}"
        + (f" ({run['reason']})" if run.get("reason") else "")
        + (f", Kubernetes {run['kubernetes_version']}" if run.get("kubernetes_version") else "")
        + (f", started {run['started']}" if run.get("started") else "")
        + (f", ended {run['ended']}" if run.get("ended") else "")
        + (f", pytest {run['arguments']}" if run.get("arguments") else "")
        + (f", rerun because {run['rerun']}" if run.get("rerun") else "")
        + (f", {run['seconds']} s" if run.get("seconds") is not None else "")
        for run in matrix["releases"]
    ]
    intro = [
        f"Generated {matrix['generated']} by python -m kconformance matrix; tests run: "
        f"{matrix.get('selection', 'every suite')}. Stages: A alpha, B- beta off, B+ beta on, "
        "G GA, GL GA locked, X not a gate.",
        "Runs: " + "; ".join(runs) + ".",
    ]
    return page(_grid(matrix), "Lifecycle matrix: seed features x Kubernetes releases", intro)
