"""When a run may delete a cluster before the end: once every test on its profile has finished.

The process that collects the tests (the only process under ``-n 0``, the first xdist worker
otherwise; the xdist controller collects nothing) writes which profile each test runs on into
the run directory. The controller counts finished tests (their teardown report is their last)
and hands a profile whose tests are all done to the pool, which deletes its cluster in the
background. Clusters therefore live only as long as their tests, instead of all of them to the
end of the run.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from pathlib import Path

from kconformance.registry import write_json

PLAN_FILE = "tests-by-profile.json"


def write_plan(run_dir: Path, tests: dict[str, str]) -> None:
    run_dir.mkdir(parents=True, exist_ok=True)
    write_json(run_dir / PLAN_FILE, tests)


class ClusterLifetimes:
    """Tells, test by test, when a profile's last test has finished; releases it then."""

    def __init__(self, run_dir: Path, release: Callable[[str], None]) -> None:
        self.run_dir = run_dir
        self.release = release
        self.finished: set[str] = set()
        self.released: set[str] = set()
        self.threads: list[threading.Thread] = []
        self._plan: dict[str, str] | None = None

    def _load(self) -> dict[str, str] | None:
        if self._plan is None:
            try:
                self._plan = dict(json.loads((self.run_dir / PLAN_FILE).read_text()))
            except (OSError, ValueError, TypeError):
                return None  # not written yet (or torn): nothing is released early
        return self._plan

    def test_finished(self, nodeid: str) -> None:
        self.finished.add(nodeid)
        plan = self._load()
        if not plan or nodeid not in plan:
            return
        key = plan[nodeid]
        if key in self.released:
            return
        if all(n in self.finished for n, k in plan.items() if k == key):
            self.released.add(key)
            thread = threading.Thread(
                target=self.release, args=(key,), name=f"kconformance-release-{key}", daemon=True
            )
            self.threads.append(thread)
            thread.start()

    def wait(self) -> None:
        """Let the early deletions finish before the end-of-run teardown looks at the rest."""
        for thread in self.threads:
            thread.join()
