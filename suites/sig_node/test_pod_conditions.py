"""sig-node: the PodReadyToStartContainers pod condition (KEP-3085).

The 1.28 article: "the kubelet reports a PodReadyToStartContainers condition ... True once the
pod sandbox has been created and networking configured", alpha behind the kubelet gate
PodReadyToStartContainersCondition (KEP-3085 renamed it from PodHasNetwork in 1.28). The kubelet
computes it on every status sync (pkg/kubelet/status/generate.go): True when no new sandbox is
needed, else False - with no reason and no message, which the tests assert as such.
"""

from __future__ import annotations

from typing import Any

import pytest

from kconformance.testing import Kube, has_condition
from suites.sig_node.pods import running, timestamp

READY_TO_START = "PodReadyToStartContainers"


def _conditions(pod: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["type"]: c for c in pod["status"].get("conditions") or []}


def _events(kube: Kube, pod: str, reason: str) -> list[dict[str, Any]]:
    return [
        e
        for e in kube.list("Event", api_version="v1")
        if (e.get("involvedObject") or {}).get("name") == pod and e["reason"] == reason
    ]


def _status_written_by_kubelet(pod: dict[str, Any] | None) -> bool:
    """The kubelet has synced the pod's status at least once: it writes Initialized, Ready and
    ContainersReady together with PodReadyToStartContainers (when its gate is on) in one status
    update, while the scheduler alone only sets PodScheduled. A FailedMount or
    FailedCreatePodSandBox event can come before that first write."""
    types = set(_conditions(pod)) if pod else set()
    return {"Initialized", "ContainersReady", "Ready"} <= types


def _ready_to_start(pod: dict[str, Any]) -> dict[str, Any]:
    conditions = _conditions(pod)
    assert READY_TO_START in conditions, (
        f"the kubelet wrote the pod's status without a {READY_TO_START} condition: "
        f"{sorted(conditions)}"
    )
    return conditions[READY_TO_START]


def _running_and_ready(kube: Kube, name: str, timeout: float = 90) -> dict[str, Any]:
    """Wait until the pod's container main runs and the pod is Ready; return it."""
    return kube.wait_for(
        "Pod",
        lambda p: running(p, "main") and has_condition(p, "Ready"),
        name=name,
        timeout=timeout,
        description=f"pod {name} to run main and be Ready",
    )


def _assert_transitions_in_order(conditions: dict[str, dict[str, Any]], order: list[str]) -> None:
    """The conditions' lastTransitionTimes follow ``order`` (one-second resolution, hence <=)."""
    times = [timestamp(conditions[c]["lastTransitionTime"]) for c in order]
    assert times == sorted(times), dict(zip(order, times, strict=True))


def _event_with(pod: str, reason: str, text: str):
    def seen(events: list[dict[str, Any]]) -> bool:
        return any(
            (e.get("involvedObject") or {}).get("name") == pod
            and e.get("reason") == reason
            and text in (e.get("message") or "")
            for e in events or []
        )

    return seen


def _pod_after_event(kube: Kube, pod: str, reason: str, text: str, about: str) -> dict[str, Any]:
    """Wait for the kubelet's ``reason`` event about ``pod``, then for its first status write
    (which can come after the event), and return the pod as written."""
    kube.wait_for(
        "Event",
        api_version="v1",
        predicate=_event_with(pod, reason, text),
        timeout=120,
        description=f"a {reason} event for {about}",
    )
    return kube.wait_for(
        "Pod",
        _status_written_by_kubelet,
        name=pod,
        timeout=60,
        description="the kubelet's first status write of the pod",
    )


@pytest.mark.feature("PodReadyToStartContainers")
def test_condition_turns_true_once_the_sandbox_has_networking(kube: Kube) -> None:
    """A running pod carries PodReadyToStartContainers=True; the pod already has its IP (the
    sandbox's network is set up), and the order of transitions is the one upstream checks for a
    pod without init containers: PodScheduled <= Initialized <= PodReadyToStartContainers <=
    ContainersReady <= Ready (lastTransitionTime has one-second resolution, hence <=)."""
    kube.apply("sig_node/ready-to-start.yaml")
    pod = _running_and_ready(kube, "ready-to-start")
    conditions = _conditions(pod)
    ready_to_start = _ready_to_start(pod)
    assert ready_to_start["status"] == "True", ready_to_start
    assert pod["status"]["podIP"], "PodReadyToStartContainers is True but the pod has no IP"
    _assert_transitions_in_order(
        conditions, ["PodScheduled", "Initialized", READY_TO_START, "ContainersReady", "Ready"]
    )


@pytest.mark.feature("PodReadyToStartContainers")
def test_condition_is_false_while_volumes_keep_the_sandbox_from_being_created(
    kube: Kube,
) -> None:
    """Upstream's case (test/e2e_node/pod_conditions_test.go at v1.28): a ConfigMap volume that
    does not exist. The kubelet reports FailedMount and never asks for a sandbox, so the pod
    stays PodReadyToStartContainers=False (no reason), Initialized=True (no init containers),
    ContainersReady=False, Ready=False, and it has no IP."""
    kube.apply("sig_node/ready-to-start-missing-configmap.yaml")
    name = "ready-to-start-no-configmap"
    pod = _pod_after_event(
        kube, name, "FailedMount", 'configmap "does-not-exist" not found', "the missing ConfigMap"
    )
    conditions = _conditions(pod)
    ready_to_start = _ready_to_start(pod)
    assert ready_to_start["status"] == "False", conditions
    assert not ready_to_start.get("reason"), ready_to_start
    assert conditions["Initialized"]["status"] == "True"
    assert conditions["ContainersReady"]["status"] == "False"
    assert conditions["Ready"]["status"] == "False"
    assert not pod["status"].get("podIP")
    assert not _events(kube, name, "Started")


