"""sig-node: sidecar containers (KEP-753), each claim of the 1.28 article checked on a cluster.

"Now, you can set the restartPolicy field to Always on an init container. This tells Kubernetes
to treat the container as a sidecar container."
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import pytest

from kconformance.testing import Kube, assert_matches, condition, has_condition
from kconformance.waits import failed_pod
from suites.sig_node.pods import (
    finished_at,
    log_lines,
    marks,
    phase_in,
    running,
    started_at,
    status_of,
)


@pytest.mark.feature("SidecarContainers")
def test_article_example_runs_sidecar_next_to_main_container(kube: Kube) -> None:
    """The article's pod (vault-agent init container, istio-proxy sidecar) is accepted; the
    sidecar starts before the main container and keeps running while it runs.

    Where the article differs: its YAML is not valid as printed (`image:` is indented under
    `name:`), and it gives restartPolicy only to istio-proxy, so vault-agent is an ordinary init
    container that must finish first.
    """
    kube.apply("sig_node/sidecar-article.yaml")
    pod = kube.wait_for(
        "Pod", lambda p: running(p, "istio-proxy", "app"), name="sidecar-article", timeout=120
    )

    assert status_of(pod, "vault-agent")["state"]["terminated"]["reason"] == "Completed"
    proxy = status_of(pod, "istio-proxy")
    assert proxy["started"] is True and "running" in proxy["state"]
    assert started_at(pod, "istio-proxy") <= started_at(pod, "app")
    assert finished_at(pod, "vault-agent") <= started_at(pod, "istio-proxy")


@pytest.mark.feature("SidecarContainers")
def test_next_container_waits_for_the_sidecars_startup_probe(kube: Kube) -> None:
    """ "The kubelet will not wait for the container to finish. It will only wait until the
    startup has completed." The next init container starts only after the sidecar's
    startupProbe can pass (the sidecar creates its ready file 3 s after it starts), and the
    main container only after that init container exited - ordered by the containers' own
    clock (10 ms), not the API's one-second timestamps."""
    kube.apply("sig_node/sidecar-startup-order.yaml")
    pod = kube.wait_for(
        "Pod", lambda p: running(p, "proxy", "main"), name="startup-order", timeout=120
    )
    # started and Ready together once the startupProbe passed (no readinessProbe: upstream S12)
    assert status_of(pod, "proxy")["started"] is True
    assert status_of(pod, "proxy")["ready"] is True
    proxy = marks(kube, "startup-order", "proxy", needed=("start", "ready"))
    setup = marks(kube, "startup-order", "setup", needed=("start", "exit"))
    main = marks(kube, "startup-order", "main", needed=("start",))
    assert proxy["start"] + 2.9 <= proxy["ready"] < setup["start"], (proxy, setup)
    assert setup["exit"] < main["start"], (setup, main)


@pytest.mark.feature("SidecarContainers")
def test_sidecar_that_exits_is_restarted_while_main_runs(kube: Kube) -> None:
    """ "The sidecar container will be restarted if it fails" - even in a restartPolicy Never
    pod: restartCount grows and the pod stays Running.

    The sidecar exits 2 s after it starts and main starts about one status sync after the
    sidecar, so a status with restartCount 1 can still show main waiting: the wait is for the
    status that shows both, the sidecar restarted and main running."""
    kube.apply("sig_node/sidecar-restart.yaml")
    pod = kube.wait_for(
        "Pod",
        lambda p: (
            running(p, "main")
            and bool(p["status"].get("initContainerStatuses"))
            and status_of(p, "flaky-sidecar")["restartCount"] >= 1
        ),
        name="sidecar-restart",
        fail=lambda p: (
            "pod left Running"
            if p and p["status"].get("phase") in ("Failed", "Succeeded")
            else None
        ),
        timeout=90,
    )
    assert pod["status"]["phase"] == "Running"
    assert "running" in status_of(pod, "main")["state"]


