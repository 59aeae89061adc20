"""sig-api-machinery: ValidatingAdmissionPolicy (KEP-3488), the article's policy and binding.

"you can define a policy that would fail if a request tries to create an object with more than
5 replicas ... And then use it on a binding, so Kubernetes denies request that doesn't pass this
rule." The article writes admissionregistration.k8s.io/v1alpha1; 1.28 serves v1beta1 (with the
ValidatingAdmissionPolicy gate and runtime-config) and 1.30+ serves v1 by default.
"""

from __future__ import annotations

import json

import pytest

from kconformance.manifests import NotServed
from kconformance.testing import ApiRejection, Kube, has_condition
from suites.sig_api_machinery.apis import (
    NotYet,
    expect_rejection,
    group_for,
    served_versions,
    serves_kind,
    until_in_effect,
)

GROUP = "admissionregistration.k8s.io"


def _version(kube: Kube) -> str:
    for version in served_versions(kube, GROUP):
        if serves_kind(kube, GROUP, version, "ValidatingAdmissionPolicy"):
            return version
    raise NotServed(f"this cluster serves no {GROUP} version with ValidatingAdmissionPolicy")


def _prefix(kube: Kube) -> str:
    return f"{kube.namespace}-"


def _label(kube: Kube, namespace: str, labels: dict[str, str]) -> None:
    kube.cluster.core.patch_namespace(namespace, {"metadata": {"labels": labels}})


def _deploy(kube: Kube, name: str, replicas: int, namespace: str | None = None):
    objs = kube.render("sig_api_machinery/deployment.yaml", name=name, replicas=replicas)
    if namespace:
        objs[0]["metadata"]["namespace"] = namespace
    return kube.apply_objects(objs)


def _policy(kube: Kube, actions: list[str], version: str | None = None) -> None:
    kube.apply(
        "sig_api_machinery/vap-policy.yaml",
        version=version or _version(kube),
        prefix=_prefix(kube),
        actions=json.dumps(actions),
    )


def _wait_denying(kube: Kube) -> ApiRejection:
    probe = kube.render("sig_api_machinery/deployment.yaml", name="probe", replicas=6)
    return until_in_effect(lambda: expect_rejection(lambda: kube.apply_objects(probe)))


def _enforced(kube: Kube, actions: list[str], version: str | None = None) -> None:
    _label(
        kube, kube.namespace, {"environment": "test", "kconformance.io/policy-test": kube.namespace}
    )
    _policy(kube, actions, version)


@pytest.mark.feature("ValidatingAdmissionPolicy")
def test_policy_denies_six_replicas_in_a_labelled_namespace(kube: Kube) -> None:
    """In a namespace labelled environment: test, 6 replicas are denied with the policy's
    failed expression, 5 are admitted; in an unlabelled namespace 6 are admitted."""
    _enforced(kube, ["Deny"])
    denied = _wait_denying(kube)
    assert denied.code == 422
    assert f"ValidatingAdmissionPolicy '{_prefix(kube)}demo-policy.example.com'" in denied.message
    assert "failed expression: object.spec.replicas <= 5" in denied.message

    _deploy(kube, "five", 5)
    other = f"{kube.namespace}-unlabelled"
    kube.apply("sig_api_machinery/namespace.yaml", name=other, labels="{}")
    (created,) = _deploy(kube, "six", 6, namespace=other)
    assert created["spec"]["replicas"] == 6


@pytest.mark.feature("ValidatingAdmissionPolicy")
def test_article_v1alpha1_manifest_where_served(kube: Kube) -> None:
    """The article's manifests use v1alpha1: accepted and enforced where that version is served
    (1.28 with runtime-config admissionregistration.k8s.io/v1alpha1)."""
    if not serves_kind(kube, GROUP, "v1alpha1", "ValidatingAdmissionPolicy"):
        pytest.skip(
            f"{GROUP}/v1alpha1 ValidatingAdmissionPolicy is not served by Kubernetes {kube.release}"
        )
    _enforced(kube, ["Deny"], version="v1alpha1")
    assert "object.spec.replicas <= 5" in _wait_denying(kube).message


