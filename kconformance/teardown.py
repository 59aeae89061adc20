"""Ending a run's clusters: each deleted once no test needs it or at the run's end (kept ones
stay), what dead runs left swept, and a torn registry record recovered rather than trusted or
deleted on.

Only clusters this tool registered are touched, never another run's while it lives: the
registry is shared by every run on the machine."""

from __future__ import annotations

import time
from collections.abc import Callable

from kconformance.deletion import delete_registered
from kconformance.errors import ClusterError
from kconformance.events import Event
from kconformance.profiles import Profile
from kconformance.registry import ClusterRecord, Registry, file_lock, pid_alive, write_json
from kconformance.sharing import ClusterDriver, RunShare


class ClusterTeardown:
    """Deletes a run's clusters; the controller tears down, any process releases early."""

    def __init__(self, share: RunShare) -> None:
        self.share = share

    def run_clusters(self) -> list[ClusterRecord]:
        """This run's clusters: the registry's records of this run, and any cluster a run state
        file names (a torn state file or record never hides a cluster from teardown)."""
        share = self.share
        names = {r.name for r in share.registry.records() if r.run_id == share.run_id}
        if share.run_dir.is_dir():
            for path in sorted(share.run_dir.glob("*.json")):
                if (name := share.state_name(path)) is not None:
                    names.add(name)
        records = []
        for name in sorted(names):
            record = share.registry.read(name)
            if record is None and share.registry.path(name).exists():
                # unreadable record of a cluster of this run: delete it, it is ours
                record = ClusterRecord(
                    name, "?", "", share.run_id, share.owner_pid, 0, False, "", "?"
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
        with file_lock(self.share.lock_path(profile_key)):
            for record in self.run_clusters():
                if record.profile_key == profile_key:
                    self._retire(record)
            # a prefetch still walking its list must not create it again
            write_json(self.share.released_path(profile_key), {"released": True})

    def _retire(self, record: ClusterRecord) -> bool:
        """Delete one cluster of this run unless kept; False when ``kind delete`` failed."""
        share = self.share
        if record.run_id != share.run_id:
            return True  # claimed by a later run already
        if record.keep and record.state == "ready":
            share.emit(Event("kept", record.name, record.profile_key, detail="--keep-clusters"))
            return True
        share.emit(Event("deleting", record.name, record.profile_key))
        started = time.monotonic()
        if not share.delete(record.name, record.profile_key):
            return False
        share.emit(Event("deleted", record.name, record.profile_key, time.monotonic() - started))
        return True

    def discard(self, name: str, profile_key: str, why: str) -> None:
        """Delete a cluster of this run that cannot be used (its creator died mid-way)."""
        self.share.emit(Event("discarding", name, profile_key, detail=why))
        self.share.delete(name, profile_key)

    def recover(self, name: str, profile: Profile) -> ClusterRecord:
        """The registry record of a cluster this run made is unreadable: never delete on that
        alone. A cluster kind lists, with its kubeconfig, is taken as ready; else raise."""
        share = self.share
        kubeconfig = share.registry.kubeconfig(name)
        if name in share.driver.existing() and kubeconfig.is_file() and kubeconfig.stat().st_size:
            record = share.new_record(name, profile, "ready", kubeconfig)
            share.registry.write(record)
            share.emit(Event("recovered", name, profile.key, detail="registry record rewritten"))
            return record
        raise ClusterError(
            f"the registry record of cluster {name} ({share.registry.path(name)}) is unreadable "
            f"and kind does not list a usable cluster of that name; left alone: inspect it, then "
            f"delete it with `kind delete cluster --name {name}` and remove the record"
        )

    def sweep(self) -> list[str]:
        """Delete clusters whose owning run died; never touch kept ones or foreign clusters."""
        return sweep_dead_runs(self.share.registry, self.share.driver, self.share.emit)[0]


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
