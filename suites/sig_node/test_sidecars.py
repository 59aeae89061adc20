"""sig-node: sidecar containers (KEP-753), each claim of the 1.28 article checked on a cluster.

"Now, you can set the restartPolicy field to Always on an init container. This tells Kubernetes
to treat the container as a sidecar container."
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from kconformance.testing import Kube
from suites.sig_node.pods import finished_at, phase_in, running, started_at, status_of


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
    startupProbe passes (it cannot pass before 3 s), and before the main container."""
    kube.apply("sig_node/sidecar-startup-order.yaml")
    pod = kube.wait_for(
        "Pod", lambda p: running(p, "proxy", "main"), name="startup-order", timeout=120
    )

    proxy_started = started_at(pod, "proxy")
    setup_started = started_at(pod, "setup")
    assert setup_started - proxy_started >= timedelta(seconds=2), (proxy_started, setup_started)
    assert finished_at(pod, "setup") <= started_at(pod, "main")
    assert status_of(pod, "proxy")["started"] is True


@pytest.mark.feature("SidecarContainers")
def test_sidecar_that_exits_is_restarted_while_main_runs(kube: Kube) -> None:
    """ "The sidecar container will be restarted if it fails" - even in a restartPolicy Never
    pod: restartCount grows and the pod stays Running."""
    kube.apply("sig_node/sidecar-restart.yaml")
    pod = kube.wait_for(
        "Pod",
        lambda p: (
            bool(p)
            and p["status"].get("initContainerStatuses")
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

    Termination order, asserted as the cluster does it: second-sidecar takes 3 s to exit on
    SIGTERM, first-sidecar exits at once. 1.28 (alpha) sends SIGTERM to all sidecars together,
    so first-sidecar finishes before second-sidecar. From 1.29 the kubelet stops sidecars in
    reverse order (KEP-753 beta): first-sidecar gets SIGTERM only once second-sidecar has
    exited, so it finishes no earlier than second-sidecar.
    """
    kube.apply("sig_node/sidecar-termination-order.yaml")
    pod = kube.wait_for(
        "Pod", phase_in("Succeeded", "Failed"), name="termination-order", timeout=120
    )

    assert pod["status"]["phase"] == "Succeeded"
    main_done = finished_at(pod, "main")
    first, second = finished_at(pod, "first-sidecar"), finished_at(pod, "second-sidecar")
    assert first >= main_done and second >= main_done
    order = {"first-sidecar": first, "second-sidecar": second}
    if kube.release == "1.28":
        assert second - first >= timedelta(seconds=2), order  # stopped together
    else:
        assert first >= second, order  # reverse order: first is stopped once second has gone


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
