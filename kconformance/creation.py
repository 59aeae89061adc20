"""Making a run's clusters: a kept cluster of an earlier run reused first, else one created in
one of the run's creation slots, and in the background ahead of the tests (prefetch)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from kconformance.errors import ClusterError
from kconformance.events import Event
from kconformance.profiles import Profile
from kconformance.registry import ClusterRecord, pid_alive, write_json
from kconformance.sharing import RunShare, cluster_name
from kconformance.slots import creation_slot

#: How often a prefetcher that is ahead of the tests looks whether a test took a cluster.
PREFETCH_POLL_SECONDS = 0.5


class ClusterCreation:
    """Creates clusters for a run; the caller holds the profile's lock."""

    def __init__(self, share: RunShare, artifacts_dir: Path | None, slots: int) -> None:
        self.share = share
        self.artifacts_dir = artifacts_dir
        self.slots = slots

    def claim_kept(self, profile: Profile) -> ClusterRecord | None:
        """A ready cluster of the same profile hash that --keep-clusters kept and whose run is
        over (or is this one), taken over by this run; a kept record whose cluster is gone is
        forgotten on the way."""
        share = self.share
        with share.registry.locked():
            existing = None
            for record in share.registry.records():
                if (
                    record.keep
                    and record.state == "ready"
                    and record.profile_hash == profile.hash
                    and (record.owner_pid == share.owner_pid or not pid_alive(record.owner_pid))
                ):
                    if existing is None:
                        existing = share.driver.existing()
                    if record.name not in existing:
                        share.registry.remove(record.name)
                        continue
                    record.owner_pid = share.owner_pid
                    record.run_id = share.run_id
                    share.registry.write(record)
                    share.emit(Event("reused", record.name, profile.key, detail="--keep-clusters"))
                    return record
        return None

    def create(self, profile: Profile, state_path: Path) -> ClusterRecord:
        with creation_slot(self.share.run_dir, self.slots):
            return self._create_in_slot(profile, state_path)

    def _create_in_slot(self, profile: Profile, state_path: Path) -> ClusterRecord:
        share = self.share
        name = cluster_name(profile, share.run_id)
        record = share.new_record(name, profile, "creating", share.registry.kubeconfig(name))
        share.registry.write(record)
        write_json(state_path, {"name": name})  # so waiters and teardown know it, even mid-way
        share.emit(Event("creating", name, profile.key, detail=f"hash {profile.hash}"))
        started = time.monotonic()
        try:
            share.driver.create(name, profile, Path(record.kubeconfig))
        except BaseException as exc:
            record.state = "failed"
            record.error = str(exc)
            share.registry.write(record)
            share.emit(Event("failed", name, profile.key, time.monotonic() - started))
            self._collect_logs(name)
            share.delete(name, profile.key, forget=False)  # teardown forgets it
            if isinstance(exc, Exception):
                raise ClusterError(
                    f"creating cluster {name} for {profile.key} failed: {exc}"
                ) from exc
            raise
        record.state = "ready"
        record.create_seconds = time.monotonic() - started
        share.registry.write(record)
        share.emit(Event("ready", name, profile.key, record.create_seconds))
        return record

    def _collect_logs(self, name: str) -> None:
        if self.artifacts_dir is None:
            return
        dest = self.artifacts_dir / "kind-logs" / name
        try:
            self.share.driver.collect_logs(name, dest)
            self.share.emit(Event("logs exported", name, "", detail=str(dest)))
        except Exception as exc:  # diagnostics must never hide the real failure
            self.share.emit(Event("logs export failed", name, "", detail=str(exc)[:200]))

    # -- background creation ----------------------------------------------------------------
    def prefetch(
        self,
        profiles: Sequence[Profile],
        worker_index: int,
        acquire_if_free: Callable[[Profile], None],
    ) -> threading.Thread | None:
        """Create the profiles' clusters in the background, in the order the tests need them.

        One prefetcher per creation slot (the first workers'): each walks the same order and
        skips a profile whose lock another process holds (``acquire_if_free``: it is being
        created there), so the clusters come up in test order, ``slots`` at a time, however
        many workers run. A prefetcher also waits while ``slots`` clusters are ready that no
        test has used yet: an idle control plane still takes CPU, which the clusters being
        created lack.
        """
        if worker_index >= self.slots:
            return None
        order = list(profiles)

        def work() -> None:
            for profile in order:
                while self._unused_ready(order) >= self.slots:
                    time.sleep(PREFETCH_POLL_SECONDS)
                try:
                    acquire_if_free(profile)
                except Exception:
                    pass  # surfaced, with its message, by the test that needs the cluster

        thread = threading.Thread(target=work, name="kconformance-prefetch", daemon=True)
        thread.start()
        return thread

    def mark_used(self, profile: Profile) -> None:
        """A test got this profile's cluster: prefetch may create further ahead."""
        self.share.run_dir.mkdir(parents=True, exist_ok=True)
        self.share.used_path(profile.key).touch()

    def _unused_ready(self, profiles: Sequence[Profile]) -> int:
        """Clusters of this run that are ready and that no test has used (nor released) yet."""
        share = self.share
        count = 0
        for profile in profiles:
            key = profile.key
            if share.used_path(key).exists() or share.released_path(key).exists():
                continue
            name = share.state_name(share.state_path(key))
            record = share.registry.read(name) if name else None
            count += record is not None and record.state == "ready"
        return count
