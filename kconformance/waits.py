"""Watch-based waits: list once for a resourceVersion, then react to every event.

No polling with sleep: a controller's change is seen the moment it is made, which is what keeps
the suites close to the delays the controllers themselves impose. tenacity retries only what is
transient (429, 5xx, a dropped connection), never a 4xx that says the request is wrong: that
surfaces as itself, not as a timeout.

A wait also ends at once when its object reaches a state it cannot leave (a Failed pod, a
container stuck pulling its image, a Failed Job) and the predicate does not hold there, so a
failing run takes seconds per test instead of the full timeout.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from typing import Any, Final

from kubernetes.client.exceptions import ApiException

from kconformance.client import Cluster
from kconformance.errors import WaitStopped, WaitTimeout
from kconformance.transient import is_transient, transient_retry

Obj = dict[str, Any]
FailCheck = Callable[[Any], str | None]

# Container waiting reasons the kubelet does not get out of by itself within a test's time: the
# image cannot be pulled or named (every image is preloaded: there is no registry to retry).
# Not CreateContainerConfigError: the kubelet retries it on every sync and it clears by itself,
# e.g. "services have not yet been read at least once" on a node that has just joined (seen as
# kube-proxy's state on a loaded two-node cluster's worker).
STUCK_WAITING_REASONS: Final = frozenset(
    {
        "ImagePullBackOff",
        "ErrImagePull",
        "ErrImageNeverPull",
        "InvalidImageName",
    }
)


class _Terminal:
    """The default of ``wait_for(fail=...)``: stop on the kind's states that cannot be left."""

    def __repr__(self) -> str:
        return "TERMINAL"


TERMINAL: Final = _Terminal()


def stuck_container(pod: Obj | None) -> str | None:
    """Why a container of ``pod`` will not start (image pull back-off and the like), or None."""
    if not pod:
        return None
    status = pod.get("status") or {}
    for key in ("initContainerStatuses", "containerStatuses", "ephemeralContainerStatuses"):
        for container in status.get(key) or []:
            waiting = (container.get("state") or {}).get("waiting") or {}
            if waiting.get("reason") in STUCK_WAITING_REASONS:
                message = waiting.get("message") or ""
                return (
                    f"pod {_name(pod)}: container {container.get('name')} is waiting in "
                    f"{waiting['reason']}" + (f": {message}" if message else "")
                )
    return None


def failed_pod(pod: Obj | None) -> str | None:
    """Why ``pod`` can no longer turn good: phase Failed (never left), or a stuck container."""
    if pod and (pod.get("status") or {}).get("phase") == "Failed":
        status = pod["status"]
        why = status.get("reason") or ""
        message = status.get("message") or ""
        return f"pod {_name(pod)} is Failed" + (f" ({why}: {message})" if why or message else "")
    return stuck_container(pod)


def failed_job(job: Obj | None) -> str | None:
    """Why ``job`` can no longer succeed: its Failed condition is True."""
    cond = condition(job, "Failed")
    if cond and cond.get("status") == "True":
        return f"job {_name(job or {})} failed: {cond.get('reason')}: {cond.get('message', '')}"
    return None


def terminal_check(kind: str, by_name: bool) -> FailCheck | None:
    """The default early stop for a wait on ``kind``.

    By name: a Failed pod or one with a stuck container; a Failed Job. For a list (label
    selector) only stuck containers count: a Job's pods fail by design in many tests.
    """
    if kind == "Pod":
        if by_name:
            return failed_pod
        return lambda pods: next((m for p in pods or [] if (m := stuck_container(p))), None)
    if kind == "Job" and by_name:
        return failed_job
    return None


def _name(obj: Obj) -> str:
    return str(obj.get("metadata", {}).get("name"))


def _summary(view: Any) -> str:
    if view is None:
        return "absent"
    if isinstance(view, list):
        return f"{len(view)} objects: " + "; ".join(_summary(o) for o in view[:10])
    status = view.get("status")
    text = json.dumps(status, default=str, sort_keys=True) if status else "{}"
    return f"{view.get('kind', '')} {_name(view)} status={text[:1500]}"


