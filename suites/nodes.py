"""Commands inside a kind node: a node is a Docker container named after the Kubernetes node.

Some behaviour is only visible on the node itself (its iptables, a component's metrics bound to
localhost, restarting a static pod), so these helpers run commands there with ``docker exec``.
They only work against kind clusters this tool created.
"""

from __future__ import annotations

from kconformance.process import run
from kconformance.testing import Kube


def control_plane(kube: Kube) -> str:
    """The control-plane node's name (also its container's name)."""
    nodes = kube.cluster.core.list_node(
        label_selector="node-role.kubernetes.io/control-plane"
    ).items
    assert nodes, "no node carries node-role.kubernetes.io/control-plane"
    return str(nodes[0].metadata.name)


def node_exec(node: str, *argv: str, timeout: float = 60) -> str:
    """Run ``argv`` in the node container and return its output (stdout and stderr)."""
    return run(["docker", "exec", node, *argv], timeout=timeout).stdout


def restart_static_pod_container(node: str, container: str) -> None:
    """Stop the running container of a static pod; the kubelet starts a new one at once.

    Used where a controller acts only at its start (e.g. a sync that otherwise runs once a day).
    """
    ids = node_exec(node, "crictl", "ps", "--name", container, "--state", "Running", "-q").split()
    assert ids, f"no running {container} container on {node}"
    for container_id in ids:
        # crictl's own request timeout (2s by default) is shorter than containerd takes to stop
        # a control-plane container; give the stop 10s of grace and the request 90s.
        node_exec(
            node,
            "crictl",
            "--timeout",
            "90s",
            "stop",
            "--timeout",
            "10",
            container_id,
            timeout=120,
        )