@pytest.mark.feature("SidecarContainers")
def test_sidecars_stop_after_main_exits(kube: Kube) -> None:
    """ "The sidecar container will be terminated once all regular containers have completed":
    the restartPolicy Never pod reaches Succeeded with every sidecar terminated after main.

    Termination order, asserted as the cluster does it, on the containers' own clock (each logs
    when it gets SIGTERM and when it exits; first-sidecar takes 2 s to exit, second-sidecar
    4 s). From 1.29 the kubelet stops sidecars in reverse order (KEP-753 beta): first-sidecar
    gets SIGTERM only once second-sidecar has exited. 1.28 (alpha) stops them together, after
    main exited: with no regular container left to keep, its kubelet kills the pod
    (computePodActions: KillPod), each running container in a goroutine of its own
    (killContainersWithSyncResult), waiting for none before signalling the next.

    "Together" is asserted as an order, not a skew: each sidecar got SIGTERM while the other
    was still shutting down (before the other's exit). That bounds the skew between the two
    signals by the sidecars' 2 s / 4 s shutdowns -
    a bound that comes from the behaviour: a kubelet that waits for one sidecar to exit before
    signalling the next (either order) cannot get under it, one that signals them together
    misses it only if a goroutine and a CRI StopContainer call are delayed by seconds. A fixed
    skew is what upstream's node e2e uses for "simultaneous" (500 ms between the sidecars'
    preStop hooks, container_lifecycle_test.go, 1.29+; 1.28's has no termination-order spec),
    on dedicated nodes; on this loaded 2-core host a 0.5 s bound on the SIGTERMs failed, and
    "the quicker one exits first" failed at load average 76 (SIGTERMs 2.3 s apart).
    """
    kube.apply("sig_node/sidecar-termination-order.yaml")
    pod = kube.wait_for(
        "Pod", phase_in("Succeeded", "Failed"), name="termination-order", timeout=120
    )
    assert pod["status"]["phase"] == "Succeeded"
    main = marks(kube, "termination-order", "main")
    first = marks(kube, "termination-order", "first-sidecar")
    second = marks(kube, "termination-order", "second-sidecar")
    order = {"main": main, "first-sidecar": first, "second-sidecar": second}
    assert first["term"] >= main["exit"] and second["term"] >= main["exit"], order
    if kube.release == "1.28":
        # together: each signalled before the other had exited
        assert first["term"] < second["exit"] and second["term"] < first["exit"], order
    else:
        assert first["term"] >= second["exit"], order  # reverse: second gone before first


@pytest.mark.feature("SidecarContainers")
def test_sidecar_failing_during_startup_in_never_pod(kube: Kube) -> None:
    """Article: "The sidecar container will be restarted if it fails during startup, unless the
    pod's restartPolicy is Never. In this case, the entire pod will fail."

    Where the article differs - what the cluster does: a sidecar that exits before its
    startupProbe passes is restarted anyway (its own restartPolicy Always wins, with the usual
    back-off), the pod stays Pending, and the main container never
    starts. The pod does not fail.
    """
    kube.apply("sig_node/sidecar-fails-at-startup.yaml")
    pod = kube.wait_for(
        "Pod",
        lambda p: (
            bool(p)
            and bool(p["status"].get("initContainerStatuses"))
            and status_of(p, "broken-sidecar")["restartCount"] >= 2
        ),
        name="sidecar-fails-at-startup",
        fail=lambda p: (
            f"pod reached {p['status']['phase']}"
            if p and p["status"].get("phase") in ("Failed", "Succeeded")
            else None
        ),
        timeout=120,
    )
    assert pod["status"]["phase"] == "Pending"
    assert status_of(pod, "main")["state"]["waiting"]["reason"] == "PodInitializing"


# The handler container that serves each kind of hook.
HANDLER_CONTAINER = {"exec": "netexec", "http": "netexec", "https": "netexec-https"}