def wait_for(
    cluster: Cluster,
    kind: str,
    predicate: Callable[[Any], bool],
    *,
    name: str | None = None,
    namespace: str | None = None,
    label_selector: str | None = None,
    api_version: str | None = None,
    timeout: float = 120,
    fail: FailCheck | _Terminal | None = TERMINAL,
    description: str = "",
) -> Any:
    """Wait until ``predicate`` holds, re-evaluated on every watch event.

    With ``name``, the predicate gets that object as a dict (None while it does not exist); without
    it, the list of objects matching ``label_selector``. ``fail`` returns a message to stop the wait
    at once when the state can no longer turn good; it is checked before the predicate. By
    default (``TERMINAL``) Pod and Job waits stop on the states they cannot leave
    (``terminal_check``), checked only after the predicate, so a test that waits *for* a Failed
    pod or Job still gets it. ``fail=None`` opts out.

    Returns:
        The object (or list) for which the predicate held.

    Raises:
        WaitTimeout: with the last state seen, when ``timeout`` seconds pass.
        WaitStopped: when ``fail`` (or the default terminal check) returns a message.
        ApiException: a non-transient API error (4xx), as the server said it.
    """
    explicit_fail = fail if callable(fail) else None
    terminal = terminal_check(kind, bool(name)) if fail is TERMINAL else None
    watched = _Watched(cluster.resource(kind, api_version), name, namespace, label_selector)
    what = description or f"{kind} {name or label_selector or ''}".strip()
    deadline = time.monotonic() + timeout

    def settled() -> bool:
        current = watched.view()
        if explicit_fail is not None and (message := explicit_fail(current)):
            raise WaitStopped(f"{what}: {message}; last state: {_summary(current)}")
        if predicate(current):
            return True
        if terminal is not None and (message := terminal(current)):
            raise WaitStopped(
                f"{what}: stopped early, this state cannot be left: {message}; "
                f"last state: {_summary(current)}"
            )
        return False

    while True:
        resource_version = watched.list()
        if settled():
            return watched.view()
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            break
        try:
            for _ in watched.changes(resource_version, remaining):
                if settled():
                    return watched.view()
                if time.monotonic() >= deadline:
                    break
        except Exception as exc:  # a dropped watch is normal; anything else is raised
            if not (is_transient(exc) or _is_gone(exc)):
                raise
        if time.monotonic() >= deadline:
            break
    raise WaitTimeout(
        f"timed out after {timeout:.0f}s waiting for {what}; last state: {_summary(watched.view())}"
    )


class _Watched:
    """What a wait sees of one kind: listed for a resourceVersion, then kept current from the
    watch's events; one object by name, or the list a label selector matches."""

    def __init__(
        self, resource: Any, name: str | None, namespace: str | None, label_selector: str | None
    ) -> None:
        self.resource = resource
        self.name = name
        self.query = {
            "namespace": namespace,
            "field_selector": f"metadata.name={name}" if name else None,
            "label_selector": label_selector,
        }
        self.objects: dict[str, Obj] = {}

    def view(self) -> Any:
        if self.name:
            return self.objects.get(self.name)
        return sorted(self.objects.values(), key=_name)

    @transient_retry
    def list(self) -> str:
        """List anew; returns the resourceVersion to watch from."""
        listing = self.resource.get(**self.query)
        self.objects.clear()
        for item in listing.to_dict().get("items", []):
            self.objects[_name(item)] = item
        return str(listing.metadata.resourceVersion)

    def changes(self, resource_version: str, remaining: float) -> Iterator[None]:
        """Apply each watch event, yielding after each; ends when the watch does, or on an
        ERROR event that asks for a new list (410 Gone, or transient; others are raised)."""
        for event in self.resource.watch(
            **self.query,
            resource_version=resource_version,
            timeout=max(1, int(min(remaining, 60))),
        ):
            obj = event["raw_object"]
            if event["type"] == "ERROR":
                _raise_unless_relist(obj)
                return  # 410 Gone (the resourceVersion expired) or transient: list again
            if event["type"] == "DELETED":
                self.objects.pop(_name(obj), None)
            elif event["type"] in ("ADDED", "MODIFIED"):
                self.objects[_name(obj)] = obj
            yield


def _is_gone(exc: BaseException) -> bool:
    return isinstance(exc, ApiException) and exc.status == 410


def _raise_unless_relist(status: Obj) -> None:
    """A watch ERROR event carries a Status: 410 and transient codes mean list again."""
    code = int(status.get("code") or 0)
    error = ApiException(status=code, reason=str(status.get("reason") or ""))
    error.body = json.dumps(status)
    if code == 410 or is_transient(error):
        return
    raise error


def wait_deleted(
    cluster: Cluster, kind: str, name: str, namespace: str | None = None, timeout: float = 120
) -> None:
    wait_for(
        cluster,
        kind,
        lambda obj: obj is None,
        name=name,
        namespace=namespace,
        timeout=timeout,
        fail=None,  # a Failed pod being deleted is what this waits through
        description=f"{kind} {name} to be deleted",
    )


def condition(obj: Obj | None, type_: str) -> Obj | None:
    """The status condition of ``type_`` on obj, or None."""
    if not obj:
        return None
    for cond in obj.get("status", {}).get("conditions") or []:
        if cond.get("type") == type_:
            return dict(cond)
    return None


def has_condition(obj: Obj | None, type_: str, status: str = "True") -> bool:
    cond = condition(obj, type_)
    return cond is not None and cond.get("status") == status
