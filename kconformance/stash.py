"""Where the plugins keep per-config and per-item state (pytest's Stash), shared by role plugins."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from kconformance.planning import TestPlan
from kconformance.report import ReportCollector
from kconformance.runtime import Run

if TYPE_CHECKING:
    from kconformance.workspace import Kube

RUN = pytest.StashKey[Run]()
PLAN = pytest.StashKey[TestPlan]()
REPORTS = pytest.StashKey[dict[str, pytest.TestReport]]()
WORKSPACE: pytest.StashKey[Kube] = pytest.StashKey()
COLLECTOR = pytest.StashKey[ReportCollector]()


def needs_cluster(item: pytest.Item) -> bool:
    """A planned test that is not skipped: it will ask for its profile's cluster."""
    return PLAN in item.stash and item.get_closest_marker("skip") is None


def needed_profiles(items: list[pytest.Item]) -> dict[str, Any]:
    """The profiles the given tests need, by key, in first-use order."""
    profiles: dict[str, Any] = {}
    for item in items:
        if needs_cluster(item):
            profile = item.stash[PLAN].profile
            profiles.setdefault(profile.key, profile)
    return profiles


def tests_by_profile(items: list[pytest.Item]) -> dict[str, str]:
    """Which profile's cluster each test that needs one runs on: nodeid -> profile key."""
    return {item.nodeid: item.stash[PLAN].profile.key for item in items if needs_cluster(item)}
