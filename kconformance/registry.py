"""The machine-wide registry of the clusters this tool created, one JSON file per cluster.

It outlives runs: a later run reuses a kept cluster from it, and a start-up sweep deletes what a
dead run left behind - and nothing this tool did not create. An entry leaves the registry only
once its cluster is gone, so a failed delete is retried by the next sweep instead of forgotten.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path


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


@contextmanager
def try_file_lock(path: Path) -> Iterator[bool]:
    """The same lock as :func:`file_lock` if it is free now: yields whether it was taken."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+") as handle:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def write_json(path: Path, data: object) -> None:
    """Write atomically (temp file, fsync, rename): a reader sees the old or the new file, whole."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + f".{os.getpid()}.tmp")
    with open(tmp, "w") as handle:
        handle.write(json.dumps(data, indent=2, sort_keys=True))
        handle.flush()
        os.fsync(handle.fileno())
    tmp.replace(path)


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
        write_json(self.path(record.name), asdict(record))

    def remove(self, name: str) -> None:
        """Forget a deleted cluster: its entry, kubeconfig, kind config and the host files its
        nodes mounted (node files, staged components), kept with it for its whole life."""
        for path in (self.path(name), self.kubeconfig(name), self.root / f"{name}.yaml"):
            path.unlink(missing_ok=True)
        for suffix in (".files", ".components"):  # kindconfig node files; components.stage
            shutil.rmtree(self.root / f"{name}{suffix}", ignore_errors=True)

    def records(self) -> list[ClusterRecord]:
        return [r for p in sorted(self.root.glob("*.json")) if (r := ClusterRecord.read(p))]

    @contextmanager
    def locked(self) -> Iterator[None]:
        with file_lock(self.root / ".lock"):
            yield
