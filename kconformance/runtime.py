"""The state of one pytest process in a run: settings, the cluster pool, cluster handles.

The controller (the only process under ``-n 0``, the xdist controller otherwise) owns the run:
it picks the run id, sweeps dead runs and tears clusters down. Workers receive the run id and
directory through xdist's workerinput and only ever acquire clusters.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from kconformance import components, preflight
from kconformance.artifacts import cache_dir
from kconformance.errors import (
    EnvironmentProblem,
    KconformanceError,
)
from kconformance.existing_cluster import ExistingCluster
from kconformance.kind import KindCLI
from kconformance.pool import ClusterPool, Event, Registry
from kconformance.profiles import Profile
from kconformance.providers import KindDriver, ReleaseTools
from kconformance.registry import pid_alive, write_json
from kconformance.settings import Settings

if TYPE_CHECKING:
    from kconformance.client import Cluster


@dataclass
class RunIdentity:
    run_id: str
    run_dir: Path
    owner_pid: int

    @classmethod
    def new(cls) -> RunIdentity:
        run_id = secrets.token_hex(3)
        return cls(run_id, cache_dir() / "runs" / run_id, os.getpid())

    def as_workerinput(self) -> dict[str, str]:
        return {
            "kconformance_run_id": self.run_id,
            "kconformance_run_dir": str(self.run_dir),
            "kconformance_owner_pid": str(self.owner_pid),
        }

    @classmethod
    def from_workerinput(cls, data: dict[str, str]) -> RunIdentity:
        return cls(
            data["kconformance_run_id"],
            Path(data["kconformance_run_dir"]),
            int(data["kconformance_owner_pid"]),
        )

    def claim_dir(self) -> Path:
        """Make the run directory, recording its owner's pid: a sweep removes the directory once
        that process is gone (``python -m kconformance sweep``, or a later run's start-up)."""
        owner = self.run_dir / OWNER_FILE
        if not owner.exists():
            self.run_dir.mkdir(parents=True, exist_ok=True)
            write_json(owner, {"pid": self.owner_pid})
        return self.run_dir


OWNER_FILE = "owner.json"
PREFLIGHT_VERDICT = "preflight.json"  # the controller's host check, which prefetch waits for
#: A run directory without an owner file (cut short, or from an older kconformance) is stale
#: once nothing in it has changed for this long.
UNOWNED_STALE_SECONDS = 6 * 3600


def sweep_run_dirs(runs_root: Path, now: float | None = None) -> list[Path]:
    """Remove the run directories whose owner process is gone; return them."""
    removed = []
    now = time.time() if now is None else now
    for folder in sorted(runs_root.glob("*")) if runs_root.is_dir() else []:
        if not folder.is_dir():
            continue
        try:
            pid = int(json.loads((folder / OWNER_FILE).read_text())["pid"])
            stale = not pid_alive(pid)
        except (OSError, ValueError, KeyError, TypeError):
            try:
                stale = now - folder.stat().st_mtime > UNOWNED_STALE_SECONDS
            except OSError:
                continue
        if stale:
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder)
    return removed