def _hook(action: str, target: str, message: str) -> dict[str, Any]:
    """A lifecycle handler that calls the hook handler's /echo with ``message``, as upstream's."""
    path = f"/echo?msg={message}"
    if action == "exec":
        return {"exec": {"command": ["sh", "-c", f"curl -fsS 'http://{target}:8080{path}'"]}}
    if action == "http":
        return {"httpGet": {"host": target, "port": 8080, "path": path}}
    return {"httpGet": {"host": target, "port": 9090, "path": path, "scheme": "HTTPS"}}


def _served(kube: Kube, container: str, message: str) -> list[str]:
    """The hook handler's log, followed until it shows the request carrying ``message``."""
    request = f"GET /echo?msg={message}"
    return log_lines(
        kube, "hook-handler", container, until=lambda lines: any(request in x for x in lines)
    )


@pytest.mark.feature("SidecarContainers")
@pytest.mark.parametrize("action", ["exec", "http", "https"])
def test_sidecar_lifecycle_hooks_run(kube: Kube, action: str) -> None:
    """A sidecar's postStart hook runs when it starts and its preStop hook when the pod is
    deleted (upstream's "Restartable Init Container Lifecycle Hook" specs: exec, and httpGet
    over HTTP and HTTPS - the kubelet does not verify the handler's certificate): each
    calls a handler pod, whose log shows the request. The main container starts only once the
    sidecar's postStart has returned, so its request is in the handler's log by then; the
    preStop request is there once the pod is gone (grace 15 s, as upstream)."""
    kube.apply("sig_node/hook-handler.yaml")
    handler = kube.wait_for(
        "Pod", lambda p: has_condition(p, "Ready"), name="hook-handler", timeout=120
    )
    target = handler["status"]["podIP"]
    lifecycle = {
        "postStart": _hook(action, target, "poststart"),
        "preStop": _hook(action, target, "prestop"),
    }
    kube.apply("sig_node/sidecar-hooks.yaml", lifecycle=json.dumps(lifecycle))
    kube.wait_for("Pod", lambda p: running(p, "sidecar", "main"), name="sidecar-hooks")
    container = HANDLER_CONTAINER[action]
    served = _served(kube, container, "poststart")
    assert any("GET /echo?msg=poststart" in line for line in served), served
    assert not any("msg=prestop" in line for line in served), served

    kube.delete("Pod", "sidecar-hooks", grace_period_seconds=15)
    kube.wait_deleted("Pod", "sidecar-hooks", timeout=120)
    served = _served(kube, container, "prestop")
    assert any("GET /echo?msg=prestop" in line for line in served), served


def _restarted_by_probe(kube: Kube, probe: str, main_runs: bool) -> dict[str, Any]:
    """Apply the pod whose sidecar fails its ``probe`` and wait until the kubelet restarted the
    sidecar twice (a probe kill, not an exit: the sidecar never ends by itself) and main is in
    the state ``main_runs`` says; a pod that ends (or is refused) stops the wait."""
    kube.apply("sig_node/sidecar-probe-restart.yaml", probe=probe)

    def settled(pod: dict[str, Any] | None) -> bool:
        if not pod or not pod["status"].get("initContainerStatuses"):
            return False
        restarts = status_of(pod, "sidecar")["restartCount"]
        return restarts >= 2 and (running(pod, "main") if main_runs else True)

    return dict(
        kube.wait_for(
            "Pod",
            settled,
            name="sidecar-probe-restart",
            fail=lambda p: (
                failed_pod(p)
                or (f"pod reached {p['status']['phase']}" if phase_in("Succeeded")(p) else None)
            ),
            timeout=180,
        )
    )


def _probe_kills(kube: Kube, probe: str) -> list[dict[str, Any]]:
    """The kubelet's Killing events for the sidecar that name the failed ``probe``."""
    events = kube.wait_for(
        "Event",
        lambda items: any(_kills(e, probe) for e in items),
        api_version="v1",
        timeout=60,
        description=f"a Killing event for the sidecar's failed {probe}",
    )
    return [e for e in events if _kills(e, probe)]


