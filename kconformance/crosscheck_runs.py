"""The cross-check runs bench/CROSSCHECK.md records (kconformance/data/crosscheck-runs.yaml),
and the specs on which upstream's run and ours disagree.

A run's table has one verdict per feature and side; "partial" on our side or "2 skipped" on
upstream's hides which spec or test it was. The disagreement table is per upstream spec: its own
outcome against that of our tests that the coverage map names as its counterparts, so a skipped
spec or a test of ours that could not run shows up by name.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import yaml

from kconformance.coverage import Behaviour, Coverage, Group

RUNS_FILE = Path(__file__).resolve().parent / "data" / "crosscheck-runs.yaml"
NODE_E2E_ONLY = "node e2e only"
NO_COUNTERPART = "no counterpart"
# upstream outcomes of specs that did not run at all
NOT_RUN = ("no test matched", "not run")

Row = tuple[str, str, str, float, float]


@dataclass(frozen=True)
class Run:
    release: str
    kubernetes: str
    intro: str
    rows: tuple[Row, ...]
    upstream_specs: Mapping[str, str]  # spec -> "outcome: why", where it differs from its row
    ours_not_run: Mapping[str, str]  # test id -> why it did not run
    after: str


@dataclass(frozen=True)
class Disagreement:
    feature: str
    spec: str
    upstream: str
    ours: str
    upstream_why: str
    ours_why: str


def load_runs(path: Path = RUNS_FILE) -> dict[str, Run]:
    data = yaml.safe_load(path.read_text())
    if data.get("schema") != 1:
        raise ValueError(f"{path}: unknown schema {data.get('schema')!r}")
    return {
        str(release): Run(
            release=str(release),
            kubernetes=str(run["kubernetes"]),
            intro=run["intro"].rstrip("\n"),
            rows=tuple(
                (str(f), str(ours), str(up), float(s1), float(s2))
                for f, ours, up, s1, s2 in run["rows"]
            ),
            upstream_specs=dict(run.get("upstream_specs") or {}),
            ours_not_run=dict(run.get("ours_not_run") or {}),
            after=run["after"].rstrip("\n"),
        )
        for release, run in data["runs"].items()
    }


def upstream_outcome(run: Run, feature: str, group: Group, spec: str) -> tuple[str, str]:
    """(outcome, why) of one upstream spec in the run: its own entry, else its feature's e2e
    row ("passed (6/6)" -> passed); specs outside the focus, and features without an e2e row,
    did not run."""
    if spec in run.upstream_specs:
        outcome, _, why = run.upstream_specs[spec].partition(":")
        return outcome.strip(), why.strip()
    if group.suite != "e2e":
        return "not run", f"{group.suite} tests are not part of the cross-check run"
    if not group.in_focus:
        return "not run", "outside the catalog's focus"
    row = next((r for r in run.rows if r[0] == feature and r[2] != NODE_E2E_ONLY), None)
    if row is None:
        return "not run", "no upstream focus in the catalog"
    return row[2].split(" (")[0], ""


def ours_outcome(run: Run, feature: str, behaviours: list[Behaviour]) -> tuple[str, str]:
    """(outcome, why) of our counterpart tests of one spec in the run: passed when every one
    ran and passed (a run records our failures as its feature's verdict)."""
    tests = list(dict.fromkeys(t for b in behaviours for t in b.ours))
    if not tests:
        return NO_COUNTERPART, ""
    row = next((r for r in run.rows if r[0] == feature), None)
    if row is None or row[1] == "not run":
        return "not run", "our tests of the feature were not part of the run"
    skipped = [
        f"{t.split('::')[-1]}: {run.ours_not_run[t]}" for t in tests if t in run.ours_not_run
    ]
    if skipped:
        return "not run", "; ".join(skipped)
    return ("passed", "") if row[1] in ("passed", "partial") else (row[1], "")


def disagreements(coverage: Coverage, run: Run, notes: Mapping[str, str]) -> list[Disagreement]:
    """Every upstream spec of the map that ran in ``run`` with an outcome our counterparts do
    not share - including specs we have no counterpart for. ``notes`` are the catalog's
    `crosscheck:` explanations per feature for the run's release."""
    found = []
    for feature in coverage.features:
        for group in coverage.groups(feature):
            if not group.is_spec:
                continue
            behaviours = [b for b in coverage.of(feature) if b.group == group]
            ours, ours_why = ours_outcome(run, feature, behaviours)
            for spec in group.names:
                upstream, up_why = upstream_outcome(run, feature, group, spec)
                if upstream in NOT_RUN or upstream == ours:
                    continue
                # upstream's side: the spec's own reason, else the catalog's note on a row
                # that did not pass
                up_why = up_why or (notes.get(feature, "") if upstream != "passed" else "")
                if ours == NO_COUNTERPART:
                    ours_why = _uncovered(behaviours)
                found.append(Disagreement(feature, spec, upstream, ours, up_why, ours_why))
    return found


def _uncovered(behaviours: list[Behaviour]) -> str:
    return "; ".join(
        f"{b.verdict}: {b.reason if b.verdict == 'reason' else b.what}" for b in behaviours
    )