@dataclass
class Run:
    settings: Settings
    identity: RunIdentity
    worker_index: int = 0
    on_event: Callable[[Event], None] | None = None
    log: Callable[[str], None] | None = None
    _pool: ClusterPool | None = None
    _clusters: dict[str, Cluster] = field(default_factory=dict)
    _existing: ExistingCluster | None = None
    _preflight_done: set[str] = field(default_factory=set)
    _swept: bool = False

    # -- tools per release ------------------------------------------------------------------
    def tools(self, release: str) -> ReleaseTools:
        settings = self.settings
        if not release:
            release = settings.releases[-1]
        built = settings.built.get(release)
        catalog_release = settings.catalog.release(release)
        default_kind = (
            str(cache_dir() / "bin" / f"kind-{catalog_release.kind}")
            if catalog_release.kind
            else None
        )
        kind_bin = preflight.find_binary(
            "kind", settings.kind_bin, (built.kind if built else None) or default_kind
        )
        image = (
            settings.node_image
            or (built.node_image if built else None)
            or catalog_release.node_image
        )
        if not image:
            raise EnvironmentProblem(
                f"no node image known for Kubernetes {release}: pass --node-image or build one "
                f"with hack/build.sh {release}"
            )
        return ReleaseTools(KindCLI(kind_bin), image)

    def kubectl_for(self, release: str) -> str:
        built = self.settings.built.get(release)
        if self.settings.kubectl_bin:
            return self.settings.kubectl_bin
        if built and built.kubectl and Path(built.kubectl).is_file():
            return built.kubectl
        return shutil.which("kubectl") or "kubectl"

    def images(self, release: str) -> dict[str, str]:
        """Image roles for a release: catalog defaults, what hack/build.sh built, --image-map."""
        images = dict(self.settings.images)
        built = self.settings.built.get(release)
        if built:
            images.update(built.images)
        images.update(self.settings.image_overrides)
        return images

    # -- kind mode --------------------------------------------------------------------------
    @property
    def pool(self) -> ClusterPool:
        if self._pool is None:
            self.identity.claim_dir()
            # a cluster's kind config and the node files it mounts live next to its registry
            # entry, not in the run directory teardown removes: a kept cluster keeps its
            # mounts until it is deleted (Registry.remove)
            driver = KindDriver(
                self.tools,
                cache_dir() / "clusters",
                images=lambda release: sorted(set(self.images(release).values())),
                log=self.log,
                stage=lambda profile, dest: components.stage(self.settings.catalog, profile, dest),
                stage_root=cache_dir() / "clusters",
            )
            self._pool = ClusterPool(
                run_dir=self.identity.run_dir,
                registry=Registry(cache_dir() / "clusters"),
                driver=driver,
                run_id=self.identity.run_id,
                owner_pid=self.identity.owner_pid,
                keep=self.settings.keep_clusters,
                artifacts_dir=self.settings.artifacts_dir,
                on_event=self.on_event,
                creation_slots=self.settings.creation_slots,
            )
        return self._pool

    def check_components(self, profiles: Iterable[Profile]) -> None:
        """Every extra component the profiles run was built: fail before anything is created."""
        for profile in profiles:
            components.check_components(self.settings.catalog, profile)

    def preflight(self, profiles: Iterable[Profile]) -> None:
        """Components, then the host (see check_host): the controller's, once per run."""
        profiles = list(profiles)
        self.check_components(profiles)
        self.check_host({p.release for p in profiles}, sum(p.nodes for p in profiles))

    def check_host(self, releases: Iterable[str], node_count: int) -> None:
        """Docker, kind and node images, once per release: fail before anything is created.

        Only the controller calls it (under xdist from what the first worker collected, see
        ``write_preflight_needs``). The first check also sweeps clusters left by dead runs: only
        a run that is about to create clusters touches the machine's cluster registry (``pytest
        tests`` never does).
        """
        todo = [r for r in sorted(releases) if r not in self._preflight_done]
        if not todo:
            return
        preflight.check_docker()
        if not self._swept:
            self._swept = True
            self.sweep()
        for release in todo:
            tools = self.tools(release)
            preflight.check_kind_version(
                tools.kind, self.settings.catalog.release(release), tools.node_image
            )
            preflight.ensure_image(tools.node_image, release, self.pool.note)
            self._preflight_done.add(release)
        advice = preflight.inotify_advice(node_count)
        if advice:
            self.pool.warn(advice)

    # -- xdist: a worker's collection tells the controller what to check --------------------
    def write_preflight_needs(
        self, worker_id: str, profiles: Iterable[Profile], error: str | None = None
    ) -> None:
        """A worker's selected tests need these releases and nodes (or cannot run: ``error``)."""
        profiles = list(profiles)
        write_json(
            self.identity.claim_dir() / f"preflight-needs-{worker_id}.json",
            {
                "releases": sorted({p.release for p in profiles}),
                "nodes": sum(p.nodes for p in profiles),
                "error": error,
            },
        )

    def read_preflight_needs(self, worker_id: str) -> dict | None:
        try:
            return dict(
                json.loads(
                    (self.identity.run_dir / f"preflight-needs-{worker_id}.json").read_text()
                )
            )
        except (OSError, ValueError, TypeError):
            return None

    def write_preflight_verdict(self, error: str | None) -> None:
        write_json(self.identity.claim_dir() / PREFLIGHT_VERDICT, {"error": error})

    def wait_preflight_verdict(self, poll: float = 0.1) -> str | None:
        """In a worker: wait until the controller has checked the host; its error, or None."""
        path = self.identity.run_dir / PREFLIGHT_VERDICT
        while True:
            try:
                return json.loads(path.read_text()).get("error")
            except (OSError, ValueError, AttributeError):
                time.sleep(poll)

    def remove_run_dir(self) -> None:
        """The run's shared files, once the controller has torn down and read the events."""
        shutil.rmtree(self.identity.run_dir, ignore_errors=True)

    def sweep(self) -> list[str]:
        """Delete clusters whose run died (each printed as a 'deleting (owner died)' event), and
        the run directories they left."""
        sweep_run_dirs(self.identity.run_dir.parent)
        try:
            return self.pool.sweep()
        except KconformanceError as exc:
            self.pool.warn(f"could not sweep clusters of dead runs: {str(exc).splitlines()[0]}")
            return []

    def cluster_for(self, profile: Profile) -> Cluster:
        from kconformance.client import Cluster  # kubernetes: only in a process using clusters

        record = self.pool.acquire(profile)
        self.pool.mark_used(profile)
        handle = self._clusters.get(record.name)
        if handle is None:
            handle = Cluster(
                name=record.name,
                kubeconfig=Path(record.kubeconfig),
                release=profile.release,
                profile=profile,
                kubectl_bin=self.kubectl_for(profile.release),
                images=self.images(profile.release),
            )
            self._clusters[record.name] = handle
        return handle

    # -- existing-cluster mode --------------------------------------------------------------
    @property
    def existing(self) -> ExistingCluster:
        """The --kubeconfig cluster, with this run's settings, kubectl and images."""
        if self._existing is None:
            self._existing = ExistingCluster(self.settings, self.kubectl_for, self.images)
        return self._existing
