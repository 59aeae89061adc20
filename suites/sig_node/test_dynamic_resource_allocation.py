"""sig-node: Dynamic Resource Allocation (KEP-3063).

Article (1.28, alpha): "a pod references ResourceClaims, or ResourceClaimTemplates from which a
claim is created for it; a resource driver allocates the claim; the scheduler and the driver
agree on a node through a PodSchedulingContext; the kubelet asks the driver's node plugin to
prepare the resource before the containers start". 1.28 needs the DynamicResourceAllocation gate
on every component and runtime-config resource.k8s.io/v1alpha2=true (profile `dra`).

From 1.32 DRA uses "structured parameters": drivers publish their devices as ResourceSlices and
the scheduler allocates itself - the 1.28 model (ResourceClass, a control-plane controller,
PodSchedulingContext) is gone. 1.36 has DRA GA through resource.k8s.io/v1 (DeviceClass, claims
with device requests), which these tests use there.

The driver is upstream's test driver (k8s.io/kubernetes test/e2e/dra/test-driver of the release,
built by `hack/build-test-drivers.sh RELEASE dra`), run inside the kind node with the node's
admin kubeconfig: on 1.28 its controller and its kubelet plugin, on 1.36 its kubelet plugin,
which publishes a ResourceSlice of four devices for the node.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from kconformance.testing import Kube, condition, has_condition
from suites.sig_node.nodes import (
    NodeProcess,
    built_program,
    copy_into_node,
    kind_node,
    node_exec,
)
from suites.sig_node.pods import a_node, log_lines, phase_in, running

# resource.k8s.io version and manifest per release: v1alpha2 (1.28-1.30) has the classic
# model this suite tests on 1.28, v1 (from 1.34) the structured one.
API = {"1.28": "resource.k8s.io/v1alpha2", "1.36": "resource.k8s.io/v1"}
MANIFEST = {
    "resource.k8s.io/v1alpha2": "sig_node/dra-v1alpha2.yaml",
    "resource.k8s.io/v1": "sig_node/dra-v1.yaml",
}
EXTERNAL_CLAIM = {
    "resource.k8s.io/v1alpha2": "sig_node/dra-external-claim-v1alpha2.yaml",
    "resource.k8s.io/v1": "sig_node/dra-external-claim-v1.yaml",
}
# the kubelet's refusal to prepare a claim not reserved for the pod (pkg/kubelet/cm/dra)
NOT_ALLOWED = {
    "resource.k8s.io/v1alpha2": "is not allowed to use resource claim external-claim",
    "resource.k8s.io/v1": "is not allowed to use ResourceClaim external-claim",
}
# generateName of a claim made from a template for pod dra-user's claim "resource"
GENERATE_NAME = {
    "resource.k8s.io/v1alpha2": "dra-user-resource",
    "resource.k8s.io/v1": "dra-user-resource-",
}
# what the scheduler's DRA plugin says while no driver allocates the claim
UNSCHEDULABLE = {
    "resource.k8s.io/v1alpha2": "waiting for resource driver to allocate resource",
    "resource.k8s.io/v1": "cannot allocate all claims",
}
ADMIN_KUBECONFIG = "/etc/kubernetes/admin.conf"  # kubeadm's, in the control-plane node


def _driver_name(kube: Kube, kind: str) -> str:
    """A driver name of this test only, short: the 1.28 kubelet puts `<driver>_<claim uid>` into
    a CDI annotation key, whose name part may have 63 characters, so a driver name of more than
    26 characters fails every pod ("can't generate CDI annotations: ... too long", seen here).
    Upstream's default, test-driver.cdi.k8s.io, has 22."""
    return f"{kind}-{kube.namespace.rsplit('-', 1)[1]}.kc.io"


def _api(kube: Kube) -> str:
    api = API.get(kube.cluster.release)
    if api is None:
        pytest.skip(f"no DRA manifest for the resource.k8s.io version of {kube.cluster.release}")
    return api


def _claim_statuses(pod: dict[str, Any] | None) -> list[dict[str, Any]]:
    return list(((pod or {}).get("status") or {}).get("resourceClaimStatuses") or [])


def _pod_failed(pod: dict[str, Any] | None) -> str | None:
    phase = (pod or {}).get("status", {}).get("phase")
    return f"pod phase {phase}" if phase in ("Failed", "Succeeded") else None


