"""sig-api-machinery: admission webhook matchConditions (KEP-3716).

"You can define filtering rules using the new Common Expression Language on the new
matchConditions field of a Webhook ... If several conditions are present, a request must pass
all of them to be evaluated by a webhook."
"""

from __future__ import annotations

import itertools
import json
from typing import Any

import pytest

from kconformance.testing import ApiRejection, Kube, has_condition
from suites.sig_api_machinery.apis import NotYet, until_in_effect
from suites.sig_api_machinery.certificates import make_serving_cert

ARTICLE_CONDITION = '!("system:nodes" in request.userInfo.groups)'
CONFIGMAP = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\n  labels: {{webhook-test: 'true'}}\n"


def _create_as(kube: Kube, name: str, *impersonation: str):
    return kube.kubectl(
        "create",
        "-n",
        kube.namespace,
        "-f",
        "-",
        *impersonation,
        input_text=CONFIGMAP.format(name=name),
        check=False,
    )


@pytest.fixture
def agnhost_webhook(kube: Kube, tmp_path) -> str:
    """agnhost's webhook server behind the Service webhook in the test's namespace (paths
    /always-deny and /mutating-configmaps); its CA bundle, base64."""
    cert = make_serving_cert(tmp_path, f"webhook.{kube.namespace}.svc")
    kube.apply(
        "sig_api_machinery/webhook-server.yaml", cert=cert.b64(cert.cert), key=cert.b64(cert.key)
    )
    kube.wait_for("Pod", lambda p: has_condition(p, "Ready"), name="webhook", timeout=240)
    return cert.b64(cert.ca)


@pytest.mark.feature("AdmissionWebhookMatchConditions")
def test_match_conditions_decide_which_requests_reach_the_webhook(
    kube: Kube, agnhost_webhook: str
) -> None:
    """The webhook denies every ConfigMap it sees. A request from a user in system:nodes fails
    the article's condition and is not sent (admitted); so is one from the user the second
    condition excludes; any other request reaches the webhook and is denied."""
    kube.apply(
        "sig_api_machinery/webhook-config.yaml",
        ca_bundle=agnhost_webhook,
        node_condition=ARTICLE_CONDITION,
    )

    def denied_for_admin() -> str:
        result = _create_as(kube, "probe")
        if result.returncode == 0:
            kube.delete("ConfigMap", "probe")
            raise NotYet("webhook not called yet")
        if "failed calling webhook" in result.stdout:
            raise NotYet(result.stdout)  # the Service is not routed to the pod yet
        return result.stdout

    message = until_in_effect(denied_for_admin, seconds=60)
    assert "this webhook denies all requests" in message, message

    as_node = _create_as(
        kube,
        "from-node",
        "--as",
        "system:node:kind-worker",
        "--as-group",
        "system:nodes",
        "--as-group",
        "system:masters",
    )
    assert as_node.returncode == 0, as_node.stdout
    as_skipped_user = _create_as(
        kube, "from-skip-user", "--as", "kconformance-skip", "--as-group", "system:masters"
    )
    assert as_skipped_user.returncode == 0, as_skipped_user.stdout
    as_other = _create_as(
        kube, "from-other", "--as", "someone-else", "--as-group", "system:masters"
    )
    assert as_other.returncode != 0 and "this webhook denies all requests" in as_other.stdout

    stored = kube.get("ValidatingWebhookConfiguration", f"{kube.namespace}-deny-all")
    assert stored is not None
    assert stored["webhooks"][0]["matchConditions"] == [
        {"name": "exclude-kubelet-requests", "expression": ARTICLE_CONDITION},
        {
            "name": "exclude-skip-user",
            "expression": 'request.userInfo.username != "kconformance-skip"',
        },
    ]


@pytest.mark.feature("AdmissionWebhookMatchConditions")
def test_invalid_match_condition_is_refused_at_registration(kube: Kube) -> None:
    """A matchCondition that does not compile is refused when the configuration is created."""
    with pytest.raises(ApiRejection) as rejected:
        kube.apply(
            "sig_api_machinery/webhook-config.yaml",
            ca_bundle="",
            node_condition='!("system:nodes" in request.userInfo.groupz)',
        )
    assert rejected.value.code == 422
    assert (
        "matchConditions[0].expression" in " ".join(rejected.value.cause_fields())
        or "matchConditions[0].expression" in rejected.value.message
    )
    assert "groupz" in rejected.value.message


SKIP_ME = {"name": "skip-me", "expression": "object.metadata.name != 'skip-me'"}
ALSO_SKIP = {"name": "also-skip", "expression": "!object.metadata.name.startsWith('also-skip')"}
STARTED = {"mutation-start": "yes"}
MUTATED = {"mutation-start": "yes", "mutation-stage-1": "yes"}


def _mutating_config(kube: Kube, ca_bundle: str, conditions: list[dict[str, str]]) -> None:
    kube.apply(
        "sig_api_machinery/webhook-mutating-config.yaml",
        ca_bundle=ca_bundle,
        match_conditions=json.dumps(conditions),
    )
    stored = kube.get("MutatingWebhookConfiguration", f"{kube.namespace}-mutate")
    assert stored is not None
    assert stored["webhooks"][0]["matchConditions"] == conditions


def _configmap_data(kube: Kube, name: str) -> dict[str, Any]:
    """Create a ConfigMap the webhook's rules select, with mutation-start; the data the API
    server stored (after any mutation)."""
    (created,) = kube.apply_objects(
        [
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": name, "labels": {"webhook-test": "true"}},
                "data": dict(STARTED),
            }
        ]
    )
    return dict(created.get("data") or {})


def _until_data(kube: Kube, prefix: str, wanted: dict[str, str]) -> None:
    """Create ConfigMaps named prefix-N until one is stored with ``wanted``: a webhook
    configuration reaches the request path a moment after it is stored, and the webhook's
    Service a moment after its pod is ready."""
    attempts = itertools.count()

    def attempt() -> None:
        try:
            data = _configmap_data(kube, f"{prefix}-{next(attempts)}")
        except ApiRejection as rejection:
            if "failed calling webhook" in rejection.message:
                raise NotYet(rejection.message) from None
            raise
        if data != wanted:
            raise NotYet(f"stored with {data}, waiting for {wanted}")

    until_in_effect(attempt, seconds=60)


@pytest.mark.feature("AdmissionWebhookMatchConditions")
def test_mutating_webhook_skips_what_its_match_conditions_exclude(
    kube: Kube, agnhost_webhook: str
) -> None:
    """Upstream's mutating-webhook specs: a MutatingWebhookConfiguration is created with one
    matchCondition (object.metadata.name != 'skip-me') and stored exactly so; the ConfigMap
    skip-me is stored unmutated, any other mutated. Updated to two conditions (stored exactly
    so), the new one takes effect: also-skip* ConfigMaps are left alone too, others still
    mutated."""
    _mutating_config(kube, agnhost_webhook, [SKIP_ME])
    _until_data(kube, "probe", MUTATED)
    assert _configmap_data(kube, "skip-me") == STARTED
    assert _configmap_data(kube, "mutate-me") == MUTATED

    _mutating_config(kube, agnhost_webhook, [SKIP_ME, ALSO_SKIP])
    _until_data(kube, "also-skip", STARTED)
    assert _configmap_data(kube, "still-mutated") == MUTATED
