"""sig-node: sidecar containers (KEP-753), each claim of the 1.28 article checked on a cluster.

"Now, you can set the restartPolicy field to Always on an init container. This tells Kubernetes
to treat the container as a sidecar container."
"""

from __future__ import annotations

import pytest

from kconformance.testing import Kube
from suites.sig_node.pods import finished_at, marks, phase_in, running, started_at, status_of


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
    assert status_of(pod, "proxy")["started"] is True
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
