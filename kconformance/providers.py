"""Cluster providers: kind clusters made from profiles, or a cluster the user already has."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from kconformance.kind import KindCLI
from kconformance.kindconfig import render, write_node_files
from kconformance.preflight import image_is_local
from kconformance.profiles import Profile


@dataclass(frozen=True)
class ReleaseTools:
    """The kind CLI and node image that go together for one release (kind supports an image
    only with the kind release it was published for)."""

    kind: KindCLI
    node_image: str


class KindDriver:
    """Creates kind clusters from rendered profiles and loads the suite's images into them."""

    def __init__(
        self,
        tools: Callable[[str], ReleaseTools],
        config_dir: Path,
        images: Callable[[str], Sequence[str]] = lambda _release: (),
        log: Callable[[str], None] | None = None,
        stage: Callable[[Profile, Path], Path] | None = None,
        stage_root: Path | None = None,
    ) -> None:
        self.tools = tools
        self.config_dir = config_dir
        self.images = images
        self.stage = stage
        # staged components are bind-mounted by the nodes for the cluster's whole life (also
        # when it is kept): they live next to the cluster's registry entry, not in the run dir
        self.stage_root = stage_root or config_dir
        self.log = log or (lambda _line: None)
        self._any_kind: KindCLI | None = None

    def create(self, name: str, profile: Profile, kubeconfig: Path) -> None:
        tools = self.tools(profile.release)
        self._any_kind = self._any_kind or tools.kind
        self.config_dir.mkdir(parents=True, exist_ok=True)
        config = self.config_dir / f"{name}.yaml"
        files = self.config_dir / f"{name}.files"
        write_node_files(profile, files)
        stage_dir = None
        if profile.components and self.stage is not None:
            stage_dir = self.stage(profile, self.stage_root / f"{name}.components")
        config.write_text(render(profile, str(files.resolve()), stage_dir))
        tools.kind.create(name, config, tools.node_image, kubeconfig)
        started = time.monotonic()
        wait_until_usable(kubeconfig, profile.release)
        self.log(
            f"kconformance: {name} nodes and system pods ready in {time.monotonic() - started:.1f}s"
        )
        for image in self.images(profile.release):
            if not image_is_local(image):
                self.log(
                    f"kconformance: image {image} is not in the local Docker; nodes will pull it"
                )
                continue
            started = time.monotonic()
            tools.kind.load_image(name, image)
            self.log(
                f"kconformance: loaded {image} into {name} in {time.monotonic() - started:.1f}s"
            )

    def _kind(self) -> KindCLI:
        """Any kind CLI can list and delete clusters: both work on Docker labels."""
        return self._any_kind or self.tools("").kind

    def delete(self, name: str) -> None:
        self._kind().delete(name)

    def existing(self) -> set[str]:
        return set(self._kind().clusters())

    def collect_logs(self, name: str, dest: Path) -> None:
        dest.parent.mkdir(parents=True, exist_ok=True)
        self._kind().export_logs(name, dest)


def wait_until_usable(kubeconfig: Path, release: str, timeout: float = 300) -> None:
    """kind's --wait only covers the control plane, and a node image whose CNI is preinstalled
    makes it return at once. Wait, by watching, for every node and kube-system pod to be Ready
    and for the default ServiceAccount, so no test races the cluster's own start-up."""
    # the kubernetes client, here and not at the top: the xdist controller deletes clusters
    # through this module but never talks to one
    from kconformance.client import Cluster
    from kconformance.waits import has_condition, wait_for

    def ready(item: dict) -> bool:
        phase = (item.get("status") or {}).get("phase")
        return phase == "Succeeded" or has_condition(item, "Ready")

    cluster = Cluster(name=str(kubeconfig), kubeconfig=kubeconfig, release=release)
    every = lambda items: bool(items) and all(ready(i) for i in items)  # noqa: E731
    wait_for(cluster, "Node", every, timeout=timeout, description="every node Ready")
    wait_for(
        cluster,
        "Pod",
        every,
        namespace="kube-system",
        timeout=timeout,
        description="kube-system pods Ready",
    )
    wait_for(cluster, "ServiceAccount", bool, name="default", namespace="default", timeout=timeout)
