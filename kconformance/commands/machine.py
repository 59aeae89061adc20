"""What the commands share of this machine: the cluster registry every run writes to, the kind
binary that deletes its clusters, and the clusters a command's own pytest run left behind."""

from __future__ import annotations

import glob

from kconformance.artifacts import built_releases, cache_dir
from kconformance.kind import KindCLI
from kconformance.preflight import find_binary
from kconformance.registry import ClusterRecord, Registry, pid_alive


def registry() -> Registry:
    """The machine-wide registry of the clusters this tool created."""
    return Registry(cache_dir() / "clusters")


def find_kind(kind_bin: str | None) -> KindCLI:
    """``--kind-bin``, else kind on PATH, else the newest kind hack/build.sh built."""
    built = sorted(glob.glob(str(cache_dir() / "bin" / "kind-*")))
    return KindCLI(find_binary("kind", kind_bin, built[-1] if built else None))


def dead_run_records(ids: set[str], release: str) -> tuple[Registry, KindCLI, list[ClusterRecord]]:
    """The registry records of ``release``'s clusters made by the run ``ids`` whose owner is gone
    (never another run's: the registry is shared by the machine), and a kind CLI to delete them."""
    machine_registry = registry()
    records = [
        r
        for r in machine_registry.records()
        if r.run_id in ids
        and r.profile_key.startswith(f"{release}-")
        and not pid_alive(r.owner_pid)
    ]
    built = built_releases().get(release)
    return machine_registry, KindCLI((built.kind if built else None) or "kind"), records
