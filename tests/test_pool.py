"""Cluster sharing: one creation per profile across processes, one deletion, crash cleanup."""

from __future__ import annotations

import json
import multiprocessing
import os
import threading
from pathlib import Path

import pytest

from kconformance.catalog import default_catalog
from kconformance.errors import ClusterError
from kconformance.pool import ClusterPool, ClusterRecord, Registry, cluster_name
from kconformance.profiles import resolve_profile


class FakeDriver:
    """Records calls in a file so several processes can be counted together."""

    def __init__(self, state: Path, fail: bool = False, fail_delete: bool = False) -> None:
        self.state = state
        self.fail = fail
        self.fail_delete = fail_delete
        (state / "clusters").mkdir(parents=True, exist_ok=True)

    def _log(self, *call: str) -> None:
        with open(self.state / "calls.log", "a") as handle:
            handle.write(json.dumps(call) + "\n")

    def calls(self) -> list[list[str]]:
        path = self.state / "calls.log"
        return [json.loads(x) for x in path.read_text().splitlines()] if path.exists() else []

    def create(self, name, profile, kubeconfig):
        self._log("create", name)
        if self.fail:
            raise RuntimeError("kind: node failed to start")
        (self.state / "clusters" / name).touch()
        kubeconfig.write_text("kubeconfig")

    def delete(self, name):
        self._log("delete", name)
        if self.fail_delete:
            raise RuntimeError("ERROR: failed to delete cluster: docker daemon not responding")
        (self.state / "clusters" / name).unlink(missing_ok=True)

    def existing(self):
        return {p.name for p in (self.state / "clusters").iterdir()}

    def collect_logs(self, name, dest):
        self._log("logs", name)


@pytest.fixture
def profile():
    return resolve_profile(default_catalog(), "gates", "1.28")


def make_pool(
    tmp_path: Path,
    run_id="r1",
    owner=None,
    keep=False,
    fail=False,
    fail_delete=False,
    driver=None,
    creation_slots=1,
) -> ClusterPool:
    return ClusterPool(
        run_dir=tmp_path / "runs" / run_id,
        registry=Registry(tmp_path / "registry"),
        driver=driver or FakeDriver(tmp_path / "kind", fail=fail, fail_delete=fail_delete),
        run_id=run_id,
        owner_pid=owner or os.getpid(),
        keep=keep,
        artifacts_dir=tmp_path / "artifacts",
        creation_slots=creation_slots,
    )


def _worker(tmp_path: str, profile) -> str:
    return make_pool(Path(tmp_path), owner=int(os.environ["OWNER"])).acquire(profile).name


def test_two_workers_share_one_creation_and_one_deletion(tmp_path, profile, monkeypatch):
    monkeypatch.setenv("OWNER", str(os.getpid()))
    with multiprocessing.get_context("fork").Pool(2) as workers:
        names = workers.starmap(_worker, [(str(tmp_path), profile)] * 4)
    assert len(set(names)) == 1
    controller = make_pool(tmp_path)
    controller.teardown()
    calls = controller.driver.calls()
    assert [c[0] for c in calls] == ["create", "delete"]
    assert controller.registry.records() == []


def test_failed_creation_is_cleaned_and_not_retried(tmp_path, profile):
    pool = make_pool(tmp_path, fail=True)
    with pytest.raises(ClusterError, match="node failed to start"):
        pool.acquire(profile)
    with pytest.raises(ClusterError, match="failed to start earlier in this run"):
        pool.acquire(profile)
    assert [c[0] for c in pool.driver.calls()] == ["create", "logs", "delete"]


def test_creation_interrupted_by_a_crash_is_discarded_and_redone(tmp_path, profile):
    pool = make_pool(tmp_path)
    name = cluster_name(profile, "r1")
    # what a worker killed mid-creation leaves: a run state, a "creating" record, a half cluster
    pool.run_dir.mkdir(parents=True, exist_ok=True)
    (pool.run_dir / f"{profile.key}.json").write_text(json.dumps({"name": name}))
    pool.registry.write(
        ClusterRecord(
            name,
            profile.key,
            profile.hash,
            "r1",
            os.getpid(),
            999999,
            False,
            str(pool.registry.kubeconfig(name)),
            "creating",
        )
    )
    (tmp_path / "kind" / "clusters" / name).touch()
    record = pool.acquire(profile)
    assert record.state == "ready"
    assert [c[0] for c in pool.driver.calls()] == ["delete", "create"]


def test_sweep_removes_clusters_of_dead_runs_only(tmp_path, profile):
    dead = make_pool(tmp_path, run_id="dead", owner=999999)
    dead.acquire(profile)
    alive = make_pool(tmp_path, run_id="live")
    alive.acquire(profile)
    (tmp_path / "kind" / "clusters" / "foreign-cluster").touch()
    removed = alive.sweep()
    assert removed == [cluster_name(profile, "dead")]
    assert alive.driver.existing() == {cluster_name(profile, "live"), "foreign-cluster"}


def test_keep_clusters_reuses_matching_profile_in_a_later_run(tmp_path, profile):
    first = make_pool(tmp_path, run_id="one", owner=999999, keep=True)
    name = first.acquire(profile).name
    first.teardown()
    assert first.driver.existing() == {name}
    later = make_pool(tmp_path, run_id="two", keep=True)
    assert later.sweep() == []
    assert later.acquire(profile).name == name
    assert [c[0] for c in later.driver.calls()] == ["create"]


