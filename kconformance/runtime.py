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

import yaml

from kconformance import components, preflight
from kconformance.artifacts import cache_dir
from kconformance.catalog import normalize_release
from kconformance.errors import (
    ClusterError,
    ConfigError,
    EnvironmentProblem,
    KconformanceError,
)
from kconformance.featurestate import parse_feature_metrics
from kconformance.kind import KindCLI
from kconformance.pool import ClusterPool, ClusterRecord, Event, Registry
from kconformance.profiles import Profile, resolve_profile
from kconformance.providers import KindDriver, ReleaseTools
from kconformance.registry import pid_alive, write_json
from kconformance.settings import Settings

if TYPE_CHECKING:
    from kconformance.client import Cluster
    from kconformance.planning import TestPlan


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
    _live_gates: dict[str, dict[str, bool]] = field(default_factory=dict)
    _made_here: dict[str, ClusterRecord | None] = field(default_factory=dict)
    _node_counts: dict[str, int] = field(default_factory=dict)
    _served: dict[tuple[str, str], bool] = field(default_factory=dict)
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
    def adopt_server_release(self, requested: list[str] | None = None) -> str:
        """Run the release the existing cluster's /version reports: its skips, its images and
        its kubectl, not the newest release built here.

        Raises:
            ConfigError: ``requested`` (--k8s-version) names another release than the server's:
                its tests would run against the server's release and report the requested one.
        """
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
        if requested and requested != [release]:
            raise ConfigError(
                f"--k8s-version {','.join(requested)}: the --kubeconfig cluster ({path}) runs "
                f"Kubernetes {release} ({version}); pass --k8s-version {release} or leave it out"
            )
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

    # -- what an existing cluster offers beyond its gates -----------------------------------
    def made_here(self, cluster: Cluster) -> ClusterRecord | None:
        """The registry record of the --kubeconfig cluster when kconformance created it on this
        host (a kind cluster whose API server address is the record's), else None."""
        if cluster.name not in self._made_here:
            server = kubeconfig_server(cluster.kubeconfig, cluster.context)
            found = None
            if server:
                for record in Registry(cache_dir() / "clusters").records():
                    if record.state == "ready" and record.kubeconfig:
                        if kubeconfig_server(Path(record.kubeconfig)) == server:
                            found = record
                            break
            self._made_here[cluster.name] = found
        return self._made_here[cluster.name]

    def node_count(self, cluster: Cluster) -> int:
        if cluster.name not in self._node_counts:
            self._node_counts[cluster.name] = len(cluster.core.list_node().items)
        return self._node_counts[cluster.name]

    def serves(self, cluster: Cluster, group_version: str) -> bool:
        """Whether the API server serves ``group/version`` (what a runtime-config entry turns on)."""
        from kubernetes.client.exceptions import ApiException

        key = (cluster.name, group_version)
        if key not in self._served:
            try:
                cluster.raw_get(f"/apis/{group_version}")
                self._served[key] = True
            except ApiException as exc:
                if exc.status != 404:
                    raise
                self._served[key] = False
        return self._served[key]

    def _components_of(self, record: ClusterRecord | None) -> set[str]:
        """The components a cluster kconformance made runs: those of the profile it was made from."""
        if record is None:
            return set()
        release, _, name = record.profile_key.partition("-")
        try:
            profile = resolve_profile(self.settings.catalog, name, release)
        except KconformanceError:
            return set()  # a profile of --prove (off-<feature>) or of another catalog
        return {component for component, _pod in profile.components}

    def existing_gap(self, cluster: Cluster, plan: TestPlan, kind_nodes: bool) -> str | None:
        """What the --kubeconfig cluster lacks that this test needs, in one line, or None.

        Args:
            kind_nodes: the test runs commands in the kind node containers (``docker exec``;
                ``@pytest.mark.kind_nodes``), which only a cluster kconformance created here has.
        """
        profile = plan.profile
        record = self.made_here(cluster)
        if kind_nodes and record is None:
            return (
                "runs commands in the kind node containers (docker exec, "
                "@pytest.mark.kind_nodes), and the --kubeconfig cluster was not created by "
                "kconformance on this host: run it on kind"
            )
        have = self._components_of(record)
        missing = [name for name, _pod in profile.components if name not in have]
        if missing:
            return (
                f"needs the {', '.join(missing)} component{'s' if len(missing) > 1 else ''} that "
                f"profile {profile.name!r} runs beside the control plane, and the --kubeconfig "
                "cluster was not made from such a profile by kconformance: run it on kind"
            )
        feature = plan.feature
        if feature is not None and not plan.expects_off:
            unserved = [
                key
                for key, value in sorted(feature.runtime_config_for(plan.release).items())
                if str(value).lower() == "true"
                and key.count("/") == 1
                and not self.serves(cluster, key)
            ]
            if unserved:
                return (
                    f"{feature.name} needs runtime-config "
                    + ", ".join(f"{key}=true" for key in unserved)
                    + f", and the --kubeconfig cluster does not serve {', '.join(unserved)}"
                )
        if profile.nodes > 1:
            count = self.node_count(cluster)
            if count < profile.nodes:
                return (
                    f"needs {profile.nodes} nodes (profile {profile.name!r}), and the "
                    f"--kubeconfig cluster has {count}"
                )
        return None


def kubeconfig_server(path: Path, context: str | None = None) -> str | None:
    """The API server address a kubeconfig's context (default: its current-context) points at."""
    try:
        data = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError):
        return None
    if not isinstance(data, dict):
        return None
    wanted = context or data.get("current-context")

    def named(section: str, name: object) -> dict:
        for entry in data.get(section) or []:
            if isinstance(entry, dict) and entry.get("name") == name:
                inner = entry.get(section[:-1])
                return inner if isinstance(inner, dict) else {}
        return {}

    server = named("clusters", named("contexts", wanted).get("cluster")).get("server")
    return server.rstrip("/") if isinstance(server, str) and server else None
