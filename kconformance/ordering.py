"""The order tests run in: grouped by profile, the profile with the most expected work first.

Clusters are created a few at a time (see ``slots``) while the workers run tests, so a run ends
no earlier than its last cluster plus that cluster's tests. Putting the profiles with the most
test time first, and the same order into prefetch, lets the long tests run while the later
clusters are still being created, and leaves the short ones for the end. Expected times come
from earlier runs on this machine (``durations.json`` in the cache); a test never seen counts as
``UNSEEN_SECONDS``, so without history the order follows the number of tests per profile.
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
    work: dict[str, float] = defaultdict(float)
    for item in items:
        if needs_cluster(item):
            work[_profile_key(item)] += durations.get(item.nodeid, UNSEEN_SECONDS)
    rank = {key: index for index, key in enumerate(sorted(work, key=lambda k: -work[k]))}
    return sorted(
        items, key=lambda item: rank[_profile_key(item)] + 1 if needs_cluster(item) else 0
    )


def _profile_key(item: pytest.Item) -> str:
    return str(item.stash[PLAN].profile.key)
