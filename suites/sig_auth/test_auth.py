"""sig-auth: SelfSubjectReview (KEP-3325) and legacy ServiceAccount token tracking (KEP-2799)."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime

import pytest

from kconformance.testing import Kube
from suites.sig_api_machinery.apis import served_versions
from suites.sig_auth.clients import (
    as_token,
    impersonating,
    review_of_new_legacy_token,
    self_subject_review,
)

GROUP = "authentication.k8s.io"


@pytest.mark.feature("APISelfSubjectReview")
def test_self_subject_review_returns_the_admin(kube: Kube) -> None:
    """ "This API provides information about who are you authenticated as": the kind admin is
    kubernetes-admin, authenticated. Where the article differs: it shows
    authentication.k8s.io/v1alpha1; the API is GA as v1 in 1.28, and `kubectl alpha auth
    whoami` is `kubectl auth whoami`."""
    info = self_subject_review(kube.cluster.api)
    assert info["username"] == "kubernetes-admin"
    assert "system:authenticated" in info["groups"]
    out = kube.kubectl("auth", "whoami").stdout
    assert "kubernetes-admin" in out and "system:authenticated" in out


@pytest.mark.feature("APISelfSubjectReview")
def test_self_subject_review_of_a_service_account_token(kube: Kube) -> None:
    """A ServiceAccount token is reviewed as system:serviceaccount:<ns>:<name> in the
    service-account groups."""
    kube.cluster.core.create_namespaced_service_account(
        kube.namespace, {"metadata": {"name": "reviewer"}}
    )
    token = kube.cluster.core.create_namespaced_service_account_token(
        "reviewer", kube.namespace, {"spec": {"expirationSeconds": 600}}
    ).status.token
    info = self_subject_review(as_token(kube, token))
    assert info["username"] == f"system:serviceaccount:{kube.namespace}:reviewer"
    assert {
        "system:serviceaccounts",
        f"system:serviceaccounts:{kube.namespace}",
        "system:authenticated",
    } <= set(info["groups"])


@pytest.mark.feature("APISelfSubjectReview")
def test_self_subject_review_of_an_impersonated_user(kube: Kube) -> None:
    """The article's jane.doe in groups viewers and editors, by impersonation: the review and
    `kubectl auth whoami --as` report exactly that user and those groups."""
    info = self_subject_review(impersonating(kube, "jane.doe", "viewers"))
    assert info["username"] == "jane.doe"
    assert "viewers" in info["groups"] and "system:authenticated" in info["groups"]
    out = kube.kubectl(
        "auth", "whoami", "--as", "jane.doe", "--as-group", "viewers", "--as-group", "editors"
    ).stdout
    assert "jane.doe" in out and "viewers" in out and "editors" in out


@pytest.mark.feature("APISelfSubjectReview")
def test_self_subject_review_returns_the_impersonated_uid_and_extra(kube: Kube) -> None:
    """Upstream's "should support SelfSubjectReview API operations": a review made while
    impersonating a user with a UID and an extra attribute returns exactly those, besides the
    user and its groups."""
    info = self_subject_review(
        impersonating(kube, "jane.doe", "developers", uid="uniq-id", extra=("languages", "python"))
    )
    assert info["username"] == "jane.doe"
    assert info["uid"] == "uniq-id"
    assert sorted(info["groups"]) == ["developers", "system:authenticated"]
    assert info["extra"] == {"languages": ["python"]}


@pytest.mark.feature("APISelfSubjectReview")
def test_every_served_authentication_version_lists_and_answers_self_subject_reviews(
    kube: Kube,
) -> None:
    """Upstream's "testing SSR in different API groups": each authentication.k8s.io version
    the apiserver serves lists selfsubjectreviews (kind SelfSubjectReview, verb create) in its
    discovery document and answers a review with the caller. Both 1.28 and 1.36 serve v1
    (v1alpha1 and v1beta1 only with runtime-config: beta APIs new after 1.24 are off by
    default)."""
    versions = served_versions(kube, GROUP)
    assert "v1" in versions, versions
    for version in versions:
        document = json.loads(kube.cluster.raw_get(f"/apis/{GROUP}/{version}"))
        listed = [r for r in document["resources"] if r["name"] == "selfsubjectreviews"]
        assert [(r["kind"], r["verbs"]) for r in listed] == [("SelfSubjectReview", ["create"])], (
            f"{GROUP}/{version}: {document['resources']}"
        )
        review = {"apiVersion": f"{GROUP}/{version}", "kind": "SelfSubjectReview"}
        answer = kube.kubectl(
            "create",
            "--raw",
            f"/apis/{GROUP}/{version}/selfsubjectreviews",
            "-f",
            "-",
            input_text=json.dumps(review),
        ).stdout
        assert json.loads(answer)["status"]["userInfo"]["username"] == "kubernetes-admin"


@pytest.mark.feature("LegacyServiceAccountTokenTracking")
def test_using_a_legacy_token_labels_its_secret_with_today(kube: Kube) -> None:
    """A Secret-based token used against the API gets the label
    kubernetes.io/legacy-token-last-used: <today, UTC>.

    The clean-up half (LegacyServiceAccountTokenCleanUp, label legacy-token-invalid-since) only
    marks auto-generated tokens unused for --legacy-service-account-token-clean-up-period
    (default a year); this test does not cover it.
    """
    kube.apply("sig_auth/legacy-token.yaml")
    secret = kube.wait_for(
        "Secret",
        lambda s: bool(s and (s.get("data") or {}).get("token")),
        name="legacy-token",
        timeout=60,
    )
    token = base64.b64decode(secret["data"]["token"]).decode()
    info = review_of_new_legacy_token(kube, token)
    assert info["username"] == f"system:serviceaccount:{kube.namespace}:legacy"
    today = datetime.now(UTC).strftime("%Y-%m-%d")
    labelled = kube.wait_for(
        "Secret",
        lambda s: (
            bool(s)
            and (s["metadata"].get("labels") or {}).get("kubernetes.io/legacy-token-last-used")
            == today
        ),
        name="legacy-token",
        timeout=60,
    )
    assert labelled["metadata"]["labels"]["kubernetes.io/legacy-token-last-used"] == today
