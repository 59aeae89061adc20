"""One cluster per profile per run, shared by every pytest-xdist worker, deleted exactly once.

pytest-xdist runs session fixtures once per worker, so sharing cannot live in a fixture: it lives
in files. Each run has a directory that all its workers know (the controller hands it to them);
a per-profile file lock makes exactly one process create a profile's cluster while the others
wait, and a state file tells the waiters its name. A machine-wide registry of the clusters this
tool created (name, owner pid, keep flag) lets later runs reuse kept clusters and lets a start-up
sweep delete what a dead run left behind - and nothing it did not create.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Protocol

from kconformance.errors import ClusterError
from kconformance.profiles import Profile

NAME_PREFIX = "kc-"


class ClusterDriver(Protocol):
    """What the pool needs from a cluster provider; kind in real runs, a fake in tests."""

    def create(self, name: str, profile: Profile, kubeconfig: Path) -> None: ...

    def delete(self, name: str) -> None: ...

    def existing(self) -> set[str]: ...

    def collect_logs(self, name: str, dest: Path) -> None: ...


@dataclass
class ClusterRecord:
    name: str
    profile_key: str
    profile_hash: str
    run_id: str
    owner_pid: int
    creator_pid: int
    keep: bool
    kubeconfig: str
    state: str  # creating | ready | failed
    error: str | None = None
    create_seconds: float | None = None
    created_at: float = 0.0

    @classmethod
    def read(cls, path: Path) -> ClusterRecord | None:
        try:
            return cls(**json.loads(path.read_text()))
        except (OSError, ValueError, TypeError):
            return None


def pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@contextmanager
def file_lock(path: Path) -> Iterator[None]:
    """An exclusive flock: released by the kernel if the holder dies, so a crash never deadlocks."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def _write_json(path: Path, data: object) -> None:
    tmp = path.with_suffix(path.suffix + f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=True))
    tmp.replace(path)


def cluster_name(profile: Profile, run_id: str) -> str:
    """kc-<profile>-<release digits>-<run id>: readable in `kind get clusters`, never colliding."""
    return f"{NAME_PREFIX}{profile.name}-{profile.release.replace('.', '')}-{run_id}"