def _kills(event: dict[str, Any], probe: str) -> bool:
    involved = event["involvedObject"]
    return (
        event["reason"] == "Killing"
        and involved.get("name") == "sidecar-probe-restart"
        and involved.get("fieldPath") == "spec.initContainers{sidecar}"
        and f"failed {probe.removesuffix('Probe')} probe" in (event.get("message") or "")
    )


@pytest.mark.feature("SidecarContainers")
def test_sidecar_failing_its_liveness_probe_is_restarted_while_main_runs(kube: Kube) -> None:
    """A sidecar whose livenessProbe fails is killed and restarted by the kubelet, and - a
    sidecar's liveness does not hold initialization back - the main container starts and keeps
    running, never restarted (upstream container_lifecycle_test.go, "liveness probe fails").
    The kill is the kubelet's: a Killing event for spec.initContainers{sidecar} saying
    "Init container sidecar failed liveness probe"."""
    pod = _restarted_by_probe(kube, "livenessProbe", main_runs=True)
    assert pod["status"]["phase"] == "Running"
    assert status_of(pod, "main")["restartCount"] == 0
    assert _probe_kills(kube, "livenessProbe")


@pytest.mark.feature("SidecarContainers")
def test_sidecar_failing_its_startup_probe_is_restarted_and_main_never_starts(
    kube: Kube,
) -> None:
    """A sidecar whose startupProbe fails while it runs is killed and restarted by the kubelet
    (upstream's S10/N10: the probe's kill, where test_sidecar_failing_during_startup_in_never_pod
    has the sidecar exit by itself); it never counts as started, so the pod stays Pending and
    main waits in PodInitializing. Killing event: "Init container sidecar failed startup
    probe"."""
    pod = _restarted_by_probe(kube, "startupProbe", main_runs=False)
    assert pod["status"]["phase"] == "Pending"
    assert status_of(pod, "sidecar")["started"] is False
    assert status_of(pod, "main")["state"]["waiting"]["reason"] == "PodInitializing"
    assert _probe_kills(kube, "startupProbe")


def _readiness_failures(events: list[dict[str, Any]]) -> int:
    """How often the kubelet reported the sidecar's readiness probe failing (events aggregate
    repeats into one with a count)."""
    return sum(
        int(e.get("count") or 1)
        for e in events
        if e["reason"] == "Unhealthy"
        and e["involvedObject"].get("name") == "sidecar-readiness"
        and e["involvedObject"].get("fieldPath") == "spec.initContainers{sidecar}"
        and (e.get("message") or "").startswith("Readiness probe failed")
    )


@pytest.mark.feature("SidecarContainers")
def test_sidecar_readiness_probe_governs_the_pods_readiness(kube: Kube) -> None:
    """A sidecar's readinessProbe counts toward the pod's readiness (an ordinary init container
    cannot even have one): while it fails, the sidecar is not ready and never restarted, main
    runs and is ready, and the pod is not Ready - ContainersReady False, reason
    ContainersNotReady, naming the sidecar alone. Once the probe passes, the pod turns Ready
    (upstream's "Probing restartable init container with readiness probe" specs). The failing
    state is read after the kubelet reported the probe failing three times."""
    kube.apply("sig_node/sidecar-readiness.yaml")
    kube.wait_for(
        "Pod",
        lambda p: running(p, "sidecar", "main") and status_of(p, "main")["ready"] is True,
        name="sidecar-readiness",
    )
    kube.wait_for(
        "Event",
        lambda events: _readiness_failures(events) >= 3,
        api_version="v1",
        timeout=60,
        description="three failed readiness probes of the sidecar",
    )
    pod = kube.get("Pod", "sidecar-readiness")
    assert pod and running(pod, "sidecar", "main")
    assert_matches(status_of(pod, "sidecar"), {"ready": False, "restartCount": 0})
    assert_matches(
        condition(pod, "ContainersReady"),
        {
            "status": "False",
            "reason": "ContainersNotReady",
            "message": "containers with unready status: [sidecar]",
        },
    )
    assert has_condition(pod, "Ready", "False")

    kube.kubectl(
        "exec",
        "-n",
        kube.namespace,
        "sidecar-readiness",
        "-c",
        "sidecar",
        "--",
        "touch",
        "/tmp/ready",
    )
    pod = kube.wait_for(
        "Pod", lambda p: has_condition(p, "Ready"), name="sidecar-readiness", timeout=60
    )
    assert_matches(status_of(pod, "sidecar"), {"ready": True, "restartCount": 0})


