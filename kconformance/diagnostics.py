"""What a failing test leaves behind: its namespace's events, pod states and container logs,
and the kube-system containers that restarted (a controller that lost its lease under load
explains a wait that ran out with nothing wrong in the namespace).

Collected while the test's namespace still exists, each read with its own short timeout so a
sick cluster cannot hang the report, and formatted as plain text that reads the same in the
terminal and in JUnit.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kconformance.client import Cluster

LOG_LINES = 50
_TIMEOUT = 10


@dataclass
class ContainerState:
    name: str
    role: str  # init | sidecar | app
    state: str
    ready: bool | None
    restarts: int
    logs: str = ""
    previous_logs: str = ""


@dataclass
class PodState:
    name: str
    phase: str
    conditions: list[str]
    containers: list[ContainerState] = field(default_factory=list)


@dataclass
class NamespaceDump:
    namespace: str
    events: list[str]
    pods: list[PodState]
    errors: list[str] = field(default_factory=list)
    system_restarts: list[str] = field(default_factory=list)


def _state_text(state: dict[str, Any] | None) -> str:
    if not state:
        return "unknown"
    for key, value in state.items():
        if value:
            details = {
                k: v
                for k, v in value.items()
                if k in ("reason", "exitCode", "message", "startedAt", "finishedAt")
                and v is not None
            }
            inner = ", ".join(f"{k}={v}" for k, v in details.items())
            return f"{key}({inner})" if inner else key
    return "unknown"


def _roles(spec: dict[str, Any]) -> dict[str, str]:
    roles = {}
    for c in spec.get("initContainers") or []:
        roles[c["name"]] = "sidecar" if c.get("restartPolicy") == "Always" else "init"
    for c in spec.get("containers") or []:
        roles[c["name"]] = "app"
    return roles


def _container_statuses(status: dict[str, Any]) -> list[dict[str, Any]]:
    """Init (and sidecar) containers' statuses, then the app containers'."""
    return (status.get("initContainerStatuses") or []) + (status.get("containerStatuses") or [])


def pod_states(pods: Iterable[dict[str, Any]]) -> list[PodState]:
    """Turn pod objects into states, keeping init and sidecar containers apart from app ones."""
    result = []
    for pod in pods:
        status = pod.get("status") or {}
        roles = _roles(pod.get("spec") or {})
        containers = []
        for cs in _container_statuses(status):
            containers.append(
                ContainerState(
                    name=cs["name"],
                    role=roles.get(cs["name"], "app"),
                    state=_state_text(cs.get("state")),
                    ready=cs.get("ready"),
                    restarts=int(cs.get("restartCount") or 0),
                )
            )
        conditions = [
            f"{c.get('type')}={c.get('status')}"
            + (f" ({c.get('reason')})" if c.get("reason") else "")
            for c in status.get("conditions") or []
        ]
        result.append(
            PodState(
                name=pod["metadata"]["name"],
                phase=str(status.get("phase")),
                conditions=conditions,
                containers=containers,
            )
        )
    return result


def _event_time(event: dict[str, Any]) -> str:
    return str(
        event.get("lastTimestamp")
        or event.get("eventTime")
        or event.get("firstTimestamp")
        or event.get("metadata", {}).get("creationTimestamp")
        or ""
    )


def event_lines(events: Iterable[dict[str, Any]]) -> list[str]:
    ordered = sorted(events, key=_event_time)
    lines = []
    for e in ordered:
        obj = e.get("involvedObject") or {}
        lines.append(
            f"{_event_time(e)} {e.get('type')} {e.get('reason')} "
            f"{obj.get('kind')}/{obj.get('name')}: {(e.get('message') or '').strip()}"
        )
    return lines


def restart_lines(pods: Iterable[dict[str, Any]]) -> list[str]:
    """One line per container that restarted: how often, and how its last run ended."""
    lines = []
    for pod in pods:
        for cs in _container_statuses(pod.get("status") or {}):
            restarts = int(cs.get("restartCount") or 0)
            if restarts:
                last = _state_text(cs.get("lastState"))
                lines.append(
                    f"{pod['metadata']['name']}/{cs['name']}: {restarts} restarts, last {last}"
                )
    return lines


def collect(cluster: Cluster, namespace: str) -> NamespaceDump:
    core = cluster.core
    errors: list[str] = []
    events: list[str] = []
    pods: list[PodState] = []
    try:
        raw = core.list_namespaced_event(namespace, _request_timeout=_TIMEOUT)
        events = event_lines(cluster.api.sanitize_for_serialization(e) for e in raw.items)
    except Exception as exc:
        errors.append(f"events: {exc}")
    try:
        raw_pods = core.list_namespaced_pod(namespace, _request_timeout=_TIMEOUT)
        pod_dicts = [cluster.api.sanitize_for_serialization(p) for p in raw_pods.items]
        pods = pod_states(pod_dicts)
    except Exception as exc:
        errors.append(f"pods: {exc}")
    system_restarts: list[str] = []
    try:
        raw_system = core.list_namespaced_pod("kube-system", _request_timeout=_TIMEOUT)
        system_restarts = restart_lines(
            cluster.api.sanitize_for_serialization(p) for p in raw_system.items
        )
    except Exception as exc:
        errors.append(f"kube-system pods: {exc}")
    for pod in pods:
        for container in pod.containers:
            container.logs = _logs(cluster, namespace, pod.name, container.name, False, errors)
            if container.restarts:
                container.previous_logs = _logs(
                    cluster, namespace, pod.name, container.name, True, errors
                )
    return NamespaceDump(namespace, events, pods, errors, system_restarts)


def _logs(
    cluster: Cluster, namespace: str, pod: str, container: str, previous: bool, errors: list[str]
) -> str:
    try:
        return str(
            cluster.core.read_namespaced_pod_log(
                pod,
                namespace,
                container=container,
                tail_lines=LOG_LINES,
                previous=previous,
                _request_timeout=_TIMEOUT,
            )
        )
    except Exception as exc:
        status = getattr(exc, "status", None)
        if status not in (400, 404):  # not started yet / no previous instance: nothing to show
            errors.append(f"logs {pod}/{container}: {exc}")
        return ""


def format_dump(dump: NamespaceDump) -> str:
    out = [f"namespace {dump.namespace}", "", "events (oldest first):"]
    out += [f"  {line}" for line in dump.events] or ["  (none)"]
    out += ["", "pods:"]
    if not dump.pods:
        out.append("  (none)")
    for pod in dump.pods:
        out.append(f"  {pod.name}: phase={pod.phase} conditions=[{', '.join(pod.conditions)}]")
        for c in pod.containers:
            out.append(f"    [{c.role}] {c.name}: {c.state} ready={c.ready} restarts={c.restarts}")
    for pod in dump.pods:
        for c in pod.containers:
            for title, text in (("logs", c.logs), ("previous logs", c.previous_logs)):
                if text.strip():
                    out += ["", f"{title} {pod.name}/{c.name} (last {LOG_LINES} lines):"]
                    out += [f"  {line}" for line in text.rstrip().splitlines()]
    if dump.system_restarts:
        out += ["", "kube-system containers that restarted:"]
        out += [f"  {line}" for line in dump.system_restarts]
    if dump.errors:
        out += ["", "could not collect:"] + [f"  {e}" for e in dump.errors]
    return "\n".join(out)


def dump_text(cluster: Cluster, namespace: str) -> str:
    """The formatted dump of a failed test's namespace; if it cannot be collected, why not (never
    let diagnostics mask the failure itself)."""
    try:
        return format_dump(collect(cluster, namespace))
    except Exception as exc:
        return f"diagnostics could not be collected: {exc}"


def write_dump(text: str, folder: Path, nodeid: str) -> Path:
    """Keep a test's dump as ``folder/<nodeid, path separators replaced>.txt``; return the path."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / (nodeid.replace("/", "_").replace("::", "__") + ".txt")
    path.write_text(text)
    return path