class Registry:
    """The machine-wide list of clusters this tool created, one JSON file per cluster."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.root.mkdir(parents=True, exist_ok=True)

    def path(self, name: str) -> Path:
        return self.root / f"{name}.json"

    def kubeconfig(self, name: str) -> Path:
        return self.root / f"{name}.kubeconfig"

    def read(self, name: str) -> ClusterRecord | None:
        return ClusterRecord.read(self.path(name))

    def write(self, record: ClusterRecord) -> None:
        _write_json(self.path(record.name), asdict(record))

    def remove(self, name: str) -> None:
        for path in (self.path(name), self.kubeconfig(name)):
            path.unlink(missing_ok=True)
        # files a profile's components were staged in (components.stage), mounted by its nodes
        shutil.rmtree(self.root / f"{name}.components", ignore_errors=True)

    def records(self) -> list[ClusterRecord]:
        return [r for p in sorted(self.root.glob("*.json")) if (r := ClusterRecord.read(p))]

    @contextmanager
    def locked(self) -> Iterator[None]:
        with file_lock(self.root / ".lock"):
            yield


@dataclass
class Event:
    event: str
    name: str
    profile: str
    seconds: float | None = None
    detail: str = ""

    def line(self) -> str:
        if self.event == "warning":
            return f"kconformance: warning: {self.detail}"
        took = f" in {self.seconds:.1f}s" if self.seconds is not None else ""
        detail = f" ({self.detail})" if self.detail else ""
        return f"kconformance: cluster {self.name} [{self.profile}] {self.event}{took}{detail}"


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
    ) -> None:
        self.run_dir = run_dir
        self.registry = registry
        self.driver = driver
        self.run_id = run_id
        self.owner_pid = owner_pid
        self.keep = keep
        self.artifacts_dir = artifacts_dir
        self.on_event = on_event
        self.run_dir.mkdir(parents=True, exist_ok=True)

    # -- events ---------------------------------------------------------------------------
    @property
    def events_path(self) -> Path:
        return self.run_dir / "events.jsonl"

    def _emit(self, event: Event) -> None:
        with open(self.events_path, "a") as handle:
            handle.write(json.dumps(asdict(event)) + "\n")
        if self.on_event:
            self.on_event(event)

    def events(self) -> list[Event]:
        if not self.events_path.exists():
            return []
        return [Event(**json.loads(line)) for line in self.events_path.read_text().splitlines()]

    def warn(self, message: str) -> None:
        """A run-wide warning, printed by the controller even when raised in a worker."""
        self._emit(Event("warning", "", "", detail=message))

    # -- acquire --------------------------------------------------------------------------
    def _state_path(self, profile: Profile) -> Path:
        return self.run_dir / f"{profile.key}.json"

    def acquire(self, profile: Profile) -> ClusterRecord:
        """The ready cluster for ``profile``, created by whichever process asks first."""
        with file_lock(self.run_dir / f"{profile.key}.lock"):
            state_path = self._state_path(profile)
            if state_path.exists():
                name = json.loads(state_path.read_text())["name"]
                record = self.registry.read(name)
                if record and record.state == "ready":
                    return record
                if record and record.state == "failed":
                    raise ClusterError(
                        f"cluster for profile {profile.key} failed to start earlier in this run: "
                        f"{record.error}"
                    )
                # "creating" while we hold the lock: its creator died mid-way. Start over.
                self._discard(name, profile.key, "creator died")
            record = self._claim_kept(profile) if self.keep else None
            if record is not None:
                _write_json(state_path, {"name": record.name})
                return record
            return self._create(profile, state_path)

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
        _write_json(state_path, {"name": name})  # so waiters and teardown know it, even mid-way
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
            self._delete_quietly(name)
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

    def _delete_quietly(self, name: str) -> None:
        try:
            self.driver.delete(name)
        except Exception as exc:
            self._emit(Event("delete failed", name, "", detail=str(exc)[:200]))

    def _discard(self, name: str, profile_key: str, why: str) -> None:
        self._emit(Event("discarding", name, profile_key, detail=why))
        self._delete_quietly(name)
        self.registry.remove(name)

    # -- background creation ----------------------------------------------------------------
    def prefetch(self, profiles: Sequence[Profile], worker_index: int = 0) -> threading.Thread:
        """Create the profiles' clusters in the background, starting at a worker-specific one.

        With two workers and two profiles each worker starts on a different profile, so both
        clusters are created at once; tests then block in acquire() only until theirs is ready.
        """
        order = list(profiles)
        if order:
            shift = worker_index % len(order)
            order = order[shift:] + order[:shift]

        def work() -> None:
            for profile in order:
                try:
                    self.acquire(profile)
                except Exception:
                    pass  # surfaced, with its message, by the test that needs the cluster

        thread = threading.Thread(target=work, name="kconformance-prefetch", daemon=True)
        thread.start()
        return thread

    # -- teardown ---------------------------------------------------------------------------
    def run_clusters(self) -> list[ClusterRecord]:
        records = []
        for path in sorted(self.run_dir.glob("*.json")):
            name = json.loads(path.read_text()).get("name")
            record = self.registry.read(name) if name else None
            if record:
                records.append(record)
        return records

    def teardown(self) -> list[ClusterRecord]:
        """Delete this run's clusters (kept ones stay); called once, by the controller."""
        deleted = []
        for record in self.run_clusters():
            if record.run_id != self.run_id:
                continue  # claimed by a later run already
            if record.keep and record.state == "ready":
                self._emit(Event("kept", record.name, record.profile_key, detail="--keep-clusters"))
                continue
            self._emit(Event("deleting", record.name, record.profile_key))
            started = time.monotonic()
            self._delete_quietly(record.name)
            self.registry.remove(record.name)
            self._emit(
                Event("deleted", record.name, record.profile_key, time.monotonic() - started)
            )
            deleted.append(record)
        return deleted

    def sweep(self) -> list[str]:
        """Delete clusters whose owning run died; never touch kept ones or foreign clusters."""
        removed = []
        with self.registry.locked():
            records = [
                r
                for r in self.registry.records()
                if not pid_alive(r.owner_pid) and not (r.keep and r.state == "ready")
            ]
            if not records:
                return removed
            existing = self.driver.existing()
            for record in records:
                if record.name in existing:
                    self._emit(
                        Event("sweeping", record.name, record.profile_key, detail="owner died")
                    )
                    self._delete_quietly(record.name)
                self.registry.remove(record.name)
                removed.append(record.name)
        return removed
