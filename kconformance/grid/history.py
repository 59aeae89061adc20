"""The nightly's history: each night's verdict per feature and release, kept in one JSON file
the nightly carries from run to run, and shown feature x night so a regression reads as a
change of colour along a row (the first night of a new verdict is outlined)."""

from __future__ import annotations

from collections.abc import Mapping
from html import escape
from typing import Any

from kconformance.grid.html import style
from kconformance.grid.model import Grid

KEEP = 90  # nights: about a quarter of a year of nightlies


def add_night(history: Mapping[str, Any] | None, night: str, grid: Grid) -> dict[str, Any]:
    """The history with tonight's verdicts added (a night run twice keeps its last run)."""
    nights = [n for n in (history or {}).get("nights", []) if n["night"] != night]
    verdicts = {row.feature: {r: row.cells[r].verdict for r in grid.releases} for row in grid.rows}
    nights.append({"night": night, "verdicts": verdicts})
    nights.sort(key=lambda n: n["night"])
    return {"schema": 1, "nights": nights[-KEEP:]}


def changes(history: Mapping[str, Any]) -> list[str]:
    """'F on 1.36: passed -> failed' for each cell the last night changed from the one before."""
    nights = history.get("nights", [])
    if len(nights) < 2:
        return []
    before, last = nights[-2]["verdicts"], nights[-1]["verdicts"]
    found = []
    for feature, cells in last.items():
        for release, verdict in cells.items():
            old = before.get(feature, {}).get(release)
            if old is not None and old != verdict:
                found.append(f"{feature} on {release}: {old} -> {verdict}")
    return found


def section(history: Mapping[str, Any]) -> str:
    """HTML: the last night's changes, then per release a feature x night table."""
    nights = history.get("nights", [])
    if not nights:
        return ""
    features = list(dict.fromkeys(f for n in nights for f in n["verdicts"]))
    releases = list(dict.fromkeys(r for n in nights for c in n["verdicts"].values() for r in c))
    found = changes(history)
    lines = [f"<h2>History ({len(nights)} nights)</h2>"]
    if found:
        lines += ["<p>Changed on the last night:</p><ul>"]
        lines += [f"<li>{escape(change)}</li>" for change in found]
        lines += ["</ul>"]
    head = "".join(f"<th>{escape(n['night'])}</th>" for n in nights)
    for release in releases:
        lines += [f"<h3>{escape(release)}</h3>", '<table class="grid">']
        lines.append(f"<tr><th>Feature</th>{head}</tr>")
        for feature in features:
            tds, previous = [], None
            for night in nights:
                verdict = night["verdicts"].get(feature, {}).get(release, "not run")
                look = style(verdict)
                changed = ' class="changed"' if previous not in (None, verdict) else ""
                tds.append(
                    f'<td{changed} style="background:{look.background};color:{look.colour}" '
                    f'title="{escape(verdict)}">{escape(look.letters)}</td>'
                )
                previous = verdict
            lines.append(f"<tr><th>{escape(feature)}</th>{''.join(tds)}</tr>")
        lines.append("</table>")
    return "\n".join(lines)
