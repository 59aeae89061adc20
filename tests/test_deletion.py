"""One way to delete a registered cluster: a failed ``kind delete`` keeps the registry entry, is
reported in one line naming the cluster and what kind said, and fails the command - whichever
command it was (pool teardown and the run's sweep are in test_pool.py and test_plugin.py)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from kconformance.__main__ import main
from kconformance.commands.crosscheck import _delete_run_clusters
from kconformance.commands.matrix import _delete_release_clusters
from kconformance.deletion import delete_cluster, delete_registered
from kconformance.events import Event
from kconformance.registry import ClusterRecord, Registry

FAKES = Path(__file__).parent / "fakes"
DEAD = 999999  # no such process: the run that made the cluster is over


class FakeKind:
    """Lists and deletes clusters in memory; deleting one of ``broken`` fails as kind does."""

    def __init__(self, clusters: set[str], broken: set[str] = frozenset()) -> None:
        self.clusters = set(clusters)
        self.broken = broken
        self.deleted: list[str] = []

    def existing(self) -> set[str]:
        return set(self.clusters)

    def delete(self, name: str) -> None:
        if name in self.broken:
            raise RuntimeError(
                f"command failed (exit 1): kind delete cluster --name {name}\n"
                "ERROR: failed to delete cluster: docker daemon not responding"
            )
        self.deleted.append(name)
        self.clusters.discard(name)


def record(name: str, run_id: str = "dead00", keep: bool = False) -> ClusterRecord:
    return ClusterRecord(name, "1.28-gates", "h", run_id, DEAD, DEAD, keep, "", "ready")


def test_a_failed_delete_keeps_the_entry_and_names_the_cluster_and_kinds_words(tmp_path):
    registry = Registry(tmp_path)
    registry.write(record("kc-a"))
    events: list[Event] = []
    assert not delete_cluster(registry, FakeKind({"kc-a"}, {"kc-a"}), events.append, "kc-a")
    assert registry.read("kc-a") is not None
    [event] = events
    line = event.line()
    assert "\n" not in line
    assert line.startswith("kconformance: cluster kc-a [] delete failed (ERROR: failed to delete")
    assert "docker daemon not responding; kept in the registry" in line


def test_records_whose_cluster_is_gone_are_forgotten_and_a_failure_stops_nothing(tmp_path):
    registry = Registry(tmp_path)
    for name in ("kc-gone", "kc-broken", "kc-fine"):
        registry.write(record(name))
    kind = FakeKind({"kc-broken", "kc-fine", "foreign"}, broken={"kc-broken"})
    events: list[Event] = []
    failed = delete_registered(registry, kind, registry.records(), events.append, "why")
    assert failed == ["kc-broken"]
    assert kind.deleted == ["kc-fine"]  # never kind delete for a cluster kind does not list
    assert [r.name for r in registry.records()] == ["kc-broken"]
    assert [(e.event, e.name) for e in events] == [
        ("deleting", "kc-broken"),
        ("delete failed", "kc-broken"),
        ("deleting", "kc-fine"),
        ("deleted", "kc-fine"),
    ]


def test_nothing_to_delete_asks_kind_nothing(tmp_path):
    class NoKind:
        def existing(self) -> set[str]:
            raise AssertionError("kind asked")

        def delete(self, name: str) -> None:
            raise AssertionError("kind asked")

    assert delete_registered(Registry(tmp_path), NoKind(), [], print, "why") == []


@pytest.fixture
def fake_kind(tmp_path, monkeypatch) -> Path:
    """The fake kind on PATH, its state folder, and the registry of the test's own cache."""
    state = tmp_path / "fake-kind"
    (state / "clusters").mkdir(parents=True)
    monkeypatch.setenv("FAKE_KIND_DIR", str(state))
    monkeypatch.setenv("PATH", f"{FAKES}{os.pathsep}{os.environ['PATH']}")
    return state


