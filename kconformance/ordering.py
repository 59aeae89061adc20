"""The order tests run in: grouped by profile, the profile with the most expected work first.

Clusters are created a few at a time (see ``slots``) while the workers run tests, so a run ends
no earlier than its last cluster plus that cluster's tests. Putting the profiles with the most
test time first, and the same order into prefetch, lets the long tests run while the later
clusters are still being created, and leaves the short ones for the end. Expected times come
from earlier runs on this machine (``durations.json`` in the cache); a test never run on this
release takes its time on other releases (the same test waits on the same controllers), and a
test never seen counts as ``UNSEEN_SECONDS``, so without history the order follows the number
of tests per profile.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Mapping
from pathlib import Path

import pytest

from kconformance.registry import write_json
from kconformance.stash import PLAN, needs_cluster

DURATIONS_FILE = "durations.json"
#: What a test without history is expected to take (the suites' median is a few seconds).
UNSEEN_SECONDS = 10.0


def read_durations(path: Path) -> dict[str, float]:
    """nodeid -> seconds of its last run; empty when the file is missing or unreadable."""
    try:
        raw = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    if not isinstance(raw, dict):
        return {}
    return {str(k): float(v) for k, v in raw.items() if isinstance(v, int | float)}


def record_durations(path: Path, durations: Mapping[str, float]) -> None:
    """Merge this run's test times into the file (a later run of a test replaces its time)."""
    if durations:
        write_json(path, {**read_durations(path), **durations})


def order_by_profile(items: list[pytest.Item], durations: Mapping[str, float]) -> list[pytest.Item]:
    """Tests without a cluster first, then each profile's tests together, the profile with the
    most expected test time first; the collection order is kept within a profile."""
    elsewhere = _by_test(durations)
    work: dict[str, float] = defaultdict(float)
    for item in items:
        if needs_cluster(item):
            seen = durations.get(item.nodeid, elsewhere.get(_test(item.nodeid)))
            work[_profile_key(item)] += UNSEEN_SECONDS if seen is None else seen
    rank = {key: index for index, key in enumerate(sorted(work, key=lambda k: -work[k]))}
    return sorted(
        items, key=lambda item: rank[_profile_key(item)] + 1 if needs_cluster(item) else 0
    )


def _test(nodeid: str) -> str:
    """The test without its parameters (``[1.28]``, ``[1.28-off]``): the same on every release."""
    return nodeid.split("[", 1)[0]


def _by_test(durations: Mapping[str, float]) -> dict[str, float]:
    """Mean time of each test over the releases (and modes) it ran in."""
    runs: dict[str, list[float]] = defaultdict(list)
    for nodeid, seconds in durations.items():
        runs[_test(nodeid)].append(seconds)
    return {test: sum(times) / len(times) for test, times in runs.items()}


def _profile_key(item: pytest.Item) -> str:
    return str(item.stash[PLAN].profile.key)
