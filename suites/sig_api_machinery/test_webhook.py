"""sig-api-machinery: admission webhook matchConditions (KEP-3716).

"You can define filtering rules using the new Common Expression Language on the new
matchConditions field of a Webhook ... If several conditions are present, a request must pass
all of them to be evaluated by a webhook."
"""

from __future__ import annotations

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
def deny_all_webhook(kube: Kube, tmp_path) -> str:
    cert = make_serving_cert(tmp_path, f"webhook.{kube.namespace}.svc")
    kube.apply(
        "sig_api_machinery/webhook-server.yaml", cert=cert.b64(cert.cert), key=cert.b64(cert.key)
    )
    kube.wait_for("Pod", lambda p: has_condition(p, "Ready"), name="webhook", timeout=240)
    return cert.b64(cert.ca)


@pytest.mark.feature("AdmissionWebhookMatchConditions")
def test_match_conditions_decide_which_requests_reach_the_webhook(
    kube: Kube, deny_all_webhook: str
) -> None:
    """The webhook denies every ConfigMap it sees. A request from a user in system:nodes fails
    the article's condition and is not sent (admitted); so is one from the user the second
    condition excludes; any other request reaches the webhook and is denied."""
    kube.apply(
        "sig_api_machinery/webhook-config.yaml",
        ca_bundle=deny_all_webhook,
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
