"""sig-cli: kubectl events (KEP-1440) and kubectl delete --interactive (KEP-3895), with the
kubectl of the cluster's release."""

from __future__ import annotations

import pytest

from kconformance.testing import Kube
from suites.sig_cli.terminal import answer_prompt

# kubectl 1.28 registers --interactive only with this variable set; later releases ignore it.
INTERACTIVE = {"KUBECTL_INTERACTIVE_DELETE": "true"}


@pytest.mark.feature("KubectlEvents")
def test_kubectl_events_for_one_pod(kube: Kube) -> None:
    """`kubectl events --for pod/NAME` lists that pod's events (Scheduled, Started, ...) and
    no other object's.

    The article's news is the command's graduation to GA, which changed no behaviour: kubectl
    1.26 and 1.27 (beta) have the same command and --for flag, so this test cannot tell them
    from 1.28 (not run here: no 1.26/1.27 build). What it shows is that 1.28's kubectl has it."""
    for name in ("watched", "other"):
        kube.apply("sig_cli/pod.yaml", name=name)
    for name in ("watched", "other"):
        kube.wait_for(
            "Pod",
            lambda p: bool(p) and p["status"].get("phase") == "Running",
            name=name,
            timeout=90,
        )
    kube.wait_for(
        "Event",
        lambda events: any(
            e["reason"] == "Started" and e["involvedObject"]["name"] == "watched" for e in events
        ),
        api_version="v1",
        timeout=30,
    )
    out = kube.kubectl("events", "-n", kube.namespace, "--for", "pod/watched").stdout
    header, *rows = out.strip().splitlines()
    assert header.split() == ["LAST", "SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"]
    # kubectl 1.28 prints the object as Pod/watched
    assert rows and all("pod/watched" in row.lower() for row in rows), out
    assert any(" Scheduled " in row for row in rows) and any(" Started " in row for row in rows)


@pytest.mark.feature("KubectlDeleteInteractive")
@pytest.mark.parametrize(("answer", "deleted"), [("n", False), ("y", True)])
def test_kubectl_delete_interactive(kube: Kube, answer: str, deleted: bool) -> None:
    """`kubectl delete -i` previews what it will delete and asks; `n` deletes nothing, `y`
    deletes everything listed."""
    kube.apply("sig_cli/configmaps.yaml")
    argv = [
        *kube.cluster.kubectl_argv,
        "delete",
        "-n",
        kube.namespace,
        "-i",
        "configmap",
        "settings-a",
        "settings-b",
    ]
    code, screen = answer_prompt(argv, "(y/n)", answer, env=INTERACTIVE)

    assert "You are about to delete the following 2 resource(s):" in screen, screen
    assert "configmap/settings-a" in screen and "configmap/settings-b" in screen
    remaining = {cm["metadata"]["name"] for cm in kube.list("ConfigMap")} & {
        "settings-a",
        "settings-b",
    }
    if deleted:
        assert code == 0 and remaining == set(), screen
    else:
        assert "deletion is cancelled" in screen
        assert remaining == {"settings-a", "settings-b"}
