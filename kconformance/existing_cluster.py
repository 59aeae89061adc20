"""Running the suites against a cluster given with ``--kubeconfig``: adopting the release its
server runs, one handle for it, and the rules that skip a test it cannot run, each skip naming
what is missing (a gate that is off, a component, runtime-config, nodes, the kind node
containers).

A cluster kconformance made on this host (a registry record whose API server address is the
kubeconfig's) offers what its profile ran beside the control plane and its node containers;
any other cluster offers only what its API server shows.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import yaml

from kconformance.artifacts import cache_dir
from kconformance.catalog import Release, normalize_release
from kconformance.errors import ClusterError, ConfigError, KconformanceError
from kconformance.featurestate import live_feature_off_reason, parse_feature_metrics
from kconformance.profiles import Profile, resolve_profile
from kconformance.registry import ClusterRecord, Registry
from kconformance.settings import Settings

if TYPE_CHECKING:
    from kconformance.client import Cluster
    from kconformance.planning import TestPlan


def profile_settings(profile: Profile, release: Release) -> str:
    """The component settings ``profile`` adds to its release's, in one line ('' if none).

    The profile's, not the test's feature's: a feature can rely on settings another feature of
    its profile brings (prefer-closest-NUMA placement on the topology options' kubelet config).
    """
    kubelet = sorted(key for key in profile.kubelet if key not in release.kubelet)
    parts = [f"kubelet {', '.join(kubelet)}"] if kubelet else []
    for what, pairs in (
        ("kube-apiserver", profile.apiserver_args),
        ("kube-controller-manager", profile.controller_manager_args),
        ("kubelet flags", profile.kubelet_args),
        ("kubelet environment", profile.kubelet_env),
        ("node files", profile.node_files),
    ):
        if pairs:
            parts.append(f"{what} {', '.join(key for key, _value in pairs)}")
    return "; ".join(parts)


@dataclass
class ExistingCluster:
    """The --kubeconfig cluster of one pytest process, and what it was found to offer (each
    asked of the cluster once)."""

    settings: Settings
    kubectl_for: Callable[[str], str]
    images: Callable[[str], dict[str, str]]
    _handle: Cluster | None = None
    _live_gates: dict[str, dict[str, bool]] = field(default_factory=dict)
    _made_here: dict[str, ClusterRecord | None] = field(default_factory=dict)
    _node_counts: dict[str, int] = field(default_factory=dict)
    _served: dict[tuple[str, str], bool] = field(default_factory=dict)

    def adopt_server_release(self, requested: list[str] | None = None) -> str:
        """Run the release the existing cluster's /version reports: its skips, its images and
        its kubectl, not the newest release built here.

        Raises:
            ConfigError: ``requested`` (--k8s-version) names another release than the server's:
                its tests would run against the server's release and report the requested one.
        """
        from kconformance.client import Cluster  # kubernetes: only in a process using clusters

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
                f"KUBECONFIG={path} kubectl get nodes"
            ) from None
        release = normalize_release(version)
        if requested and requested != [release]:
            raise ConfigError(
                f"--k8s-version {','.join(requested)}: the --kubeconfig cluster ({path}) runs "
                f"Kubernetes {release} ({version}); pass --k8s-version {release} or leave it out"
            )
        self.settings.catalog.release(release)  # an unknown release is refused in one line
        self.settings.releases = [release]
        self._handle = None
        return release

    def cluster(self) -> Cluster:
        """The handle of the --kubeconfig cluster, made once for the run's release."""
        from kconformance.client import Cluster

        path = self.settings.kubeconfig
        assert path is not None
        if self._handle is None:
            if not path.is_file():
                raise ClusterError(f"--kubeconfig {path}: no such file")
            release = self.settings.releases[0]
            self._handle = Cluster(
                name=f"existing:{path}",
                kubeconfig=path,
                context=self.settings.kube_context,
                release=release,
                kubectl_bin=self.kubectl_for(release),
                images=self.images(release),
            )
        return self._handle

    def skip_reason(self, cluster: Cluster, plan: TestPlan, kind_nodes: bool) -> str | None:
        """Why the --kubeconfig cluster cannot run this test, naming what is missing; or None.

        Args:
            kind_nodes: the test runs commands in the kind node containers (``docker exec``;
                ``@pytest.mark.kind_nodes``), which only a cluster kconformance created here has.
        """
        feature = plan.feature
        if feature is not None:
            reason = feature.unavailable_reason(cluster.release)
            if reason:
                return f"{feature.name} on {cluster.release}: {reason}"
        gap = self.gap(cluster, plan, kind_nodes)
        if gap:
            return gap
        if feature is None:
            return None
        catalog = self.settings.catalog
        off = live_feature_off_reason(catalog, cluster.release, self.live_gates(cluster), feature)
        if plan.expects_off:
            if off is None:
                return f"{feature.name} is on in this cluster; this test shows it off"
            return None
        if off:
            return off
        record = self.made_here(cluster)  # a cluster kconformance made from the profile has them
        settings = profile_settings(plan.profile, catalog.release(cluster.release))
        if settings and (record is None or record.profile_key != plan.profile.key):
            return (
                f"{feature.name} needs profile {plan.profile.name!r} settings that an existing "
                f"cluster is not checked for ({settings}); run it on kind"
            )
        if plan.profile.nodes > 1:
            return f"{feature.name} needs a {plan.profile.nodes}-node profile; run it on kind"
        return None

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

    def gap(self, cluster: Cluster, plan: TestPlan, kind_nodes: bool) -> str | None:
        """What the --kubeconfig cluster lacks that this test needs, in one line, or None."""
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


def not_made_from(plan: TestPlan) -> str:
    """Why a smoke test (did the profile reach its cluster?) cannot judge an existing cluster."""
    profile = plan.profile
    gates = ", ".join(f"{g}={str(v).lower()}" for g, v in sorted(profile.gates.items())) or "none"
    kubelet = ", ".join(sorted(profile.kubelet)) or "none"
    return (
        f"existing cluster: not made from profile {profile.name!r}, so its gates ({gates}), "
        f"kubelet settings ({kubelet}) and patch version cannot be checked against it; "
        "each feature test checks its own gates through the kubernetes_feature_enabled metric"
    )


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
