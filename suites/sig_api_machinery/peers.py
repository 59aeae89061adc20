"""A second kube-apiserver on the worker node, for the mixed-version proxy (KEP-4020).

The upstream integration test (test/integration/apiserver/peerproxy) runs two apiservers of the
same version on one etcd, one of them started with ``--runtime-config=batch/v1=false``: to the
proxy that is exactly a peer of another version that does not serve the group. Here the second
one is a static pod on the kind worker, made from the control plane's own manifest (so it has the
profile's gates, runtime-config and flags), with the control plane's certificates, the control
plane's etcd, its own serving certificate (signed by the cluster CA for the worker's IP, so the
peer can verify it with --peer-ca-file) and ``--endpoint-reconciler-type=none`` (it stays out of
the ``kubernetes`` Service). Apiservers use host networking: node IPs reach each other on the
kind network even though pods on different nodes cannot.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from typing import Any

import yaml
from tenacity import retry, retry_if_exception, stop_after_delay, wait_fixed

from kconformance.errors import CommandError
from kconformance.process import run
from kconformance.testing import Kube, has_condition, wait_for

DISABLED_GROUP = "batch/v1"
IDENTITY = "apiserver.kubernetes.io/identity=kube-apiserver"  # label of identity leases
MANIFEST = "/etc/kubernetes/manifests/kube-apiserver.yaml"


@dataclass(frozen=True)
class Peer:
    node: str
    ip: str

    @property
    def server(self) -> str:
        return f"https://{self.ip}:6443"


def _internal_ip(node: Any) -> str:
    return next(a.address for a in node.status.addresses if a.type == "InternalIP")


def _docker_exec(node: str, script: str, input_text: str | None = None) -> str:
    argv = [
        "docker",
        "exec",
        *(["-i"] if input_text is not None else []),
        node,
        "sh",
        "-ec",
        script,
    ]
    return run(argv, input_text=input_text, timeout=120).stdout


def _peer_manifest(control_plane: dict[str, Any], worker_ip: str, etcd_ip: str) -> dict[str, Any]:
    """The control plane's kube-apiserver static pod, moved to the worker: its own address (and
    probes), the control plane's etcd, out of the kubernetes Service, without batch/v1."""
    pod = copy.deepcopy(control_plane)
    container = pod["spec"]["containers"][0]
    flags: dict[str, str] = {}
    head = [a for a in container["command"] if not a.startswith("--")]
    for arg in container["command"]:
        if arg.startswith("--"):
            key, _, value = arg.partition("=")
            flags[key] = value
    flags["--advertise-address"] = worker_ip
    flags["--etcd-servers"] = f"https://{etcd_ip}:2379"
    flags["--endpoint-reconciler-type"] = "none"
    runtime = [p for p in flags.get("--runtime-config", "").split(",") if p]
    flags["--runtime-config"] = ",".join([*runtime, f"{DISABLED_GROUP}=false"])
    container["command"] = head + [f"{k}={v}" for k, v in flags.items()]
    for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
        if probe in container:
            container[probe]["httpGet"]["host"] = worker_ip
    annotations = pod["metadata"].get("annotations") or {}
    for key in list(annotations):
        if key.endswith("advertise-address.endpoint"):
            annotations[key] = f"{worker_ip}:6443"
    return pod


def start_peer_apiserver(kube: Kube) -> Peer:
    """Run the second apiserver on the worker (idempotent) and wait for its pod to be Ready."""
    nodes = kube.cluster.core.list_node().items
    control_plane = next(
        n for n in nodes if "node-role.kubernetes.io/control-plane" in (n.metadata.labels or {})
    )
    worker = next(n for n in nodes if n is not control_plane)
    cp_name, cp_ip = control_plane.metadata.name, _internal_ip(control_plane)
    peer = Peer(worker.metadata.name, _internal_ip(worker))
    if "present" not in _docker_exec(peer.node, f"test -f {MANIFEST} && echo present || true"):
        pki = _docker_exec(cp_name, "tar -C /etc/kubernetes -cz pki | base64 -w0")
        version = _docker_exec(cp_name, "kubeadm version -o short").strip()
        _docker_exec(
            peer.node,
            "base64 -d | tar -C /etc/kubernetes -xz\n"
            "rm -f /etc/kubernetes/pki/apiserver.crt /etc/kubernetes/pki/apiserver.key\n"
            # --kubernetes-version: kubeadm would otherwise look the version up on the internet
            f"kubeadm init phase certs apiserver --kubernetes-version {version}"
            f" --apiserver-advertise-address {peer.ip} --cert-dir /etc/kubernetes/pki",
            input_text=pki,
        )
        manifest = yaml.safe_load(_docker_exec(cp_name, f"cat {MANIFEST}"))
        text = yaml.safe_dump(_peer_manifest(manifest, peer.ip, cp_ip))
        _docker_exec(
            peer.node,
            f"cat > /etc/kubernetes/kube-apiserver.yaml.new && mv /etc/kubernetes/kube-apiserver.yaml.new {MANIFEST}",
            input_text=text,
        )
    wait_for(
        kube.cluster,
        "Pod",
        lambda p: bool(p) and has_condition(p, "Ready"),
        name=f"kube-apiserver-{peer.node}",
        namespace="kube-system",
        timeout=240,
        description="the second kube-apiserver (on the worker) to be Ready",
    )
    return peer


def peer_get(kube: Kube, peer: Peer, path: str, check: bool = True) -> Any:
    """GET ``path`` from the peer apiserver with the cluster's admin credentials.

    Returns the body (``check``) or the finished kubectl process (to look at a refusal).
    A 503 while the peer is still learning which apiserver serves what is retried.
    """

    @retry(
        retry=retry_if_exception(_unavailable),
        stop=stop_after_delay(90),
        wait=wait_fixed(2),
        reraise=True,
    )
    def get() -> Any:
        done = kube.kubectl("--server", peer.server, "get", "--raw", path, check=check)
        return done.stdout if check else done

    return get()


def _unavailable(exc: BaseException) -> bool:
    return isinstance(exc, CommandError) and "ServiceUnavailable" in exc.output


def rerouted_total(kube: Kube, peer: Peer, resource: str = "jobs") -> float:
    """The peer's apiserver_rerouted_request_total for ``resource`` (0 before any).

    1.28 labels the counter by response code only; later releases also by group, version and
    resource (1.36 also counts proxied discovery requests, with an empty resource): there only
    the samples of ``resource`` count.
    """
    text = peer_get(kube, peer, "/metrics")
    total = 0.0
    for labels, value in re.findall(
        r"^apiserver_rerouted_request_total(?:\{([^}]*)\})? (\S+)$", text, re.M
    ):
        found = dict(re.findall(r'(\w+)="([^"]*)"', labels))
        if found.get("resource", resource) == resource:
            total += float(value)
    return total
