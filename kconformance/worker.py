"""The xdist worker's plugin: what a process that runs tests under xdist does on its own.

Workers start creating the clusters their tests need as soon as collection ends (prefetch), and
cannot stop the run from collection (xdist reports that as an internal error), so a host problem
is handed to the controller through the run directory. Registered from ``pytest_configure`` only
in xdist workers, as pytest-xdist registers its ``WorkerInteractor``.
"""

from __future__ import annotations

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

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        """Start creating the clusters the selected tests need, one per worker."""
        run = self.run
        if self.config.option.collectonly or run.settings.existing_cluster:
            return
        profiles = needed_profiles(session.items)
        if profiles and run.worker_index == 0 and not run.settings.keep_clusters:
            write_plan(run.identity.claim_dir(), tests_by_profile(session.items))
        if profiles and run.settings.prefetch:
            run.pool.prefetch(list(profiles.values()), run.worker_index)

    def host_problem(self, items: list[pytest.Item], exc: KconformanceError) -> None:
        """Deselect what needs a cluster and leave the message for the controller to print."""
        blocked = [item for item in items if needs_cluster(item)]
        items[:] = [item for item in items if not needs_cluster(item)]
        self.config.hook.pytest_deselected(items=blocked)
        run_dir = self.run.identity.run_dir
        run_dir.mkdir(parents=True, exist_ok=True)
        (run_dir / "preflight-error.txt").write_text(str(exc))
