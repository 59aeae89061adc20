"""How the processes of one run share its clusters: the run directory's files, and what every
part of the pool (acquire, creation, teardown) works with.

pytest-xdist runs session fixtures once per worker, so sharing cannot live in a fixture: it
lives in files. Per profile key, the run directory holds ``<key>.lock`` (the process holding it
decides about that profile's cluster), ``<key>.json`` (the cluster's name, for waiters and
teardown, written before creation starts), ``<key>.used`` (a test took it: prefetch may go
further ahead) and ``<key>.released`` (deleted early; nothing may ask for it again).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from kconformance.deletion import delete_cluster
from kconformance.events import Event
from kconformance.profiles import Profile
from kconformance.registry import ClusterRecord, Registry

NAME_PREFIX = "kc-"


class ClusterDriver(Protocol):
    """What the pool needs from a cluster provider; kind in real runs, a fake in tests."""

    def create(self, name: str, profile: Profile, kubeconfig: Path) -> None: ...

    def delete(self, name: str) -> None: ...

    def existing(self) -> set[str]: ...

    def collect_logs(self, name: str, dest: Path) -> None: ...


def cluster_name(profile: Profile, run_id: str) -> str:
    """kc-<profile>-<release digits>-<run id>: readable in `kind get clusters`, never colliding."""
    return f"{NAME_PREFIX}{profile.name}-{profile.release.replace('.', '')}-{run_id}"


@dataclass
class RunShare:
    """One run's shared state as one process sees it: its directory, the machine's registry,
    the driver, and ``emit``, which logs an event for the whole run."""

    run_dir: Path
    registry: Registry
    driver: ClusterDriver
    run_id: str
    owner_pid: int
    keep: bool
    emit: Callable[[Event], None]

    def lock_path(self, profile_key: str) -> Path:
        return self.run_dir / f"{profile_key}.lock"

    def state_path(self, profile_key: str) -> Path:
        return self.run_dir / f"{profile_key}.json"

    def used_path(self, profile_key: str) -> Path:
        return self.run_dir / f"{profile_key}.used"

    def released_path(self, profile_key: str) -> Path:
        return self.run_dir / f"{profile_key}.released"

    @staticmethod
    def state_name(state_path: Path) -> str | None:
        """The cluster name a run state file names; None when absent or unreadable (torn)."""
        try:
            name = json.loads(state_path.read_text()).get("name")
        except (OSError, ValueError, AttributeError):
            return None
        return name if isinstance(name, str) and name else None

    def new_record(
        self, name: str, profile: Profile, state: str, kubeconfig: Path
    ) -> ClusterRecord:
        """A registry record of a cluster this process makes (or recovers) for the run."""
        return ClusterRecord(
            name=name,
            profile_key=profile.key,
            profile_hash=profile.hash,
            run_id=self.run_id,
            owner_pid=self.owner_pid,
            creator_pid=os.getpid(),
            keep=self.keep,
            kubeconfig=str(kubeconfig),
            state=state,
            created_at=time.time(),
        )

    def delete(self, name: str, profile_key: str = "", forget: bool = True) -> bool:
        """Delete a cluster; on success only, forget it (unless ``forget`` is False: a failed
        creation keeps its record so later acquires in this run report the failure). A failure
        leaves the registry entry for the next sweep (the owner is dead by then) and says so."""
        return delete_cluster(self.registry, self.driver, self.emit, name, profile_key, forget)
