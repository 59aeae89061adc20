"""One cluster per profile per run, shared by every pytest-xdist worker, deleted exactly once.

pytest-xdist runs session fixtures once per worker, so sharing cannot live in a fixture: it lives
in files (``sharing``). Each run has a directory that all its workers know (the controller hands
it to them); a per-profile file lock makes exactly one process create a profile's cluster while
the others wait, and a state file tells the waiters its name. A machine-wide registry of the
clusters this tool created (name, owner pid, keep flag) lets later runs reuse kept clusters and
lets a start-up sweep delete what a dead run left behind - and nothing it did not create.

``ClusterPool`` is what the plugin and the controller use: acquiring under the profile's lock
is here; making clusters is ``creation``'s job, deleting them ``teardown``'s.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from pathlib import Path

from kconformance.creation import ClusterCreation
from kconformance.errors import ClusterError
from kconformance.events import Event, EventLog
from kconformance.profiles import Profile
from kconformance.registry import ClusterRecord, Registry, file_lock, try_file_lock, write_json
from kconformance.sharing import ClusterDriver, RunShare, cluster_name
from kconformance.teardown import ClusterTeardown

__all__ = ["ClusterPool", "ClusterRecord", "Event", "Registry", "cluster_name"]


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
        self.on_event = on_event
        self.event_log = EventLog(run_dir / "events.jsonl")
        self.share = RunShare(run_dir, registry, driver, run_id, owner_pid, keep, self._emit)
        self.creation = ClusterCreation(self.share, artifacts_dir, creation_slots)
        self.ending = ClusterTeardown(self.share)

    @property
    def run_dir(self) -> Path:
        return self.share.run_dir

    @property
    def registry(self) -> Registry:
        return self.share.registry

    @property
    def driver(self) -> ClusterDriver:
        return self.share.driver

    @property
    def creation_slots(self) -> int:
        return self.creation.slots

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
    def acquire(self, profile: Profile) -> ClusterRecord:
        """The ready cluster for ``profile``, created by whichever process asks first."""
        with file_lock(self.share.lock_path(profile.key)):
            return self._acquire_locked(profile)

    def _acquire_locked(self, profile: Profile) -> ClusterRecord:
        """acquire() under the profile's lock."""
        share = self.share
        if share.released_path(profile.key).exists():
            raise ClusterError(
                f"the cluster of profile {profile.key} was deleted once every test that "
                "needed it had finished; nothing in this run should ask for it again"
            )
        state_path = share.state_path(profile.key)
        name = share.state_name(state_path)
        if name is None and state_path.exists():  # torn: find the name another way
            name = self._registered_name(profile) or cluster_name(profile, share.run_id)
        if name is not None:
            record = share.registry.read(name)
            if record is None and share.registry.path(name).exists():
                record = self.ending.recover(name, profile)  # torn or damaged: never delete on it
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
                self.ending.discard(name, profile.key, "creator died")
        record = self.creation.claim_kept(profile) if share.keep else None
        if record is not None:
            write_json(state_path, {"name": record.name})
            return record
        return self.creation.create(profile, state_path)

    def _registered_name(self, profile: Profile) -> str | None:
        for record in self.share.registry.records():
            if record.run_id == self.share.run_id and record.profile_key == profile.key:
                return record.name
        return None

    def _acquire_if_free(self, profile: Profile) -> None:
        with try_file_lock(self.share.lock_path(profile.key)) as taken:
            if taken:
                self._acquire_locked(profile)

    # -- background creation ----------------------------------------------------------------
    def prefetch(
        self, profiles: Sequence[Profile], worker_index: int = 0
    ) -> threading.Thread | None:
        """Create the profiles' clusters in the background, in test order (see
        ``ClusterCreation.prefetch``); None in a worker beyond the creation slots."""
        return self.creation.prefetch(profiles, worker_index, self._acquire_if_free)

    def mark_used(self, profile: Profile) -> None:
        """A test got this profile's cluster: prefetch may create further ahead."""
        self.creation.mark_used(profile)

    # -- teardown ---------------------------------------------------------------------------
    def run_clusters(self) -> list[ClusterRecord]:
        """This run's clusters, torn state files and records included."""
        return self.ending.run_clusters()

    def teardown(self) -> list[ClusterRecord]:
        """Delete this run's clusters (kept ones stay); called once, by the controller.

        Returns:
            The clusters that could not be deleted (they stay in the registry).
        """
        return self.ending.teardown()

    def release(self, profile_key: str) -> None:
        """Delete this run's cluster of ``profile_key`` now: no test left in the run needs it."""
        self.ending.release(profile_key)

    def sweep(self) -> list[str]:
        """Delete clusters whose owning run died; never touch kept ones or foreign clusters."""
        return self.ending.sweep()
