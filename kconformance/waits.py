"""Watch-based waits: list once for a resourceVersion, then react to every event.

No polling with sleep: a controller's change is seen the moment it is made, which is what keeps
the suites close to the delays the controllers themselves impose. tenacity retries only what is
transient (429, 5xx, a dropped connection), never a 4xx that says the request is wrong.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import urllib3
from kubernetes.client.exceptions import ApiException
from tenacity import (
    retry,
    retry_if_exception,
    stop_after_delay,
    wait_exponential,
)

from kconformance.client import Cluster
from kconformance.errors import WaitTimeout

Obj = dict[str, Any]


def is_transient(exc: BaseException) -> bool:
    if isinstance(exc, ApiException):
        return exc.status in (429, 500, 502, 503, 504) or exc.status == 0
    return isinstance(
        exc,
        (
            urllib3.exceptions.ProtocolError,
            urllib3.exceptions.MaxRetryError,
            urllib3.exceptions.TimeoutError,
            ConnectionError,
        ),
    )


transient_retry = retry(
    retry=retry_if_exception(is_transient),
    wait=wait_exponential(multiplier=0.2, max=5),
    stop=stop_after_delay(60),
    reraise=True,
)


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
    fail: Callable[[Any], str | None] | None = None,
    description: str = "",
) -> Any:
    """Wait until ``predicate`` holds, re-evaluated on every watch event.

    With ``name``, the predicate gets that object as a dict (None while it does not exist); without
    it, the list of objects matching ``label_selector``. ``fail`` returns a message to stop the wait
    at once when the state can no longer turn good (e.g. a Job already Failed).

    Returns:
        The object (or list) for which the predicate held.

    Raises:
        WaitTimeout: with the last state seen, when ``timeout`` seconds pass.
        AssertionError: when ``fail`` returns a message.
    """
    resource = cluster.resource(kind, api_version)
    field_selector = f"metadata.name={name}" if name else None
    deadline = time.monotonic() + timeout
    objects: dict[str, Obj] = {}

    def view() -> Any:
        if name:
            return objects.get(name)
        return sorted(objects.values(), key=_name)

    def settled() -> bool:
        current = view()
        if fail is not None:
            message = fail(current)
            if message:
                what = f"{kind} {name or label_selector or ''}".strip()
                raise AssertionError(f"{what}: {message}; last state: {_summary(current)}")
        return bool(predicate(current))

    @transient_retry
    def list_now() -> str:
        listing = resource.get(
            namespace=namespace, field_selector=field_selector, label_selector=label_selector
        )
        objects.clear()
        for item in listing.to_dict().get("items", []):
            objects[_name(item)] = item
        return str(listing.metadata.resourceVersion)

    while True:
        resource_version = list_now()
        if settled():
            return view()
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            break
        try:
            for event in resource.watch(
                namespace=namespace,
                field_selector=field_selector,
                label_selector=label_selector,
                resource_version=resource_version,
                timeout=max(1, int(min(remaining, 60))),
            ):
                obj = event["raw_object"]
                if event["type"] == "ERROR":
                    break  # e.g. 410 Gone: the resourceVersion expired; list again
                if event["type"] == "DELETED":
                    objects.pop(_name(obj), None)
                elif event["type"] in ("ADDED", "MODIFIED"):
                    objects[_name(obj)] = obj
                if settled():
                    return view()
                if time.monotonic() >= deadline:
                    break
        except Exception as exc:  # a dropped watch is normal; anything else is raised
            if not is_transient(exc) and not isinstance(exc, ApiException):
                raise
        if time.monotonic() >= deadline:
            break
    what = description or f"{kind} {name or label_selector or ''}".strip()
    raise WaitTimeout(
        f"timed out after {timeout:.0f}s waiting for {what}; last state: {_summary(view())}"
    )


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
