"""The one way a cluster of the registry is deleted, with one policy for a failed delete.

Every caller goes through here: the pool's early release and teardown, the sweep of dead runs
(at a run's start and ``python -m kconformance sweep``), ``delete-kept``, and the matrix's and
the cross-check's clean-up of their own runs. A ``kind delete`` that fails keeps the cluster's
registry entry (the cluster may still run: the next sweep retries, nothing is forgotten), is
reported in one line naming the cluster and the tail of kind's output, and is handed back to the
caller, whose command then exits non-zero (:func:`undeleted_line` is its last word).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from typing import Protocol

from kconformance.events import Event
from kconformance.registry import ClusterRecord, Registry


class ClusterDeleter(Protocol):
    """What deleting needs of a cluster provider: kind in real runs, a fake in tests."""

    def delete(self, name: str) -> None: ...

    def existing(self) -> set[str]: ...


def delete_cluster(
    registry: Registry,
    driver: ClusterDeleter,
    emit: Callable[[Event], None],
    name: str,
    profile_key: str = "",
    forget: bool = True,
) -> bool:
    """``kind delete`` one cluster; forget it (registry entry and the files its nodes mounted)
    only once it is gone. The only caller of ``kind delete`` for a registered cluster.

    Args:
        forget: False keeps the entry also after a successful delete (a failed creation's
            record tells later acquires of the run why, until teardown forgets it).

    Returns:
        False when ``kind delete`` failed: the entry stays and a "delete failed" event says
        which cluster and what kind said.
    """
    try:
        driver.delete(name)
    except Exception as exc:
        said = str(exc).strip().splitlines()
        emit(
            Event(
                "delete failed",
                name,
                profile_key,
                detail=(said[-1][:200] if said else type(exc).__name__)
                + "; kept in the registry: `python -m kconformance sweep` (or the next run) "
                f"retries, or run `kind delete cluster --name {name}`",
            )
        )
        return False
    if forget:
        registry.remove(name)
    return True


def delete_registered(
    registry: Registry,
    driver: ClusterDeleter,
    records: Sequence[ClusterRecord],
    emit: Callable[[Event], None],
    why: str,
) -> list[str]:
    """Delete the clusters of ``records`` that kind still lists, with a line before and after
    each; forget the records whose cluster is gone already (kind is asked only if there are any).

    Returns:
        The clusters whose ``kind delete`` failed (still registered).
    """
    if not records:
        return []
    existing = driver.existing()
    failed = []
    for record in records:
        if record.name not in existing:
            registry.remove(record.name)
            continue
        emit(Event("deleting", record.name, record.profile_key, detail=why))
        started = time.monotonic()
        if delete_cluster(registry, driver, emit, record.name, record.profile_key):
            seconds = time.monotonic() - started
            emit(Event("deleted", record.name, record.profile_key, seconds))
        else:
            failed.append(record.name)
    return failed


def undeleted_line(names: Iterable[str]) -> str:
    """The last line of a command that left registered clusters behind (it then exits 1)."""
    names = sorted(names)
    return (
        f"kconformance: ERROR: {len(names)} cluster(s) could not be deleted and stay in the "
        f"registry: {', '.join(names)}; run `python -m kconformance sweep` to retry"
    )
