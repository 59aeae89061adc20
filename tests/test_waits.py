"""Waits on a fake cluster: early stop on states that cannot be left, 4xx surfaces as itself."""

from __future__ import annotations

import time
from types import SimpleNamespace
from typing import Any

import pytest
from kubernetes.client.exceptions import ApiException

from kconformance.errors import WaitTimeout
from kconformance.waits import wait_deleted, wait_for


class FakeResource:
    """A list, then a watch that replays scripted events (then ends, as a server timeout does)."""

    def __init__(self, items: list[dict], events: list[dict] | None = None, error=None) -> None:
        self.items = items
        self.events = events or []
        self.error = error
        self.watches = 0

    def get(self, **_query: Any) -> Any:
        if self.error is not None:
            raise self.error
        return SimpleNamespace(
            to_dict=lambda: {"items": list(self.items)},
            metadata=SimpleNamespace(resourceVersion="1"),
        )

    def watch(self, **_query: Any):
        self.watches += 1
        if self.watches > 1:
            time.sleep(0.05)  # a server that has nothing more to say
            return
        yield from self.events


class FakeCluster:
    def __init__(self, resource: FakeResource) -> None:
        self._resource = resource

    def resource(self, kind: str, api_version: str | None = None) -> FakeResource:
        return self._resource


def pod(phase: str = "Pending", waiting: str | None = None, **status: Any) -> dict:
    statuses = (
        [{"name": "app", "state": {"waiting": {"reason": waiting, "message": "pull failed"}}}]
        if waiting
        else []
    )
    return {
        "kind": "Pod",
        "metadata": {"name": "p"},
        "status": {"phase": phase, "containerStatuses": statuses, **status},
    }


def job(failed: bool) -> dict:
    conditions = [{"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded"}]
    return {
        "kind": "Job",
        "metadata": {"name": "j"},
        "status": {"conditions": conditions if failed else []},
    }


def running(p: dict | None) -> bool:
    return bool(p) and p["status"]["phase"] == "Running"


def test_failed_pod_stops_a_wait_for_running_at_once():
    cluster = FakeCluster(
        FakeResource(
            [],
            [
                {"type": "ADDED", "raw_object": pod("Pending")},
                {
                    "type": "MODIFIED",
                    "raw_object": pod(
                        "Failed", reason="InitContainerRestartPolicyForbidden", message="no"
                    ),
                },
            ],
        )
    )
    started = time.monotonic()
    with pytest.raises(
        AssertionError, match="pod p is Failed.*InitContainerRestartPolicyForbidden"
    ):
        wait_for(cluster, "Pod", running, name="p", timeout=30)
    assert time.monotonic() - started < 5


@pytest.mark.parametrize(
    "reason",
    [
        "ImagePullBackOff",
        "ErrImagePull",
        "ErrImageNeverPull",
        "InvalidImageName",
    ],
)
def test_stuck_container_stops_the_wait_with_its_reason(reason):
    cluster = FakeCluster(FakeResource([pod("Pending", waiting=reason)]))
    with pytest.raises(AssertionError, match=f"container app is waiting in {reason}: pull failed"):
        wait_for(cluster, "Pod", running, name="p", timeout=30)


def test_a_config_error_the_kubelet_retries_does_not_stop_the_wait():
    """CreateContainerConfigError clears by itself (a new node's kubelet before its first
    Service list): the wait goes on to the timeout instead of stopping."""
    cluster = FakeCluster(FakeResource([pod("Pending", waiting="CreateContainerConfigError")]))
    with pytest.raises(AssertionError, match="timed out"):
        wait_for(cluster, "Pod", running, name="p", timeout=0.5)


def test_stuck_container_in_a_label_selected_list_stops_the_wait():
    cluster = FakeCluster(FakeResource([pod("Pending", waiting="ImagePullBackOff")]))
    with pytest.raises(AssertionError, match="ImagePullBackOff"):
        wait_for(cluster, "Pod", lambda ps: len(ps) == 2, label_selector="a=b", timeout=30)


def test_a_wait_for_a_failed_pod_still_gets_it():
    cluster = FakeCluster(FakeResource([pod("Failed")]))
    got = wait_for(cluster, "Pod", lambda p: p["status"]["phase"] == "Failed", name="p")
    assert got["status"]["phase"] == "Failed"


def test_opting_out_waits_through_a_failed_pod():
    cluster = FakeCluster(FakeResource([pod("Failed")]))
    with pytest.raises(WaitTimeout):
        wait_for(cluster, "Pod", running, name="p", timeout=0.2, fail=None)


def test_wait_deleted_is_not_stopped_by_a_failed_pod():
    cluster = FakeCluster(
        FakeResource([pod("Failed")], [{"type": "DELETED", "raw_object": pod("Failed")}])
    )
    wait_deleted(cluster, "Pod", "p", timeout=10)


def test_failed_job_stops_a_wait_for_success():
    cluster = FakeCluster(FakeResource([job(failed=True)]))
    complete = lambda j: any(c["type"] == "Complete" for c in j["status"]["conditions"])  # noqa: E731
    with pytest.raises(AssertionError, match="job j failed: BackoffLimitExceeded"):
        wait_for(cluster, "Job", complete, name="j", timeout=30)


def test_a_callers_own_fail_check_replaces_the_default():
    cluster = FakeCluster(FakeResource([pod("Failed")]))
    with pytest.raises(AssertionError, match="mine"):
        wait_for(cluster, "Pod", running, name="p", fail=lambda p: "mine", timeout=30)


def test_forbidden_list_surfaces_as_itself_not_a_timeout():
    cluster = FakeCluster(FakeResource([], error=ApiException(status=403, reason="Forbidden")))
    started = time.monotonic()
    with pytest.raises(ApiException) as info:
        wait_for(cluster, "Pod", running, name="p", timeout=30)
    assert info.value.status == 403
    assert time.monotonic() - started < 2


class ForbiddenWatch(FakeResource):
    def watch(self, **_query: Any):
        raise ApiException(status=403, reason="Forbidden")
        yield  # pragma: no cover


def test_forbidden_watch_surfaces_as_itself_not_a_timeout():
    cluster = FakeCluster(ForbiddenWatch([pod("Pending")]))
    with pytest.raises(ApiException) as info:
        wait_for(cluster, "Pod", running, name="p", timeout=5)
    assert info.value.status == 403


def test_watch_error_event_other_than_gone_surfaces():
    status = {"kind": "Status", "code": 403, "reason": "Forbidden", "message": "no watch"}
    cluster = FakeCluster(FakeResource([pod("Pending")], [{"type": "ERROR", "raw_object": status}]))
    with pytest.raises(ApiException) as info:
        wait_for(cluster, "Pod", running, name="p", timeout=5)
    assert info.value.status == 403


def test_watch_gone_lists_again_and_then_sees_the_change():
    resource = FakeResource(
        [pod("Pending")], [{"type": "ERROR", "raw_object": {"kind": "Status", "code": 410}}]
    )
    cluster = FakeCluster(resource)

    def relisted(p):
        resource.items = [pod("Running")]  # what the second list returns
        return running(p)

    assert wait_for(cluster, "Pod", relisted, name="p", timeout=5)["status"]["phase"] == "Running"
