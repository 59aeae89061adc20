"""Reaching into kind nodes: programs built by hack/build-test-drivers.sh, run where the kubelet is.

Some node APIs (the kubelet's PodResources socket, device plugin and DRA plugin registration)
are only reachable from the node. A kind node is a Docker container named after the node, so a
test copies a program in with `docker cp` and runs it with `docker exec`. The programs are built
per release by `hack/build-test-drivers.sh RELEASE`; a test whose program is missing skips,
naming that script, so a run without it stays green and says what it did not show.

Tests on one cluster run at the same time (pytest-xdist workers share the profile's cluster), so
whatever they put on a node must not collide: programs go to a path named after their content
(:func:`copy_into_node`), and a node-wide resource that two tests cannot use at once is taken
with :func:`node_lock`.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from kconformance.artifacts import cache_dir
from kconformance.errors import CommandError
from kconformance.process import run
from kconformance.registry import file_lock
from kconformance.testing import Kube

BUILD_SCRIPT = "hack/build-test-drivers.sh"


def built_program(release: str, key: str, target: str) -> dict[str, Any]:
    """The entry ``key`` of ``<cache>/releases/<release>-test-drivers.json``, or skip.

    Args:
        release: the cluster's release ("1.28").
        key: the manifest entry (``podresources_client``, ``sample_device_plugin``, ...).
        target: the script's target that builds it, for the skip message.
    """
    manifest = cache_dir() / "releases" / f"{release}-test-drivers.json"
    entry: dict[str, Any] | None = None
    if manifest.is_file():
        entry = json.loads(manifest.read_text()).get(key)
    if not entry or not Path(entry["path"]).is_file():
        pytest.skip(
            f"{key} for {release} is not built: run `{BUILD_SCRIPT} {release} {target}` "
            f"(not part of hack/build.sh; looked in {manifest})"
        )
    return entry


def kind_node(name: str) -> str:
    """The Docker container of kind node ``name`` on this host, or skip (e.g. --kubeconfig)."""
    proc = run(
        ["docker", "inspect", "-f", '{{index .Config.Labels "io.x-k8s.kind.role"}}', name],
        check=False,
        timeout=30,
    )
    if proc.returncode != 0 or not proc.stdout.strip():
        pytest.skip(
            f"node {name} is not a kind node container on this host: the test runs programs in the node"
        )
    return name


def copy_into_node(node: str, source: Path, name: str) -> str:
    """Put the program ``source`` into ``node`` and return its path there.

    The path is named after the content, ``/usr/local/bin/kc-<name>-<sha256 prefix>``, and a
    program already there is left alone. Concurrent tests used to `docker cp` onto one fixed
    path, rewriting the binary under another test's exec ("text file busy", or "no such file"
    while it was half written). The copy goes to a name of this call's own and is renamed into
    place - a rename within one filesystem is atomic - so an exec sees the whole program or none,
    and a path that exists is never written again.
    """
    digest = hashlib.sha256(source.read_bytes()).hexdigest()[:16]
    dest = f"/usr/local/bin/kc-{name}-{digest}"
    if node_exec(node, "test", "-x", dest, check=False).returncode == 0:
        return dest
    partial = f"/usr/local/bin/.kc-{name}-{digest}.{secrets.token_hex(4)}"
    run(["docker", "cp", str(source), f"{node}:{partial}"], timeout=60)
    node_exec(node, "mv", "-f", partial, dest)
    return dest


@contextmanager
def node_lock(kube: Kube, node: str, what: str) -> Iterator[None]:
    """Hold ``what`` on ``node`` for one test at a time among the run's workers (one host).

    An exclusive flock on a file named after the cluster, the node and ``what``: released by the
    kernel if the worker dies, so a crashed test never blocks the others. Whoever holds it must
    bound its own waits (they all time out), so a waiting test is blocked no longer than that.
    """
    key = re.sub(r"[^A-Za-z0-9_.-]+", "_", f"{kube.cluster.name}.{node}.{what}")
    with file_lock(Path(tempfile.gettempdir()) / "kconformance-node-locks" / f"{key}.lock"):
        yield


def node_exec(
    node: str, *argv: str, check: bool = True, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """Run ``argv`` in the node; stdout and stderr merged."""
    return run(["docker", "exec", node, *argv], check=check, timeout=timeout)


def load_image(node: str, image: str) -> None:
    """Import a locally built image into the node's containerd (what `kind load docker-image`
    does): no registry is reachable here, so pods use it with imagePullPolicy Never."""
    with tempfile.TemporaryFile() as archive:
        save = ["docker", "save", image]
        proc = subprocess.run(save, stdout=archive, stderr=subprocess.PIPE, timeout=300)
        if proc.returncode != 0:
            raise CommandError(save, proc.returncode, proc.stderr.decode())
        archive.seek(0)
        load = [
            "docker",
            "exec",
            "-i",
            node,
            "ctr",
            "--namespace=k8s.io",
            "images",
            "import",
            "--all-platforms",
            "-",
        ]
        proc = subprocess.run(
            load, stdin=archive, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=300
        )
        if proc.returncode != 0:
            raise CommandError(load, proc.returncode, proc.stdout.decode())


def node_names(kube: Kube) -> list[str]:
    return [n.metadata.name for n in kube.cluster.core.list_node().items]


@dataclass(frozen=True)
class NodeProcess:
    """A program running in the background inside a kind node (a DRA kubelet plugin), with its
    pid and output in the node's /run, stopped by that pid."""

    node: str
    name: str

    @classmethod
    def start(cls, node: str, name: str, argv: list[str]) -> NodeProcess:
        """Start ``argv`` in ``node``; ``name`` must be unique on the node (the pid file's name)."""
        script = f'echo $$ >/run/kc-{name}.pid; exec "$@" >/run/kc-{name}.log 2>&1'
        run(["docker", "exec", "-d", node, "sh", "-c", script, "sh", *argv], timeout=60)
        return cls(node, name)

    def log(self) -> str:
        return node_exec(self.node, "cat", f"/run/kc-{self.name}.log", check=False).stdout

    def stop(self) -> None:
        """SIGTERM (the plugins remove their sockets on it), then forget the pid file."""
        pidfile = f"/run/kc-{self.name}.pid"
        node_exec(
            self.node,
            "sh",
            "-c",
            f"test -s {pidfile} && kill $(cat {pidfile}); rm -f {pidfile}",
            check=False,
        )