SIDECARS = ("restartable-init-1", "restartable-init-2", "restartable-init-3")
ALL = (*SIDECARS, "regular-1")
COMPLETED = (0, "Completed")
ERROR = (1, "Error")
KILLED = (137, "Error")


@dataclass(frozen=True)
class Terminating:
    """One of upstream's terminating-pod cases: the pod's grace period; per container how many
    seconds it takes to exit on SIGTERM (0 unless given), its exit code (0 unless given) and
    its preStop hook (seconds, exit code) if any; then the pod's phase and each container's
    (exitCode, reason) upstream expects."""

    grace: int
    phase: str
    statuses: dict[str, tuple[int, str]]
    term: dict[str, int] = field(default_factory=dict)
    exit: dict[str, int] = field(default_factory=dict)
    prestop: dict[str, tuple[int, int]] = field(default_factory=dict)

    def values(self) -> dict[str, Any]:
        values: dict[str, Any] = {"grace": self.grace}
        for container, key in zip(ALL, ("r1", "r2", "r3", "regular"), strict=True):
            values[f"{key}_term"] = self.term.get(container, 0)
            values[f"{key}_exit"] = self.exit.get(container, 0)
            hook = self.prestop.get(container)
            values[f"{key}_prestop"] = (
                "lifecycle: "
                + json.dumps(
                    {
                        "preStop": {
                            "exec": {"command": ["sh", "-c", f"sleep {hook[0]}; exit {hook[1]}"]}
                        }
                    }
                )
                if hook
                else ""
            )
        return values


def _all(status: tuple[int, str], **others: tuple[int, str]) -> dict[str, tuple[int, str]]:
    return {c: others.get(c.replace("-", "_"), status) for c in ALL}


TERMINATING = {
    # N18: a sidecar exiting 1 on SIGTERM is 1/Error; the pod still Succeeded
    "sidecar-exits-1": Terminating(
        grace=30,
        phase="Succeeded",
        term=dict.fromkeys(ALL, 1),
        exit={"restartable-init-2": 1},
        statuses=_all(COMPLETED, restartable_init_2=ERROR),
    ),
    # N19: a sidecar's failing preStop hook leaves it 0/Completed
    "sidecar-prestop-fails": Terminating(
        grace=30,
        phase="Succeeded",
        term=dict.fromkeys(ALL, 1),
        prestop={
            "restartable-init-1": (1, 0),
            "restartable-init-2": (1, 1),
            "restartable-init-3": (1, 0),
        },
        statuses=_all(COMPLETED),
    ),
    # N20: the regular container outlasts the grace: Failed, 137; sidecars that exit within
    # the 2 s the kubelet gives them after SIGTERM are 0/Completed, the others 137
    "regular-exceeds-grace": Terminating(
        grace=5,
        phase="Failed",
        term={"regular-1": 20, "restartable-init-1": 20, "restartable-init-3": 20},
        statuses=_all(KILLED, restartable_init_2=COMPLETED),
    ),
    # N21: a sidecar outlasts the grace: it is 137, the pod Succeeded
    "sidecar-exceeds-grace": Terminating(
        grace=5,
        phase="Succeeded",
        term={"restartable-init-2": 20},
        statuses=_all(COMPLETED, restartable_init_2=KILLED),
    ),
    # N22: the regular container's preStop hook outlasts the grace: Failed, regular 137
    "regular-prestop-exceeds-grace": Terminating(
        grace=5,
        phase="Failed",
        term={"regular-1": 20, "restartable-init-2": 20},
        prestop={"regular-1": (20, 0)},
        statuses=_all(COMPLETED, regular_1=KILLED, restartable_init_2=KILLED),
    ),
    # N23: a sidecar's preStop hook outlasts the grace: that sidecar 137, the pod Succeeded
    "sidecar-prestop-exceeds-grace": Terminating(
        grace=5,
        phase="Succeeded",
        term={"restartable-init-2": 20},
        prestop={
            "restartable-init-1": (1, 0),
            "restartable-init-2": (30, 0),
            "restartable-init-3": (1, 0),
        },
        statuses=_all(COMPLETED, restartable_init_2=KILLED),
    ),
}