def _claim_of(kube: Kube, api: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Wait for the claim controller to create the pod's claim and name it in the pod status."""
    pod = kube.wait_for(
        "Pod",
        lambda p: bool(_claim_statuses(p)),
        name="dra-user",
        timeout=90,
        description="pod.status.resourceClaimStatuses to name the claim made from the template",
    )
    statuses = _claim_statuses(pod)
    assert [s["name"] for s in statuses] == ["resource"], statuses
    claim = kube.get("ResourceClaim", statuses[0]["resourceClaimName"], api_version=api)
    assert claim, (
        f"ResourceClaim {statuses[0]['resourceClaimName']} named by the pod does not exist"
    )
    return pod, claim


@pytest.mark.feature("DynamicResourceAllocation")
def test_claim_is_created_from_the_template_and_the_pod_waits_for_allocation(kube: Kube) -> None:
    """Without any driver for its class, the control plane still does its part: the
    resourceclaim controller creates a claim from the template, owned by the pod (generateName
    `<pod>-<claim>`, 1.36 adds a dash; the template's labels), and records it in
    pod.status.resourceClaimStatuses; the claim stays unallocated and the pod unscheduled.
    PodScheduled is False with reason Unschedulable: 1.28 "waiting for resource driver to
    allocate resource", and the scheduler publishes a PodSchedulingContext named after the pod
    with the node it selected and the potential nodes, for a driver to answer; 1.36 (the
    scheduler allocates itself, from ResourceSlices) "cannot allocate all claims"."""
    api = _api(kube)
    node = a_node(kube)
    kube.apply(MANIFEST[api], driver=_driver_name(kube, "absent"))
    pod, claim = _claim_of(kube, api)
    # <pod>-<claim> as generateName: without a separating dash in 1.28
    prefix = GENERATE_NAME[api]
    assert claim["metadata"]["generateName"] == prefix, claim["metadata"]
    assert re.fullmatch(re.escape(prefix) + r"[a-z0-9]{5}", claim["metadata"]["name"])
    owner = claim["metadata"]["ownerReferences"]
    assert [(o["kind"], o["name"], o["uid"], o.get("controller")) for o in owner] == [
        ("Pod", "dra-user", pod["metadata"]["uid"], True)
    ]
    assert claim["metadata"]["labels"] == {"app": "dra-user"}

    pod = kube.wait_for(
        "Pod", lambda p: has_condition(p, "PodScheduled", "False"), name="dra-user", timeout=90
    )
    scheduled = condition(pod, "PodScheduled")
    assert scheduled and scheduled["reason"] == "Unschedulable", scheduled
    assert UNSCHEDULABLE[api] in scheduled["message"], scheduled
    if api == "resource.k8s.io/v1alpha2":
        scheduling = kube.wait_for(
            "PodSchedulingContext",
            lambda s: bool(s) and bool(s["spec"].get("selectedNode")),
            name="dra-user",
            api_version=api,
            timeout=90,
        )
        assert scheduling["spec"]["selectedNode"] == node
        assert node in scheduling["spec"].get("potentialNodes", [])
        assert scheduling["metadata"]["ownerReferences"][0]["uid"] == pod["metadata"]["uid"]
    claim = kube.get("ResourceClaim", claim["metadata"]["name"], api_version=api)
    assert claim and not (claim.get("status") or {}).get("allocation"), claim.get("status")
    pod = kube.get("Pod", "dra-user")
    assert pod and not pod["spec"].get("nodeName"), pod and pod["spec"].get("nodeName")


@dataclass(frozen=True)
class Driver:
    name: str
    node: str
    processes: tuple[NodeProcess, ...]

    def logs(self) -> str:
        return "\n".join(f"--- {p.name}\n{p.log()[-3000:]}" for p in self.processes)


@pytest.fixture
def dra_driver(kube: Kube) -> Iterator[Driver]:
    """Upstream's DRA test driver for this test only (its own driver name), running in the node.
    Teardown deletes the pod first, so the driver can unprepare and deallocate its claim before
    it stops."""
    api = _api(kube)
    program = built_program(kube.cluster.release, "dra_test_driver", "dra")
    node = kind_node(a_node(kube))
    driver_in_node = copy_into_node(node, Path(program["path"]), "dra-test-driver")
    name = _driver_name(kube, "test")
    shared = [driver_in_node, "--kubeconfig", ADMIN_KUBECONFIG, "--drivername", name]
    processes = []
    if api == "resource.k8s.io/v1alpha2":
        processes.append(
            NodeProcess.start(node, f"{kube.namespace}-controller", [*shared, "controller"])
        )
        socket = f"/var/lib/kubelet/plugins/{name}/dra.sock"
        plugin = [*shared, "kubelet-plugin", "--endpoint", socket, "--dra-address", socket]
    else:
        # The 1.36 driver creates only the parent of its socket directory (<datadir>/<driver>)
        # and then fails with "listen unix ...: bind: no such file or directory" (seen here);
        # upstream's e2e gives it the directory through a hostPath volume.
        node_exec(node, "mkdir", "-p", f"/var/lib/kubelet/plugins/{name}")
        plugin = [*shared, "kubelet-plugin", "--node-name", node]
    processes.append(NodeProcess.start(node, f"{kube.namespace}-plugin", plugin))
    driver = Driver(name, node, tuple(processes))
    try:
        yield driver
    finally:
        try:
            kube.delete("Pod", "dra-user")
            kube.wait_deleted("Pod", "dra-user", timeout=90)
        finally:
            for process in processes:
                process.stop()


@pytest.mark.kind_nodes
@pytest.mark.feature("DynamicResourceAllocation")
def test_driver_allocates_the_claim_and_the_pod_runs(kube: Kube, dra_driver: Driver) -> None:
    """With upstream's test driver for the class, the claim made from the template is allocated
    by that driver and reserved for the pod, the kubelet has the driver's node plugin prepare it,
    and the pod runs. 1.28: allocation by the driver's controller (status.driverName). 1.36: by
    the scheduler, from the ResourceSlice the plugin published (one device of the node's pool),
    and containerd 2 applies the plugin's CDI spec: the container has the driver's
    `claim_<claim>_<request>=true` variable, dashes made underscores. 1.28's containerd 1.6
    ignores CDI, so there the node plugin's part is shown by the CDI spec it wrote when the
    kubelet called NodePrepareResource for the claim (named by the claim's uid, holding the
    variable the controller derived from the claim's parameters, as upstream's dra.go expects
    in the container)."""
    api = _api(kube)
    kube.apply(MANIFEST[api], driver=dra_driver.name)
    try:
        pod = kube.wait_for(
            "Pod",
            lambda p: running(p, "with-resource"),
            name="dra-user",
            timeout=120,
            fail=_pod_failed,
        )
    except AssertionError as exc:
        raise AssertionError(f"{exc}\ndriver logs:\n{dra_driver.logs()}") from None
    # the scheduler places a pod with claims only once its claim is named in its status: a
    # running pod without one had its claims dropped (the API server does so with the gate off)
    statuses = _claim_statuses(pod)
    declared = pod["spec"].get("resourceClaims")
    assert statuses, f"pod runs without any resource claim: spec.resourceClaims={declared}"
    claim_name = statuses[0]["resourceClaimName"]
    claim = kube.get("ResourceClaim", claim_name, api_version=api)
    assert claim
    status = claim["status"]
    reserved = [(r["resource"], r["name"], r["uid"]) for r in status.get("reservedFor") or []]
    assert reserved == [("pods", "dra-user", pod["metadata"]["uid"])], status
    if api == "resource.k8s.io/v1alpha2":
        assert status["driverName"] == dra_driver.name, status
        handles = status["allocation"]["resourceHandles"]
        assert [h["driverName"] for h in handles] == [dra_driver.name], handles
        # the driver's controller turns the claim's parameters (ConfigMap a: b) into user_a=b
        assert json.loads(handles[0]["data"])["EnvVars"] == {"user_a": "b"}, handles
        # NodePrepareResource: the node plugin wrote the claim's CDI spec, named by its uid
        uid = claim["metadata"]["uid"]
        path = f"/var/run/cdi/{dra_driver.name}-{uid}.json"
        cdi = json.loads(node_exec(dra_driver.node, "cat", path).stdout)
        assert cdi["kind"] == f"{dra_driver.name}/test", cdi
        assert cdi["devices"] == [
            {"name": f"claim-{uid}", "containerEdits": {"env": ["user_a=b"]}}
        ], cdi
    else:
        results = status["allocation"]["devices"]["results"]
        assert [(r["request"], r["driver"], r["pool"]) for r in results] == [
            ("device", dra_driver.name, dra_driver.node)
        ], results
        assert re.fullmatch(r"device-\d\d", results[0]["device"]), results
        # the driver's variable name, with the claim name's dashes made underscores; the
        # container prints its environment once running (followed until the line is there)
        line = f"claim_{claim_name}_device=true".replace("-", "_")
        env = log_lines(kube, "dra-user", "with-resource", until=lambda lines: line in lines)
        assert line in env, env


@pytest.mark.feature("DynamicResourceAllocation")
def test_pod_bound_to_the_node_does_not_run_with_a_claim_not_reserved_for_it(kube: Kube) -> None:
    """Upstream's "must not run a pod if a claim is not reserved for it" (1.28; "... is not
    ready" from 1.31): a pod created with its nodeName set skips the scheduler, so nothing
    reserves its claim for it, and the kubelet refuses to prepare the claim - event
    FailedPrepareDynamicResources "... is not allowed to use ..." - and never starts the
    container. On 1.28 the claim is, as upstream's, allocated (not shareable) and reserved for
    something else; on 1.36 it is left unallocated, as upstream's."""
    api = _api(kube)
    documents = kube.render(
        EXTERNAL_CLAIM[api], driver=_driver_name(kube, "absent"), node=a_node(kube)
    )
    *claim_objects, pod_object = documents
    kube.apply_objects(claim_objects)
    if api == "resource.k8s.io/v1alpha2":
        elsewhere = {
            "driverName": _driver_name(kube, "absent"),
            "allocation": {},
            "reservedFor": [
                {"apiGroup": "example.com", "resource": "some", "name": "thing", "uid": "12345"}
            ],
        }
        kube.kubectl(
            "patch",
            "resourceclaims.v1alpha2.resource.k8s.io",
            "external-claim",
            "-n",
            kube.namespace,
            "--subresource=status",
            "--type=merge",
            "-p",
            json.dumps({"status": elsewhere}),
        )
    kube.apply_objects([pod_object])
    kube.wait_for(
        "Event",
        lambda events: any(
            e["involvedObject"].get("name") == "dra-user"
            and e["reason"] == "FailedPrepareDynamicResources"
            and NOT_ALLOWED[api] in (e.get("message") or "")
            for e in events
        ),
        api_version="v1",
        timeout=90,
        description="the kubelet refusing to prepare the claim for the pod",
    )
    pod = kube.get("Pod", "dra-user")
    assert pod and pod["status"].get("phase") == "Pending", pod and pod["status"]
    assert not running(pod, "with-resource")
    claim = kube.get("ResourceClaim", "external-claim", api_version=api)
    assert claim
    reserved = [r["uid"] for r in (claim.get("status") or {}).get("reservedFor") or []]
    assert pod["metadata"]["uid"] not in reserved, claim.get("status")


@pytest.mark.kind_nodes
@pytest.mark.feature("DynamicResourceAllocation")
def test_generated_claim_is_deleted_once_the_pod_is_done(kube: Kube, dra_driver: Driver) -> None:
    """Upstream's "deletes generated claims when pod is done": the pod's only container prints
    its environment and exits 0 (restartPolicy Never); once the pod has Succeeded, the
    resourceclaim controller deletes the claim it made from the template (on 1.28 after the
    driver's controller deallocated it and removed its finalizer)."""
    api = _api(kube)
    documents = kube.render(MANIFEST[api], driver=dra_driver.name)
    pod = documents[-1]
    pod["spec"]["restartPolicy"] = "Never"
    pod["spec"]["containers"][0]["command"] = ["sh", "-c", "env | sort"]
    kube.apply_objects(documents)
    done = kube.wait_for(
        "Pod",
        phase_in("Succeeded"),
        name="dra-user",
        timeout=120,
        fail=lambda p: "the pod Failed" if phase_in("Failed")(p) else None,
    )
    statuses = _claim_statuses(done)
    assert [s["name"] for s in statuses] == ["resource"], statuses
    claim = statuses[0]["resourceClaimName"]
    kube.wait_for(
        "ResourceClaim",
        lambda c: c is None,
        name=claim,
        api_version=api,
        timeout=90,
        description=f"the generated claim {claim} to be deleted",
    )