def _apply_until_warned(kube: Kube, name: str) -> str:
    """kubectl apply a 6-replica Deployment until the response carries the policy's warning
    (the binding reaches the request path a moment after it is stored); returns kubectl's
    output. A denied request fails at once: Warn and Audit must never deny."""
    manifest = kube.manifests.path("sig_api_machinery/deployment.yaml").read_text()
    text = (
        manifest.replace("{{name}}", name)
        .replace("{{replicas}}", "6")
        .replace("{{image.busybox}}", kube.image("busybox"))
    )

    def warned() -> str:
        out = kube.kubectl("apply", "-n", kube.namespace, "-f", "-", input_text=text).stdout
        if "Warning" not in out:
            kube.delete("Deployment", name)
            raise NotYet(out)
        return out

    return until_in_effect(warned)


@pytest.mark.feature("ValidatingAdmissionPolicy")
def test_warn_action_admits_with_a_warning(kube: Kube) -> None:
    """validationActions: [Warn] admits the request and returns the failure as a warning."""
    _enforced(kube, ["Warn"])
    out = _apply_until_warned(kube, "warned")
    assert (
        f"Validation failed for ValidatingAdmissionPolicy '{_prefix(kube)}demo-policy.example.com'"
        in out
    )
    assert "object.spec.replicas <= 5" in out
    assert kube.get("Deployment", "warned")["spec"]["replicas"] == 6


@pytest.mark.feature("ValidatingAdmissionPolicy")
def test_audit_action_admits(kube: Kube) -> None:
    """validationActions: [Audit] admits the request; the failure goes to the audit log as the
    annotation validation.policy.admission.k8s.io/validation_failure. kind clusters write no
    audit log, so what is checked is that Audit alone never denies."""
    _enforced(kube, ["Audit", "Warn"])
    # Warn makes the policy's activation observable: the request that carries the warning was
    # evaluated by the policy, and Audit must not have turned that into a denial.
    out = _apply_until_warned(kube, "audited")
    assert "object.spec.replicas <= 5" in out
    assert kube.get("Deployment", "audited")["spec"]["replicas"] == 6


@pytest.mark.feature("ValidatingAdmissionPolicy")
def test_param_referencing_policy_reads_its_limit(kube: Kube) -> None:
    """A policy with a paramKind and a binding paramRef: the limit (3) comes from the parameter
    object, and the messageExpression quotes it.

    The parameter kind is a CRD of the test's own (see vap-param-policy.yaml: a ConfigMap
    paramKind stops working on 1.30-1.36 apiservers once an earlier run's binding is gone,
    kubernetes#130887). Until the apiserver has resolved the new kind and listed its parameter,
    the policy denies with a configuration error ("failed to find resource referenced by
    paramKind", "not yet synced", "no params found"): those denials are not the policy's
    verdict yet, so the wait goes on until the denial carries the policy's message."""
    _label(kube, kube.namespace, {"kconformance.io/policy-test": kube.namespace})
    documents = {
        obj["kind"]: obj
        for obj in kube.render(
            "sig_api_machinery/vap-param-policy.yaml",
            version=_version(kube),
            prefix=_prefix(kube),
            group=group_for(kube),
        )
    }
    (crd,) = kube.apply_objects([documents["CustomResourceDefinition"]])
    kube.wait_for(
        "CustomResourceDefinition",
        lambda c: has_condition(c, "Established"),
        name=crd["metadata"]["name"],
        timeout=60,
    )
    kube.apply_objects([documents["ReplicaLimit"]])  # the parameter before anything names it
    kube.apply_objects(
        [documents["ValidatingAdmissionPolicy"], documents["ValidatingAdmissionPolicyBinding"]]
    )

    probe = kube.render("sig_api_machinery/deployment.yaml", name="probe", replicas=4)

    def denied_by_the_rule() -> ApiRejection:
        try:
            kube.apply_objects(probe)
        except ApiRejection as rejection:
            if "replicas must be at most" not in rejection.message:
                raise NotYet(f"denied, not yet by the policy's rule: {rejection.message}") from None
            return rejection
        kube.delete("Deployment", "probe")
        raise NotYet("the request was still admitted")

    denied = until_in_effect(denied_by_the_rule, seconds=120)
    assert "replicas must be at most 3" in denied.message
    (created,) = _deploy(kube, "three", 3)
    assert created["spec"]["replicas"] == 3


