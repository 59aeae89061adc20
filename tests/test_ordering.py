"""Test order: each profile's tests together, the profile with the most expected work first."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

from kconformance.ordering import order_by_profile, read_durations, record_durations
from kconformance.stash import PLAN


class FakeItem:
    """What ordering reads of a pytest item: its nodeid, plan and skip marker."""

    def __init__(self, nodeid: str, profile: str | None, skip: bool = False) -> None:
        self.nodeid = nodeid
        self.stash = (
            {} if profile is None else {PLAN: SimpleNamespace(profile=SimpleNamespace(key=profile))}
        )
        self.skip = skip

    def get_closest_marker(self, name: str) -> object | None:
        return object() if name == "skip" and self.skip else None


def ids(items: list[FakeItem]) -> list[str]:
    return [i.nodeid for i in items]


def test_profile_with_the_most_known_test_time_comes_first_and_groups_stay_together():
    items = [
        FakeItem("a1", "gates"),
        FakeItem("b1", "two-node"),
        FakeItem("a2", "gates"),
        FakeItem("c1", "nodeport"),
    ]
    durations = {"a1": 5.0, "a2": 6.0, "b1": 84.0, "c1": 3.0}
    assert ids(order_by_profile(items, durations)) == ["b1", "a1", "a2", "c1"]


def test_without_history_the_profile_with_more_tests_comes_first():
    items = [FakeItem("x", "kms"), FakeItem("g1", "gates"), FakeItem("g2", "gates")]
    assert ids(order_by_profile(items, {})) == ["g1", "g2", "x"]


def test_tests_without_a_cluster_run_first():
    items = [
        FakeItem("g1", "gates"),
        FakeItem("unit", None),
        FakeItem("skipped", "kms", skip=True),
    ]
    assert ids(order_by_profile(items, {})) == ["unit", "skipped", "g1"]


def test_durations_merge_and_survive_a_damaged_file(tmp_path: Path):
    path = tmp_path / "durations.json"
    path.write_text("{torn")
    assert read_durations(path) == {}
    record_durations(path, {"a": 1.0, "b": 2.0})
    record_durations(path, {"b": 3.0})
    assert read_durations(path) == {"a": 1.0, "b": 3.0}


def test_a_release_without_history_takes_the_tests_times_on_other_releases():
    items = [FakeItem("t.py::short[1.36]", "gates"), FakeItem("t.py::long[1.36]", "two-node")]
    durations = {"t.py::long[1.28]": 84.0, "t.py::long[1.28-off]": 80.0, "t.py::short[1.28]": 2.0}
    assert ids(order_by_profile(items, durations)) == ["t.py::long[1.36]", "t.py::short[1.36]"]
