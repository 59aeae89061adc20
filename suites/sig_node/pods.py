"""Reading pod and node state the sig-node tests compare."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from datetime import datetime
from typing import Any

from kconformance.process import run
from kconformance.testing import Kube


def status_of(pod: dict[str, Any], container: str) -> dict[str, Any]:
    statuses = (pod["status"].get("initContainerStatuses") or []) + (
        pod["status"].get("containerStatuses") or []
    )
    for status in statuses:
        if status["name"] == container:
            return status
    raise AssertionError(f"no status for container {container} in pod {pod['metadata']['name']}")


def timestamp(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def started_at(pod: dict[str, Any], container: str) -> datetime:
    state = status_of(pod, container)["state"]
    inner = state.get("running") or state.get("terminated")
    assert inner, f"{container} never started: {state}"
    return timestamp(inner["startedAt"])


def finished_at(pod: dict[str, Any], container: str) -> datetime:
    terminated = status_of(pod, container)["state"].get("terminated")
    assert terminated, f"{container} has not terminated: {status_of(pod, container)['state']}"
    return timestamp(terminated["finishedAt"])


def log_lines(
    kube: Kube, pod: str, container: str, until: Callable[[list[str]], bool] | None = None
) -> list[str]:
    """A container's log lines. A container reported running may not have written them yet:
    with ``until``, the log is followed (streamed, as ``kubectl logs -f``) until ``until`` holds
    for the lines so far, or the container's log ends."""
    response = kube.cluster.core.read_namespaced_pod_log(
        pod,
        kube.namespace,
        container=container,
        follow=until is not None,
        _preload_content=False,
        _request_timeout=60,
    )
    lines: list[str] = []
    try:
        for raw in response:
            lines += raw.decode(errors="replace").splitlines()
            if until is not None and until(lines):
                break
    finally:
        response.release_conn()
    return lines


def marks(kube: Kube, pod: str, container: str, needed: tuple[str, ...] = ()) -> dict[str, float]:
    """The ``MARK <event> <seconds>`` lines a container logged, by event.

    The seconds come from /proc/uptime inside the container: every container of a kind node
    reads the same kernel clock, at 10 ms resolution, where the API's startedAt/finishedAt have
    one-second resolution and cannot order events that happen within a second. With
    ``needed``, the log is followed until those events are in it.
    """

    def found_in(lines: list[str]) -> dict[str, float]:
        parts = (line.split() for line in lines)
        return {p[1]: float(p[2]) for p in parts if len(p) == 3 and p[0] == "MARK"}

    until = (lambda lines: all(e in found_in(lines) for e in needed)) if needed else None
    return found_in(log_lines(kube, pod, container, until))


def running(pod: dict[str, Any] | None, *containers: str) -> bool:
    if not pod or pod["status"].get("phase") != "Running":
        return False
    return all(status_of_or_none(pod, c, "running") for c in containers)


def status_of_or_none(pod: dict[str, Any], container: str, state: str) -> bool:
    try:
        return bool(status_of(pod, container)["state"].get(state))
    except AssertionError:
        return False


def phase_in(*phases: str):
    return lambda pod: bool(pod) and pod["status"].get("phase") in phases


def kubelet_config(kube: Kube, node: str) -> dict[str, Any]:
    """The running kubelet's configuration, from /configz through the API server's node proxy."""
    return json.loads(kube.cluster.raw_get(f"/api/v1/nodes/{node}/proxy/configz"))["kubeletconfig"]


def a_node(kube: Kube) -> str:
    return kube.cluster.core.list_node().items[0].metadata.name


def node_exec(
    node: str, *argv: str, check: bool = True, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """Run a command inside a kind node (its container has the node's name), output merged."""
    return run(["docker", "exec", node, *argv], check=check, timeout=timeout)


def node_capacity_pods(kube: Kube, node: str) -> str:
    return str(kube.cluster.core.read_node(node).status.capacity["pods"])
