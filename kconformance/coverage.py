"""The coverage map: every behaviour upstream Kubernetes tests assert for a seed feature, with
our counterpart test and a verdict (kconformance/data/upstream-coverage.yaml).

Kept as data so that a verdict is stated once: bench/CROSSCHECK.md, the cross-check's table and
the unit tests that hold the map to the suites all read it from here. Loading validates the whole
map, so a malformed entry fails every reader with the entry named, not one renderer later.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

COVERAGE_FILE = Path(__file__).resolve().parent / "data" / "upstream-coverage.yaml"
SCHEMA = 2
VERDICTS = ("equivalent", "weaker", "missing", "reason")
# where each kind of upstream test lives in kubernetes/kubernetes
SUITES = {
    "e2e": ("test/e2e/",),
    "e2e_node": ("test/e2e_node/",),
    "integration": ("test/integration/",),
    "unit": ("pkg/", "staging/", "cmd/"),
}
# the verdicts of ../shared/upstream-behaviours.md; "none": the reading has no such row
READING_VERDICTS = {"EQ": "equivalent", "WK": "weaker", "MISS": "missing", "N/A": "reason"}


@dataclass(frozen=True)
class Group:
    """Upstream specs (e2e, node e2e) or Go test functions (integration, unit) of one file that
    assert the same behaviours."""

    suite: str
    file: str
    names: tuple[str, ...]
    in_focus: bool
    checked: str | None

    @property
    def is_spec(self) -> bool:
        return self.suite in ("e2e", "e2e_node")


@dataclass(frozen=True)
class Reading:
    """Where this map corrects the reading: its verdict there, and why it is changed."""

    verdict: str
    why: str


@dataclass(frozen=True)
class Behaviour:
    feature: str
    group: Group
    row: str | None
    what: str
    verdict: str
    ours: tuple[str, ...]
    reason: str | None
    note: str | None
    reading: Reading | None


@dataclass(frozen=True)
class Coverage:
    release: str
    kubernetes: str
    features: tuple[str, ...]
    behaviours: tuple[Behaviour, ...]

    def of(self, feature: str, suite: str | None = None) -> list[Behaviour]:
        return [
            b
            for b in self.behaviours
            if b.feature == feature and (suite is None or b.group.suite == suite)
        ]

    def groups(self, feature: str) -> list[Group]:
        return list(dict.fromkeys(b.group for b in self.of(feature)))

    def corrections(self) -> list[Behaviour]:
        return [b for b in self.behaviours if b.reading is not None]


def counts(behaviours: Iterable[Behaviour]) -> tuple[int, int, int, int]:
    """(equivalent, weaker, missing, reason)."""
    tally = Counter(b.verdict for b in behaviours)
    equivalent, weaker, missing, reason = (tally[v] for v in VERDICTS)
    return equivalent, weaker, missing, reason


def load_coverage(path: Path = COVERAGE_FILE) -> Coverage:
    data = yaml.safe_load(path.read_text())
    if data.get("schema") != SCHEMA:
        raise ValueError(f"{path}: schema {data.get('schema')!r}, expected {SCHEMA}")
    behaviours: list[Behaviour] = []
    for feature, groups in data["features"].items():
        for index, raw in enumerate(groups):
            where = f"{path.name}: {feature}, group {index + 1}"
            group = _group(raw, where)
            if not raw.get("asserts"):
                raise ValueError(f"{where}: no asserts")
            for entry in raw["asserts"]:
                behaviours.append(
                    _behaviour(feature, group, entry, f"{where}: {entry.get('what')!r}")
                )
    rows = [b.row for b in behaviours if b.row]
    duplicated = sorted({r for r in rows if rows.count(r) > 1})
    if duplicated:
        raise ValueError(f"{path.name}: rows named twice: {duplicated}")
    return Coverage(
        release=str(data["release"]),
        kubernetes=str(data["kubernetes"]),
        features=tuple(data["features"]),
        behaviours=tuple(behaviours),
    )


def _group(raw: Mapping[str, Any], where: str) -> Group:
    suite = raw.get("suite")
    if suite not in SUITES:
        raise ValueError(f"{where}: suite {suite!r} is not one of {sorted(SUITES)}")
    file = str(raw.get("file", ""))
    if not file.startswith(SUITES[suite]):
        raise ValueError(f"{where}: {suite} tests live under {SUITES[suite]}, not {file!r}")
    key = "specs" if suite in ("e2e", "e2e_node") else "functions"
    names = tuple(raw.get(key) or ())
    if not names:
        raise ValueError(f"{where}: {suite} tests are named by `{key}`")
    return Group(suite, file, names, raw.get("in_focus", True) is not False, raw.get("checked"))


def _behaviour(feature: str, group: Group, entry: Mapping[str, Any], where: str) -> Behaviour:
    verdict = entry.get("verdict")
    if verdict not in VERDICTS:
        raise ValueError(f"{where}: verdict {verdict!r} is not one of {VERDICTS}")
    ours = tuple(entry.get("ours") or ())
    if (verdict in ("equivalent", "weaker")) != bool(ours):
        raise ValueError(f"{where}: `ours` is given exactly for equivalent and weaker")
    if (verdict == "reason") != bool(entry.get("reason")):
        raise ValueError(f"{where}: `reason` is given exactly for the verdict reason")
    if verdict == "weaker" and not entry.get("note"):
        raise ValueError(f"{where}: a weaker counterpart needs a note saying what it lacks")
    if not str(entry.get("what", "")).strip():
        raise ValueError(f"{where}: no `what`")
    reading = None
    if "reading" in entry:
        raw = entry["reading"]
        if raw.get("verdict") not in (*READING_VERDICTS, "none") or not raw.get("why"):
            raise ValueError(
                f"{where}: reading needs a verdict of {list(READING_VERDICTS)} or none, and why"
            )
        reading = Reading(str(raw["verdict"]), str(raw["why"]))
    return Behaviour(
        feature=feature,
        group=group,
        row=entry.get("row"),
        what=str(entry["what"]),
        verdict=verdict,
        ours=ours,
        reason=entry.get("reason"),
        note=entry.get("note"),
        reading=reading,
    )