def _terminated(pod: dict[str, Any], container: str) -> tuple[int, str] | None:
    terminated = status_of(pod, container)["state"].get("terminated")
    return (terminated["exitCode"], terminated["reason"]) if terminated else None


@pytest.mark.feature("SidecarContainers")
@pytest.mark.parametrize("case", list(TERMINATING))
def test_deleted_pod_reports_each_containers_exit_and_its_phase(kube: Kube, case: str) -> None:
    """Upstream's "A pod with restartable init containers is terminating" specs (node e2e, 1.29+):
    a restartPolicy Never pod with three sidecars and a regular container, all running until
    SIGTERM, is deleted with its grace period; held by a finalizer, it shows what the kubelet
    wrote last - the phase upstream expects (a sidecar's exit code, its preStop hook's failure
    or its SIGKILL never fail the pod; the regular container's do) and each container's exit
    code and reason (137/Error when the grace, or the 2 s the kubelet grants a container after
    SIGTERM at the least, ran out first).

    Where upstream's containers take 1 s to exit on SIGTERM under a 5 s grace, the quick ones
    here exit at once: a 1 s margin to that 2 s is a flake on this loaded host, and the
    statuses do not change. 1.28's node e2e has none of these specs; its kubelet (alpha) stops
    every container at once instead of sidecars after the regular one, and reports the same
    phases and statuses."""
    spec = TERMINATING[case]
    name = "terminating"
    kube.apply("sig_node/sidecar-terminating.yaml", name=name, **spec.values())
    kube.hold("Pod", name)
    kube.wait_for("Pod", lambda p: running(p, *ALL), name=name, timeout=120)
    kube.delete("Pod", name, grace_period_seconds=spec.grace)
    pod = kube.wait_for("Pod", phase_in("Succeeded", "Failed"), name=name, timeout=120)
    seen = {c: _terminated(pod, c) for c in ALL}
    assert (pod["status"]["phase"], seen) == (spec.phase, spec.statuses)


def _never_started(pod: dict[str, Any], container: str) -> None:
    status = status_of(pod, container)
    assert_matches(status, {"restartCount": 0, "started": False})
    assert "waiting" in status["state"] and not status.get("lastState"), status


def _pending_until(count: int, container: str):
    """A wait's predicate and fail check: ``container`` restarted ``count`` times while the pod
    stayed Pending."""

    def restarted(pod: dict[str, Any] | None) -> bool:
        if not pod or not pod["status"].get("initContainerStatuses"):
            return False
        return status_of(pod, container)["restartCount"] >= count

    def left_pending(pod: dict[str, Any] | None) -> str | None:
        phase = (pod or {}).get("status", {}).get("phase")
        return f"the pod left Pending: {phase}" if phase and phase != "Pending" else None

    return restarted, left_pending


