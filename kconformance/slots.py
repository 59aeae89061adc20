"""At most N kind clusters are created at once, across every process of a run.

Booting a kind node is CPU-bound (kubeadm, etcd, the control plane's first start). On two cores,
four clusters started together each took 72-100 s where one alone takes about 40 s, so every
test waiting on any of them waited longer. Workers (which mostly wait on controllers) can
therefore outnumber the cores, while creations stay at about one per core.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from kconformance.registry import try_file_lock

#: How often a process that found every slot taken looks again (creations take tens of seconds).
RETRY_SECONDS = 0.25


def default_slots() -> int:
    """One creation per core this process may use."""
    return max(1, len(os.sched_getaffinity(0)))


@contextmanager
def creation_slot(run_dir: Path, slots: int) -> Iterator[None]:
    """Hold one of the run's ``slots`` creation slots (flock'd files, freed if the holder dies)."""
    while True:
        for index in range(max(1, slots)):
            with try_file_lock(run_dir / f"creation-slot-{index}.lock") as taken:
                if taken:
                    yield
                    return
        time.sleep(RETRY_SECONDS)
