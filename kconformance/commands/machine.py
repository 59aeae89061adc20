"""What the commands share of this machine: the cluster registry every run writes to, the kind
binary that deletes its clusters, the clusters a command's own pytest run left behind, and how
a command reports their deletion (kconformance.deletion's policy: a failure exits 1)."""

from __future__ import annotations

import sys

from kconformance.artifacts import cache_dir
from kconformance.deletion import undeleted_line
from kconformance.events import Event
from kconformance.kind import KindCLI
from kconformance.preflight import find_binary
from kconformance.registry import ClusterRecord, Registry, pid_alive


def registry() -> Registry:
    """The machine-wide registry of the clusters this tool created."""
    return Registry(cache_dir() / "clusters")


class LazyKind:
    """kind as the commands' deletions use it (kconformance.deletion.ClusterDeleter), found on
    first use: a command with nothing to delete needs no kind. Any kind lists and deletes any
    cluster (both work on Docker labels), so one lookup serves every release."""

    def __init__(self, kind_bin: str | None = None) -> None:
        self._kind_bin = kind_bin
        self._cli: KindCLI | None = None

    def cli(self) -> KindCLI:
        """``--kind-bin``, else the newest kind hack/build.sh built, else kind on PATH."""
        if self._cli is None:
            built = sorted((cache_dir() / "bin").glob("kind-*"))
            newest = str(built[-1]) if built else None
            self._cli = KindCLI(find_binary("kind", self._kind_bin, newest))
        return self._cli

    def existing(self) -> set[str]:
        return set(self.cli().clusters())

    def delete(self, name: str) -> None:
        self.cli().delete(name)


def dead_run_records(
    machine_registry: Registry, ids: set[str], release: str
) -> list[ClusterRecord]:
    """The registry records of ``release``'s clusters made by the run ``ids`` whose owner is gone
    (never another run's: the registry is shared by the machine)."""
    return [
        r
        for r in machine_registry.records()
        if r.run_id in ids
        and r.profile_key.startswith(f"{release}-")
        and not pid_alive(r.owner_pid)
    ]


def print_event(event: Event) -> None:
    """A command's cluster events: progress on stdout, a failed delete on stderr."""
    print(event.line(), file=sys.stderr if event.event == "delete failed" else sys.stdout)


def exit_status(undeleted: list[str]) -> int:
    """1, after naming them, when clusters could not be deleted (they stay registered)."""
    if undeleted:
        print(undeleted_line(undeleted), file=sys.stderr)
        return 1
    return 0