def test_kept_cluster_is_not_reused_for_a_different_profile(tmp_path, profile):
    first = make_pool(tmp_path, run_id="one", owner=999999, keep=True)
    first.acquire(profile)
    other = resolve_profile(default_catalog(), "baseline", "1.28")
    later = make_pool(tmp_path, run_id="two", keep=True)
    assert later.acquire(other).name == cluster_name(other, "two")


def test_failed_delete_keeps_the_cluster_registered_for_the_next_sweep(tmp_path, profile):
    pool = make_pool(tmp_path, run_id="r1", owner=999999, fail_delete=True)
    name = pool.acquire(profile).name
    left = pool.teardown()
    assert [r.name for r in left] == [name]
    assert pool.registry.read(name) is not None  # not forgotten
    failed = [e for e in pool.events() if e.event == "delete failed"]
    assert "kept in the registry" in failed[0].detail
    assert "docker daemon not responding" in failed[0].detail
    later = make_pool(tmp_path, run_id="r2")  # the owner 999999 is dead: the sweep retries
    assert later.sweep() == [name]
    assert later.registry.records() == []
    assert name not in later.driver.existing()


def test_sweep_keeps_the_entry_when_its_delete_fails_again(tmp_path, profile):
    make_pool(tmp_path, run_id="dead", owner=999999).acquire(profile)
    later = make_pool(tmp_path, run_id="r2", fail_delete=True)
    assert later.sweep() == []
    assert len(later.registry.records()) == 1


def test_torn_state_file_never_deletes_the_ready_cluster(tmp_path, profile):
    pool = make_pool(tmp_path)
    name = pool.acquire(profile).name
    (pool.run_dir / f"{profile.key}.json").write_text('{"na')  # a writer killed mid-write
    assert pool.acquire(profile).name == name
    assert [c[0] for c in pool.driver.calls()] == ["create"]


def test_torn_registry_record_never_deletes_the_ready_cluster(tmp_path, profile):
    pool = make_pool(tmp_path)
    name = pool.acquire(profile).name
    pool.registry.path(name).write_text('{"name": "kc-')
    record = pool.acquire(profile)
    assert (record.name, record.state) == (name, "ready")
    assert [c[0] for c in pool.driver.calls()] == ["create"]
    assert [e.event for e in pool.events()][-1] == "recovered"


def test_teardown_deletes_this_runs_clusters_despite_torn_state_files(tmp_path, profile):
    pool = make_pool(tmp_path)
    name = pool.acquire(profile).name
    (pool.run_dir / f"{profile.key}.json").write_text("{")
    assert pool.teardown() == []
    assert pool.driver.existing() == set()
    assert pool.registry.records() == []
    assert [c for c in pool.driver.calls() if c[0] == "delete"] == [["delete", name]]


class SlowDriver(FakeDriver):
    """Creation takes a while and records how many creations overlap (across threads)."""

    def __init__(self, state: Path) -> None:
        super().__init__(state)
        self.lock = threading.Lock()
        self.running = 0
        self.most = 0
        self.order: list[str] = []

    def create(self, name, profile, kubeconfig):
        with self.lock:
            self.running += 1
            self.most = max(self.most, self.running)
            self.order.append(profile.key)
        threading.Event().wait(0.2)  # the creation's own duration, as kind's boot
        with self.lock:
            self.running -= 1
        super().create(name, profile, kubeconfig)


def test_prefetchers_create_in_test_order_one_per_slot_however_many_workers(tmp_path):
    catalog = default_catalog()
    profiles = [
        resolve_profile(catalog, p, "1.28") for p in ("gates", "baseline", "nodeport", "kms")
    ]
    driver = SlowDriver(tmp_path / "kind")
    pool = make_pool(tmp_path, driver=driver, creation_slots=2)
    for p in profiles:  # tests take each cluster at once (else prefetch holds back)
        pool.mark_used(p)
    threads = [pool.prefetch(profiles, worker_index=i) for i in range(4)]
    assert threads[2] is None and threads[3] is None  # workers beyond the slots only run tests
    for thread in threads[:2]:
        thread.join()
    assert driver.most == 2
    keys = [p.key for p in profiles]
    # two at a time, in test order (which of a pair starts first is up to the scheduler)
    assert set(driver.order[:2]) == set(keys[:2]) and set(driver.order[2:]) == set(keys[2:])
    assert all(pool.acquire(p).state == "ready" for p in profiles)


def test_creations_beyond_the_slots_wait_for_one(tmp_path):
    catalog = default_catalog()
    profiles = [resolve_profile(catalog, p, "1.28") for p in ("gates", "baseline", "nodeport")]
    driver = SlowDriver(tmp_path / "kind")
    pool = make_pool(tmp_path, driver=driver)
    threads = [threading.Thread(target=pool.acquire, args=(p,)) for p in profiles]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert driver.most == 1


def test_prefetch_waits_while_ready_clusters_are_unused(tmp_path, monkeypatch):
    monkeypatch.setattr("kconformance.creation.PREFETCH_POLL_SECONDS", 0.01)
    catalog = default_catalog()
    profiles = [resolve_profile(catalog, p, "1.28") for p in ("gates", "baseline")]
    pool = make_pool(tmp_path)
    thread = pool.prefetch(profiles, worker_index=0)
    assert thread is not None
    thread.join(timeout=1.0)  # gates is ready and idle: the prefetcher holds back baseline
    assert thread.is_alive()
    assert [c[0] for c in pool.driver.calls()] == ["create"]
    pool.mark_used(profiles[0])  # a test took gates: baseline may come up now
    thread.join(timeout=10)
    assert not thread.is_alive()
    assert [c[0] for c in pool.driver.calls()] == ["create", "create"]
