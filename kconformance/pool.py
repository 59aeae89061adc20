"""One cluster per profile per run, shared by every pytest-xdist worker, deleted exactly once.

pytest-xdist runs session fixtures once per worker, so sharing cannot live in a fixture: it lives
in files. Each run has a directory that all its workers know (the controller hands it to them);
a per-profile file lock makes exactly one process create a profile's cluster while the others
wait, and a state file tells the waiters its name. A machine-wide registry of the clusters this
tool created (name, owner pid, keep flag) lets later runs reuse kept clusters and lets a start-up
sweep delete what a dead run left behind - and nothing it did not create.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Protocol

from kconformance.deletion import delete_cluster, delete_registered
from kconformance.errors import ClusterError
from kconformance.events import Event, EventLog
from kconformance.profiles import Profile
from kconformance.registry import (
    ClusterRecord,
    Registry,
    file_lock,
    pid_alive,
    try_file_lock,
    write_json,
)
from kconformance.slots import creation_slot

__all__ = [
    "ClusterPool",
    "ClusterRecord",
    "Event",
    "Registry",
    "cluster_name",
    "pid_alive",
    "sweep_dead_runs",
]

NAME_PREFIX = "kc-"
#: How often a prefetcher that is ahead of the tests looks whether a test took a cluster.
PREFETCH_POLL_SECONDS = 0.5


class ClusterDriver(Protocol):
    """What the pool needs from a cluster provider; kind in real runs, a fake in tests."""

    def create(self, name: str, profile: Profile, kubeconfig: Path) -> None: ...

    def delete(self, name: str) -> None: ...

    def existing(self) -> set[str]: ...

    def collect_logs(self, name: str, dest: Path) -> None: ...


def cluster_name(profile: Profile, run_id: str) -> str:
    """kc-<profile>-<release digits>-<run id>: readable in `kind get clusters`, never colliding."""
    return f"{NAME_PREFIX}{profile.name}-{profile.release.replace('.', '')}-{run_id}"


class ClusterPool:
    """Hands out clusters by profile. Workers call acquire(); only the controller tears down."""

    def __init__(
        self,
        run_dir: Path,
        registry: Registry,
        driver: ClusterDriver,
        run_id: str,
        owner_pid: int,
        keep: bool = False,
        artifacts_dir: Path | None = None,
        on_event: Callable[[Event], None] | None = None,
        creation_slots: int = 1,
    ) -> None:
        self.run_dir = run_dir
        self.registry = registry
        self.driver = driver
        self.run_id = run_id
        self.owner_pid = owner_pid
        self.keep = keep
        self.artifacts_dir = artifacts_dir
        self.on_event = on_event
        self.creation_slots = creation_slots
        self.event_log = EventLog(run_dir / "events.jsonl")

    # -- events ---------------------------------------------------------------------------
    def _emit(self, event: Event) -> None:
        self.event_log.append(event)
        if self.on_event:
            self.on_event(event)

    def events(self) -> list[Event]:
        return self.event_log.read()

    def warn(self, message: str) -> None:
        """A run-wide warning, printed by the controller even when raised in a worker."""
        self._emit(Event("warning", "", "", detail=message))

    def note(self, message: str) -> None:
        """A progress line (e.g. an image pull), printed by the controller from any process."""
        self._emit(Event("note", "", "", detail=message))

    # -- acquire --------------------------------------------------------------------------
    def _state_path(self, profile: Profile) -> Path:
        return self.run_dir / f"{profile.key}.json"

    def acquire(self, profile: Profile) -> ClusterRecord:
        """The ready cluster for ``profile``, created by whichever process asks first."""
        with file_lock(self.run_dir / f"{profile.key}.lock"):
            return self._acquire_locked(profile)

    def _acquire_locked(self, profile: Profile) -> ClusterRecord:
        """acquire() under the profile's lock."""
        if (self.run_dir / f"{profile.key}.released").exists():
            raise ClusterError(
                f"the cluster of profile {profile.key} was deleted once every test that "
                "needed it had finished; nothing in this run should ask for it again"
            )
        state_path = self._state_path(profile)
        name = self._state_name(state_path)
        if name is None and state_path.exists():  # torn: find the name another way
            name = self._registered_name(profile) or cluster_name(profile, self.run_id)
        if name is not None:
            record = self.registry.read(name)
            if record is None and self.registry.path(name).exists():
                record = self._recover(name, profile)  # torn or damaged: never delete on it
            if record is None:
                pass  # the record is gone, so is the cluster: create it again
            elif record.state == "ready":
                return record
            elif record.state == "failed":
                raise ClusterError(
                    f"cluster for profile {profile.key} failed to start earlier in this run: "
                    f"{record.error}"
                )
            else:
                # "creating" while we hold the lock: its creator died mid-way. Start over.
                self._discard(name, profile.key, "creator died")
        record = self._claim_kept(profile) if self.keep else None
        if record is not None:
            write_json(state_path, {"name": record.name})
            return record
        return self._create(profile, state_path)

    def _registered_name(self, profile: Profile) -> str | None:
        for record in self.registry.records():
            if record.run_id == self.run_id and record.profile_key == profile.key:
                return record.name
        return None

    @staticmethod
    def _state_name(state_path: Path) -> str | None:
        """The cluster name a run state file names; None when absent or unreadable (torn)."""
        try:
            name = json.loads(state_path.read_text()).get("name")
        except (OSError, ValueError, AttributeError):
            return None
        return name if isinstance(name, str) and name else None

    def _recover(self, name: str, profile: Profile) -> ClusterRecord:
        """The registry record of a cluster this run made is unreadable: never delete on that
        alone. A cluster kind lists, with its kubeconfig, is taken as ready; else raise."""
        kubeconfig = self.registry.kubeconfig(name)
        if name in self.driver.existing() and kubeconfig.is_file() and kubeconfig.stat().st_size:
            record = ClusterRecord(
                name=name,
                profile_key=profile.key,
                profile_hash=profile.hash,
                run_id=self.run_id,
                owner_pid=self.owner_pid,
                creator_pid=os.getpid(),
                keep=self.keep,
                kubeconfig=str(kubeconfig),
                state="ready",
                created_at=time.time(),
            )
            self.registry.write(record)
            self._emit(Event("recovered", name, profile.key, detail="registry record rewritten"))
            return record
        raise ClusterError(
            f"the registry record of cluster {name} ({self.registry.path(name)}) is unreadable and "
            f"kind does not list a usable cluster of that name; left alone: inspect it, then "
            f"delete it with `kind delete cluster --name {name}` and remove the record"
        )

    def _claim_kept(self, profile: Profile) -> ClusterRecord | None:
        with self.registry.locked():
            existing = None
            for record in self.registry.records():
                if (
                    record.keep
                    and record.state == "ready"
                    and record.profile_hash == profile.hash
                    and (record.owner_pid == self.owner_pid or not pid_alive(record.owner_pid))
                ):
                    if existing is None:
                        existing = self.driver.existing()
                    if record.name not in existing:
                        self.registry.remove(record.name)
                        continue
                    record.owner_pid = self.owner_pid
                    record.run_id = self.run_id
                    self.registry.write(record)
                    self._emit(Event("reused", record.name, profile.key, detail="--keep-clusters"))
                    return record
        return None

    def _create(self, profile: Profile, state_path: Path) -> ClusterRecord:
        with creation_slot(self.run_dir, self.creation_slots):
            return self._create_in_slot(profile, state_path)

    def _create_in_slot(self, profile: Profile, state_path: Path) -> ClusterRecord:
        name = cluster_name(profile, self.run_id)
        record = ClusterRecord(
            name=name,
            profile_key=profile.key,
            profile_hash=profile.hash,
            run_id=self.run_id,
            owner_pid=self.owner_pid,
            creator_pid=os.getpid(),
            keep=self.keep,
            kubeconfig=str(self.registry.kubeconfig(name)),
            state="creating",
            created_at=time.time(),
        )
        self.registry.write(record)
        write_json(state_path, {"name": name})  # so waiters and teardown know it, even mid-way
        self._emit(Event("creating", name, profile.key, detail=f"hash {profile.hash}"))
        started = time.monotonic()
        try:
            self.driver.create(name, profile, Path(record.kubeconfig))
        except BaseException as exc:
            record.state = "failed"
            record.error = str(exc)
            self.registry.write(record)
            self._emit(Event("failed", name, profile.key, time.monotonic() - started))
            self._collect_logs(name)
            self._delete(name, profile.key, forget=False)  # teardown forgets it
            if isinstance(exc, Exception):
                raise ClusterError(
                    f"creating cluster {name} for {profile.key} failed: {exc}"
                ) from exc
            raise
        record.state = "ready"
        record.create_seconds = time.monotonic() - started
        self.registry.write(record)
        self._emit(Event("ready", name, profile.key, record.create_seconds))
        return record

    def _collect_logs(self, name: str) -> None:
        if self.artifacts_dir is None:
            return
        dest = self.artifacts_dir / "kind-logs" / name
        try:
            self.driver.collect_logs(name, dest)
            self._emit(Event("logs exported", name, "", detail=str(dest)))
        except Exception as exc:  # diagnostics must never hide the real failure
            self._emit(Event("logs export failed", name, "", detail=str(exc)[:200]))

    def _delete(self, name: str, profile_key: str = "", forget: bool = True) -> bool:
        """Delete a cluster; on success only, forget it (unless ``forget`` is False: a failed
        creation keeps its record so later acquires in this run report the failure). A failure
        leaves the registry entry for the next sweep (the owner is dead by then) and says so."""
        return delete_cluster(self.registry, self.driver, self._emit, name, profile_key, forget)

    def _discard(self, name: str, profile_key: str, why: str) -> None:
        self._emit(Event("discarding", name, profile_key, detail=why))
        self._delete(name, profile_key)

    # -- background creation ----------------------------------------------------------------
    def prefetch(
        self, profiles: Sequence[Profile], worker_index: int = 0
    ) -> threading.Thread | None:
        """Create the profiles' clusters in the background, in the order the tests need them.

        One prefetcher per creation slot (the first workers'): each walks the same order and
        skips a profile whose lock another process holds (it is being created there), so the
        clusters come up in test order, ``creation_slots`` at a time, however many workers run.
        A prefetcher also waits while ``creation_slots`` clusters are ready that no test has
        used yet: an idle control plane still takes CPU, which the clusters being created lack.
        """
        if worker_index >= self.creation_slots:
            return None
        order = list(profiles)

        def work() -> None:
            for profile in order:
                while self._unused_ready(order) >= self.creation_slots:
                    time.sleep(PREFETCH_POLL_SECONDS)
                try:
                    self._acquire_if_free(profile)
                except Exception:
                    pass  # surfaced, with its message, by the test that needs the cluster

        thread = threading.Thread(target=work, name="kconformance-prefetch", daemon=True)
        thread.start()
        return thread

    def mark_used(self, profile: Profile) -> None:
        """A test got this profile's cluster: prefetch may create further ahead."""
        self.run_dir.mkdir(parents=True, exist_ok=True)
        (self.run_dir / f"{profile.key}.used").touch()

    def _unused_ready(self, profiles: Sequence[Profile]) -> int:
        """Clusters of this run that are ready and that no test has used (nor released) yet."""
        count = 0
        for profile in profiles:
            key = profile.key
            if (self.run_dir / f"{key}.used").exists() or (
                self.run_dir / f"{key}.released"
            ).exists():
                continue
            name = self._state_name(self._state_path(profile))
            record = self.registry.read(name) if name else None
            count += record is not None and record.state == "ready"
        return count

    def _acquire_if_free(self, profile: Profile) -> None:
        with try_file_lock(self.run_dir / f"{profile.key}.lock") as taken:
            if taken:
                self._acquire_locked(profile)

    # -- teardown ---------------------------------------------------------------------------
    def run_clusters(self) -> list[ClusterRecord]:
        """This run's clusters: the registry's records of this run, and any cluster a run state
        file names (a torn state file or record never hides a cluster from teardown)."""
        names = {r.name for r in self.registry.records() if r.run_id == self.run_id}
        if self.run_dir.is_dir():
            for path in sorted(self.run_dir.glob("*.json")):
                if (name := self._state_name(path)) is not None:
                    names.add(name)
        records = []
        for name in sorted(names):
            record = self.registry.read(name)
            if record is None and self.registry.path(name).exists():
                # unreadable record of a cluster of this run: delete it, it is ours
                record = ClusterRecord(
                    name, "?", "", self.run_id, self.owner_pid, 0, False, "", "?"
                )
            if record is not None:
                records.append(record)
        return records

    def teardown(self) -> list[ClusterRecord]:
        """Delete this run's clusters (kept ones stay); called once, by the controller.

        Returns:
            The clusters that could not be deleted (they stay in the registry).
        """
        return [r for r in self.run_clusters() if not self._retire(r)]

    def release(self, profile_key: str) -> None:
        """Delete this run's cluster of ``profile_key`` now: no test left in the run needs it.

        A run with many profiles would otherwise keep every cluster it made alive to the end,
        and idle control planes take the CPU and memory the next clusters need.
        """
        with file_lock(self.run_dir / f"{profile_key}.lock"):
            for record in self.run_clusters():
                if record.profile_key == profile_key:
                    self._retire(record)
            # a prefetch still walking its list must not create it again
            write_json(self.run_dir / f"{profile_key}.released", {"released": True})

    def _retire(self, record: ClusterRecord) -> bool:
        """Delete one cluster of this run unless kept; False when ``kind delete`` failed."""
        if record.run_id != self.run_id:
            return True  # claimed by a later run already
        if record.keep and record.state == "ready":
            self._emit(Event("kept", record.name, record.profile_key, detail="--keep-clusters"))
            return True
        self._emit(Event("deleting", record.name, record.profile_key))
        started = time.monotonic()
        if not self._delete(record.name, record.profile_key):
            return False
        self._emit(Event("deleted", record.name, record.profile_key, time.monotonic() - started))
        return True

    def sweep(self) -> list[str]:
        """Delete clusters whose owning run died; never touch kept ones or foreign clusters."""
        return sweep_dead_runs(self.registry, self.driver, self._emit)[0]


def sweep_dead_runs(
    registry: Registry, driver: ClusterDriver, emit: Callable[[Event], None]
) -> tuple[list[str], list[str]]:
    """Delete the clusters of runs whose owner process is gone; never a kept cluster, a cluster
    of a live run, or one this tool did not create.

    Returns:
        The clusters removed, and those whose ``kind delete`` failed (still registered).
    """
    with registry.locked():
        records = [
            r
            for r in registry.records()
            if not pid_alive(r.owner_pid) and not (r.keep and r.state == "ready")
        ]
        failed = delete_registered(registry, driver, records, emit, "owner died")
    return [r.name for r in records if r.name not in failed], failed