def _denied_message(kube: Kube, name: str, replicas: int, namespace: str | None = None) -> str:
    with pytest.raises(ApiRejection) as rejected:
        _deploy(kube, name, replicas, namespace=namespace)
    assert rejected.value.code == 422, rejected.value
    return rejected.value.message


@pytest.mark.feature("ValidatingAdmissionPolicy")
def test_validations_read_variables_and_the_namespace_object(kube: Kube) -> None:
    """Upstream's variables and Deployment specs: the policy's variables replicas and
    replicasRemainder (computed from the first) decide - 1 replica is denied by
    variables.replicas > 1, 2 by variables.replicasRemainder == 1, 3 admitted; namespaceObject is the
    request's namespace - a second namespace the binding also matches is denied 3 replicas
    with that validation's message; a ReplicaSet, outside matchConstraints, is admitted with
    1 replica."""
    selected = {"kconformance.io/policy-test": kube.namespace}
    _label(kube, kube.namespace, selected)
    other = f"{kube.namespace}-other"
    kube.apply("sig_api_machinery/namespace.yaml", name=other, labels=json.dumps(selected))
    kube.apply(
        "sig_api_machinery/vap-variables-policy.yaml",
        version=_version(kube),
        prefix=_prefix(kube),
    )
    probe = kube.render("sig_api_machinery/deployment.yaml", name="probe", replicas=1)
    first = until_in_effect(lambda: expect_rejection(lambda: kube.apply_objects(probe)))
    assert "failed expression: variables.replicas > 1" in first.message, first.message

    assert "failed expression: variables.replicasRemainder == 1" in _denied_message(kube, "two", 2)
    (three,) = _deploy(kube, "three", 3)
    assert three["spec"]["replicas"] == 3
    assert f"only namespace {kube.namespace} may create Deployments" in _denied_message(
        kube, "elsewhere", 3, namespace=other
    )
    (replica_set,) = kube.render("sig_api_machinery/deployment.yaml", name="set", replicas=1)
    replica_set["kind"] = "ReplicaSet"
    (created,) = kube.apply_objects([replica_set])
    assert created["kind"] == "ReplicaSet" and created["spec"]["replicas"] == 1


@pytest.mark.feature("ValidatingAdmissionPolicy")
def test_status_reports_type_checking_warnings_per_expression(kube: Kube) -> None:
    """Upstream's "should type check validation expressions": once type checking has run
    (status.typeChecking present), a well-typed policy has no warnings and the confused one
    exactly two - its expression (int > string) and its messageExpression (string + int),
    each with its fieldRef and "found no matching overload"."""
    version = _version(kube)
    kube.apply(
        "sig_api_machinery/vap-typecheck-policies.yaml", version=version, prefix=_prefix(kube)
    )

    def checked(name: str) -> dict:
        policy = kube.wait_for(
            "ValidatingAdmissionPolicy",
            lambda p: (p.get("status") or {}).get("typeChecking") is not None,
            name=f"{_prefix(kube)}{name}.example.com",
            api_version=f"{GROUP}/{version}",
            timeout=60,
            description="status.typeChecking is set",
        )
        return policy["status"]["typeChecking"]

    assert not checked("correct").get("expressionWarnings")
    warnings = checked("confused").get("expressionWarnings") or []
    assert [w["fieldRef"] for w in warnings] == [
        "spec.validations[0].expression",
        "spec.validations[0].messageExpression",
    ], warnings
    assert (
        "found no matching overload for '_>_' applied to '(int, string)'"
        in (warnings[0]["warning"])
    )
    assert (
        "found no matching overload for '_+_' applied to '(string, int)'"
        in (warnings[1]["warning"])
    )