@pytest.mark.feature(
    "SidecarContainers",
    unprovable="an init container whose image cannot be pulled holds the pod back whether or "
    "not it is a sidecar",
)
@pytest.mark.parametrize("restart_policy", ["Never", "OnFailure", "Always"])
def test_sidecar_whose_image_cannot_be_pulled_holds_the_pod_pending(
    kube: Kube, restart_policy: str
) -> None:
    """Upstream's "a restartable init container fails to start because of a bad image" specs:
    whatever the pod's restartPolicy, the sidecar waits in ImagePullBackOff, the pod stays
    Pending, and neither the sidecar nor the regular container starts."""
    kube.apply("sig_node/sidecar-bad-image.yaml", restart_policy=restart_policy)
    pod = kube.wait_for(
        "Pod",
        lambda p: (
            bool(p and p["status"].get("initContainerStatuses"))
            and (status_of(p, "restartable-init-1")["state"].get("waiting") or {}).get("reason")
            == "ImagePullBackOff"
        ),
        name="sidecar-bad-image",
        fail=_pending_until(0, "restartable-init-1")[1],
        timeout=120,
        description="the sidecar waiting in ImagePullBackOff",
    )
    assert pod["status"]["phase"] == "Pending"
    _never_started(pod, "restartable-init-1")
    assert status_of(pod, "regular-1")["state"]["waiting"]["reason"] == "PodInitializing"


@pytest.mark.feature(
    "SidecarContainers",
    unprovable="the failing init container runs before the sidecar, which never starts, "
    "whether or not it is a sidecar",
)
@pytest.mark.parametrize("restart_policy", ["Never", "OnFailure", "Always"])
def test_init_container_failing_before_the_sidecar_keeps_it_from_starting(
    kube: Kube, restart_policy: str
) -> None:
    """Upstream's "an Init container before restartable init container fails" specs: init-1
    exits 1 before the sidecar's turn. A Never pod is Failed (init-1 1/Error); an OnFailure or
    Always pod stays Pending while init-1 is restarted (three times, as upstream waits for); the
    sidecar never starts."""
    kube.apply("sig_node/sidecar-init-fails-before.yaml", restart_policy=restart_policy)
    name = "init-fails-before"
    if restart_policy == "Never":
        pod = kube.wait_for("Pod", phase_in("Failed"), name=name, timeout=60)
        terminated = status_of(pod, "init-1")["state"]["terminated"]
        assert (terminated["exitCode"], terminated["reason"]) == (1, "Error")
    else:
        restarted, left_pending = _pending_until(3, "init-1")
        pod = kube.wait_for("Pod", restarted, name=name, fail=left_pending, timeout=180)
        assert pod["status"]["phase"] == "Pending"
    _never_started(pod, "restartable-init-1")


@pytest.mark.feature("SidecarContainers")
@pytest.mark.parametrize("restart_policy", ["Never", "OnFailure", "Always"])
def test_init_container_failing_after_the_sidecar_ran_beside_it(
    kube: Kube, restart_policy: str
) -> None:
    """Upstream's "an Init container after restartable init container fails" specs: the sidecar
    starts, then init-1 runs beside it and exits 1. A Never pod is Failed (init-1 1/Error); an
    OnFailure or Always pod stays Pending while init-1 is restarted (three times). Either way
    the two ran together: init-1 started after the sidecar and exited while the sidecar's first
    run went on (the sidecar never exited by itself; upstream's exits 1 after 5 s, which is
    incidental to the spec, and it waits for three sidecar restarts instead)."""
    kube.apply("sig_node/sidecar-init-fails-after.yaml", restart_policy=restart_policy)
    name = "init-fails-after"
    if restart_policy == "Never":
        pod = kube.wait_for("Pod", phase_in("Failed"), name=name, timeout=60)
        terminated = status_of(pod, "init-1")["state"]["terminated"]
        assert (terminated["exitCode"], terminated["reason"]) == (1, "Error")
    else:
        restarted, left_pending = _pending_until(3, "init-1")
        pod = kube.wait_for("Pod", restarted, name=name, fail=left_pending, timeout=180)
        assert pod["status"]["phase"] == "Pending"
    assert status_of(pod, "restartable-init-1")["restartCount"] == 0
    sidecar = marks(kube, name, "restartable-init-1", needed=("start",))
    init = marks(kube, name, "init-1", needed=("start", "exit"))
    assert sidecar["start"] < init["start"] < init["exit"], (sidecar, init)
