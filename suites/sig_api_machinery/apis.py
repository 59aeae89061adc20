"""Discovery and raw requests the api-machinery tests need."""

from __future__ import annotations

import json
from typing import Any

from kubernetes.client.exceptions import ApiException
from tenacity import retry, retry_if_exception_type, stop_after_delay, wait_fixed

from kconformance.testing import ApiRejection, Kube


def served_versions(kube: Kube, group: str) -> list[str]:
    """The group's versions this apiserver serves, preferred first."""
    try:
        data = json.loads(kube.cluster.raw_get(f"/apis/{group}"))
    except ApiException:
        return []
    preferred = data.get("preferredVersion", {}).get("version")
    versions = [v["version"] for v in data.get("versions", [])]
    return sorted(versions, key=lambda v: v != preferred)


def serves_kind(kube: Kube, group: str, version: str, kind: str) -> bool:
    try:
        data = json.loads(kube.cluster.raw_get(f"/apis/{group}/{version}"))
    except ApiException:
        return False
    return any(r.get("kind") == kind for r in data.get("resources", []))


def group_for(kube: Kube) -> str:
    """A CRD group of the test's own, so parallel tests never share a CRD."""
    return f"{kube.namespace}.example.com"


class NotYet(Exception):
    """The API server has not picked up a change yet."""


def until_in_effect(check: Any, seconds: float = 30) -> Any:
    """Retry ``check`` until it stops raising NotYet: a new CRD schema or admission policy
    reaches the request path a moment after it is stored, and no watch reports when."""
    return retry(
        retry=retry_if_exception_type((NotYet, ApiException)),
        wait=wait_fixed(0.5),
        stop=stop_after_delay(seconds),
        reraise=True,
    )(check)()


def expect_rejection(action: Any) -> ApiRejection:
    try:
        action()
    except ApiRejection as rejection:
        return rejection
    raise NotYet("the request was still admitted")
