"""The state of one pytest process in a run: settings, the cluster pool, cluster handles.

The controller (the only process under ``-n 0``, the xdist controller otherwise) owns the run:
it picks the run id, sweeps dead runs and tears clusters down. Workers receive the run id and
directory through xdist's workerinput and only ever acquire clusters.
"""

from __future__ import annotations

import os
import secrets
import shutil
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from kconformance import components, preflight
from kconformance.artifacts import cache_dir
from kconformance.catalog import normalize_release
from kconformance.errors import ClusterError, EnvironmentProblem, KconformanceError
from kconformance.featurestate import parse_feature_metrics
from kconformance.kind import KindCLI
from kconformance.pool import ClusterPool, Event, Registry
from kconformance.profiles import Profile
from kconformance.providers import KindDriver, ReleaseTools
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


@dataclass
class Run:
    settings: Settings
    identity: RunIdentity
    worker_index: int = 0
    on_event: Callable[[Event], None] | None = None
    log: Callable[[str], None] | None = None
    _pool: ClusterPool | None = None
    _clusters: dict[str, Cluster] = field(default_factory=dict)
    _live_gates: dict[str, dict[str, bool]] = field(default_factory=dict)
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
            driver = KindDriver(
                self.tools,
                self.identity.run_dir / "kind-configs",
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

    def check_host(self, releases: Iterable[str], node_count: int) -> None:
        """Docker, kind and node images, once per release: fail before anything is created.

        The first check also sweeps clusters left by dead runs: only a run that is about to
        create clusters touches the machine's cluster registry (``pytest tests`` never does).
        """
        todo = [r for r in releases if r not in self._preflight_done]
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

    def remove_run_dir(self) -> None:
        """The run's shared files, once the controller has torn down and read the events."""
        shutil.rmtree(self.identity.run_dir, ignore_errors=True)

    def sweep(self) -> list[str]:
        """Delete clusters whose run died (each one printed as a 'sweeping' event)."""
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
    def adopt_server_release(self) -> str:
        """Run the release the existing cluster's /version reports: its skips, its images and
        its kubectl, not the newest release built here."""
        from kconformance.client import Cluster

        path = self.settings.kubeconfig
        assert path is not None
        probe = Cluster(
            name=f"existing:{path}",
            kubeconfig=path,
            context=self.settings.kube_context,
            release="",
        )
        try:
            version = probe.server_version()
        except Exception as exc:
            said = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:300]
            raise ClusterError(
                f"--kubeconfig {path}: cannot reach the cluster ({said}); check it runs: "
                f"kubectl --kubeconfig {path} get nodes"
            ) from None
        release = normalize_release(version)
        self.settings.catalog.release(release)  # an unknown release is refused in one line
        self.settings.releases = [release]
        self._clusters.pop(str(path), None)
        return release

    def existing_cluster(self) -> Cluster:
        from kconformance.client import Cluster

        path = self.settings.kubeconfig
        assert path is not None
        handle = self._clusters.get(str(path))
        if handle is None:
            if not path.is_file():
                raise ClusterError(f"--kubeconfig {path}: no such file")
            release = self.settings.releases[0]
            handle = Cluster(
                name=f"existing:{path}",
                kubeconfig=path,
                context=self.settings.kube_context,
                release=release,
                kubectl_bin=self.kubectl_for(release),
                images=self.images(release),
            )
            self._clusters[str(path)] = handle
        return handle

    def live_gates(self, cluster: Cluster) -> dict[str, bool]:
        if cluster.name not in self._live_gates:
            try:
                text = cluster.raw_get("/metrics")
            except Exception as exc:
                raise ClusterError(
                    f"cannot read /metrics from {cluster.kubeconfig} to learn its feature gates: {exc}"
                ) from None
            self._live_gates[cluster.name] = parse_feature_metrics(text)
        return self._live_gates[cluster.name]
