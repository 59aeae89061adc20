"""The xdist worker's plugin: what a process that runs tests under xdist does on its own.

Workers start creating the clusters their tests need as soon as the controller has checked the
host (prefetch). The host check (pre-flight: Docker, kind, node image pulls, the sweep of dead
runs) is the controller's, once per run: a worker only writes what its tests need into the run
directory, where the controller reads it, and waits for the verdict. Registered from
``pytest_configure`` only in xdist workers, as pytest-xdist registers its ``WorkerInteractor``.
"""

from __future__ import annotations

import threading
from typing import Any

import pytest

from kconformance.errors import KconformanceError
from kconformance.lifetimes import write_plan
from kconformance.runtime import Run
from kconformance.stash import needed_profiles, needs_cluster, tests_by_profile


class WorkerPlugin:
    """Prefetch and the hand-over of host problems to the controller."""

    name = "kconformance-worker"

    def __init__(self, config: pytest.Config, run: Run) -> None:
        self.config = config
        self.run = run

    @property
    def worker_id(self) -> str:
        return str(self.config.workerinput.get("workerid", "gw0"))  # type: ignore[attr-defined]

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        """Once the controller has checked the host, start creating the clusters the selected
        tests need."""
        run = self.run
        if self.config.option.collectonly or run.settings.existing_cluster:
            return
        profiles = needed_profiles(session.items)
        if profiles and run.worker_index == 0 and not run.settings.keep_clusters:
            write_plan(run.identity.claim_dir(), tests_by_profile(session.items))
        if profiles and run.settings.prefetch:
            thread = threading.Thread(
                target=self._prefetch_after_preflight,
                args=(list(profiles.values()),),
                name="kconformance-prefetch-wait",
                daemon=True,
            )
            thread.start()

    def _prefetch_after_preflight(self, profiles: list[Any]) -> None:
        if self.run.wait_preflight_verdict() is None:
            self.run.pool.prefetch(profiles, self.run.worker_index)

    def selected(self, items: list[pytest.Item], profiles: list[Any]) -> None:
        """kconformance tests were selected: hand the controller what they need. Only the
        components are checked here (a file lookup): a worker cannot stop the run from
        collection (xdist reports that as an internal error), so a problem is handed over too,
        and the controller stops the run."""
        error = None
        try:
            self.run.check_components(profiles)
        except KconformanceError as exc:
            error = str(exc)
            blocked = [item for item in items if needs_cluster(item)]
            items[:] = [item for item in items if not needs_cluster(item)]
            self.config.hook.pytest_deselected(items=blocked)
        self.run.write_preflight_needs(self.worker_id, profiles, error)