@pytest.mark.feature("PodReadyToStartContainers")
def test_with_an_init_container_the_sandbox_comes_before_initialized(kube: Kube) -> None:
    """Upstream's order for a pod with init containers: PodScheduled <= PodReadyToStartContainers
    <= Initialized <= ContainersReady <= Ready - the sandbox is up before the init container runs,
    so the condition turns True before the pod is Initialized (without init containers it is the
    other way round, see the first test)."""
    kube.apply("sig_node/ready-to-start-init.yaml")
    pod = _running_and_ready(kube, "ready-to-start-init")
    conditions = _conditions(pod)
    ready_to_start = _ready_to_start(pod)
    assert ready_to_start["status"] == "True", ready_to_start
    _assert_transitions_in_order(
        conditions, ["PodScheduled", READY_TO_START, "Initialized", "ContainersReady", "Ready"]
    )


@pytest.mark.feature("PodReadyToStartContainers")
@pytest.mark.parametrize(
    ("volume", "message"),
    [
        ("configMap: {name: does-not-exist}", 'configmap "does-not-exist" not found'),
        ("secret: {secretName: does-not-exist}", 'secret "does-not-exist" not found'),
    ],
    ids=["configmap", "secret"],
)
def test_with_an_init_container_a_missing_volume_leaves_only_scheduled_true(
    kube: Kube, volume: str, message: str
) -> None:
    """Upstream's "with init containers should report just the scheduled condition set" (the
    ConfigMap and the Secret case): the volume cannot be mounted, so there is no sandbox and the
    init container never runs - PodScheduled is the only True condition;
    PodReadyToStartContainers (no reason), Initialized, ContainersReady and Ready are False."""
    name = "ready-to-start-init-no-volume"
    kube.apply("sig_node/ready-to-start-missing-volume-init.yaml", name=name, volume=volume)
    pod = _pod_after_event(kube, name, "FailedMount", message, "the missing volume")
    conditions = _conditions(pod)
    ready_to_start = _ready_to_start(pod)
    assert not ready_to_start.get("reason"), ready_to_start
    assert {kind: c["status"] for kind, c in conditions.items()} == {
        "PodScheduled": "True",
        READY_TO_START: "False",
        "Initialized": "False",
        "ContainersReady": "False",
        "Ready": "False",
    }
    assert not pod["status"].get("podIP")
    assert not _events(kube, name, "Started")


@pytest.mark.feature("PodReadyToStartContainers")
def test_condition_turns_true_once_the_missing_secret_exists(kube: Kube) -> None:
    """Upstream's Secret case, then its recovery: while the Secret volume's Secret is missing
    (FailedMount) the condition is False; once the Secret is created the kubelet mounts it,
    creates the sandbox and the condition turns True, with the pod Ready."""
    kube.apply("sig_node/ready-to-start-missing-secret.yaml")
    name = "ready-to-start-no-secret"
    pod = _pod_after_event(
        kube, name, "FailedMount", 'secret "ready-to-start-secret" not found', "the missing Secret"
    )
    conditions = _conditions(pod)
    before = _ready_to_start(pod)
    assert before["status"] == "False", conditions
    assert conditions["Initialized"]["status"] == "True"
    assert conditions["ContainersReady"]["status"] == "False"
    assert conditions["Ready"]["status"] == "False"
    assert not pod["status"].get("podIP")

    kube.apply("sig_node/ready-to-start-secret.yaml")
    pod = _running_and_ready(kube, name, timeout=180)
    after = _ready_to_start(pod)
    assert after["status"] == "True", after
    assert timestamp(after["lastTransitionTime"]) >= timestamp(before["lastTransitionTime"])
    assert pod["status"]["podIP"]


@pytest.mark.feature("PodReadyToStartContainers")
def test_condition_is_false_while_the_runtime_cannot_create_the_sandbox(kube: Kube) -> None:
    """A RuntimeClass whose handler containerd does not know: RunPodSandbox itself fails
    (event FailedCreatePodSandBox, containerd: 'no runtime for "kc-no-such-handler" is
    configured'), so the condition stays False while the kubelet keeps retrying."""
    runtime_class = f"kc-no-handler-{kube.namespace}"
    kube.apply("sig_node/ready-to-start-missing-handler.yaml", runtime_class=runtime_class)
    name = "ready-to-start-no-handler"
    pod = _pod_after_event(
        kube, name, "FailedCreatePodSandBox", "kc-no-such-handler", "the unknown runtime handler"
    )
    conditions = _conditions(pod)
    ready_to_start = _ready_to_start(pod)
    assert ready_to_start["status"] == "False", conditions
    assert not ready_to_start.get("reason"), ready_to_start
    assert conditions["Ready"]["status"] == "False"
    assert not pod["status"].get("podIP")


@pytest.mark.feature("PodReadyToStartContainers", off=True)
def test_condition_is_absent_with_its_gate_off(kube: Kube) -> None:
    """With PodReadyToStartContainersCondition off (1.28's default) a running pod has the four
    classic conditions and no PodReadyToStartContainers."""
    kube.apply("sig_node/ready-to-start.yaml")
    pod = _running_and_ready(kube, "ready-to-start")
    assert sorted(_conditions(pod)) == ["ContainersReady", "Initialized", "PodScheduled", "Ready"]