def registered(state: Path, *records: ClusterRecord) -> Registry:
    """Clusters that kind lists and the registry (of the test's own cache) holds."""
    registry = Registry(Path(os.environ["KCONFORMANCE_CACHE"]) / "clusters")
    for r in records:
        registry.write(r)
        (state / "clusters" / r.name).touch()
    return registry


def kind_deletes(state: Path) -> list[str]:
    calls = [json.loads(line) for line in (state / "calls.log").read_text().splitlines()]
    return [c[-1] for c in calls if c[:2] == ["delete", "cluster"]]


@pytest.mark.parametrize(
    ("command", "kept"), [("delete-kept", True), ("sweep", False)], ids=["delete-kept", "sweep"]
)
def test_each_command_goes_on_after_a_failed_delete_keeps_it_and_exits_1(
    command, kept, fake_kind, monkeypatch, capsys
):
    registry = registered(
        fake_kind,
        record("kc-gates-128-aaaaaa", "aaaaaa", keep=kept),
        record("kc-gates-128-bbbbbb", "bbbbbb", keep=kept),
    )
    monkeypatch.setenv("FAKE_KIND_FAIL_DELETE", "kc-gates-128-aaaaaa")
    assert main([command, f"--kind-bin={FAKES / 'kind'}"]) == 1
    out, err = capsys.readouterr()
    assert [r.name for r in registry.records()] == ["kc-gates-128-aaaaaa"]
    assert kind_deletes(fake_kind) == ["kc-gates-128-aaaaaa", "kc-gates-128-bbbbbb"]
    assert err.splitlines() == [
        "kconformance: cluster kc-gates-128-aaaaaa [1.28-gates] delete failed (ERROR: failed to "
        "delete cluster: fake failure; kept in the registry: `python -m kconformance sweep` (or "
        "the next run) retries, or run `kind delete cluster --name kc-gates-128-aaaaaa`)",
        "kconformance: ERROR: 1 cluster(s) could not be deleted and stay in the registry: "
        "kc-gates-128-aaaaaa; run `python -m kconformance sweep` to retry",
    ]
    assert "kconformance: cluster kc-gates-128-bbbbbb [1.28-gates] deleted in" in out
    monkeypatch.delenv("FAKE_KIND_FAIL_DELETE")
    assert main([command, f"--kind-bin={FAKES / 'kind'}"]) == 0
    assert registry.records() == []


def test_the_matrix_cleanup_returns_what_it_could_not_delete(fake_kind, monkeypatch, tmp_path):
    """Only the run ids the release's own pytest printed; a failure is kept and handed back."""
    registry = registered(
        fake_kind,
        record("kc-gates-128-aaaaaa", "aaaaaa"),
        record("kc-swap-128-aaaaaa", "aaaaaa"),
        record("kc-gates-128-other0", "other0"),  # another run's: never touched
    )
    log = tmp_path / "suites-1.28.log"
    log.write_text("kconformance: releases 1.28; kind; run aaaaaa\n")
    monkeypatch.setenv("FAKE_KIND_FAIL_DELETE", "kc-swap-128-aaaaaa")
    assert _delete_release_clusters("1.28", log) == ["kc-swap-128-aaaaaa"]
    names = [r.name for r in registry.records()]
    assert names == ["kc-gates-128-other0", "kc-swap-128-aaaaaa"]


def test_the_crosscheck_cleanup_leaves_a_reused_kept_cluster_and_returns_failures(
    fake_kind, monkeypatch, capsys
):
    registry = registered(
        fake_kind,
        record("kc-gates-128-aaaaaa", "aaaaaa"),
        record("kc-gates-128-older0", "aaaaaa", keep=True),  # an earlier run's, reused by ours
    )
    monkeypatch.setenv("FAKE_KIND_FAIL_DELETE", "kc-gates-128-aaaaaa")
    assert _delete_run_clusters({"aaaaaa"}, "1.28") == ["kc-gates-128-aaaaaa"]
    assert len(registry.records()) == 2
    assert "[crosscheck] left kept: kc-gates-128-older0" in capsys.readouterr().out
