"""API clients acting as someone else: a bearer token, or the admin impersonating a user."""

from __future__ import annotations

import copy
from typing import Any

from kubernetes import client as k8s
from kubernetes.client.exceptions import ApiException
from tenacity import retry, retry_if_exception, retry_if_result, stop_after_delay, wait_fixed

from kconformance.testing import Kube

# The apiserver checks a legacy (Secret-based) token against its own informer's copy of the
# Secret (pkg/controller/serviceaccount/tokengetter.go: the lister first, the API only on a
# miss). That copy can lag the token controller's or the cleaner's write by a moment; for that
# long the apiserver answers with the Secret as it was. This is how long that is tolerated.
CACHE_LAG_SECONDS = 30


def as_token(kube: Kube, token: str) -> k8s.ApiClient:
    config = copy.copy(kube.cluster.api.configuration)
    config.cert_file = None
    config.key_file = None
    config.api_key = {"authorization": f"Bearer {token}"}
    return k8s.ApiClient(config)


def impersonating(
    kube: Kube, user: str, group: str, uid: str | None = None, extra: tuple[str, str] | None = None
) -> k8s.ApiClient:
    """The admin acting as ``user`` in ``group``, with ``uid`` and one ``extra`` (key, value) if
    given (the client sends one value per header, so one group and one extra value; kubectl
    --as-group covers several groups)."""
    api = k8s.ApiClient(kube.cluster.api.configuration)
    api.set_default_header("Impersonate-User", user)
    api.set_default_header("Impersonate-Group", group)
    if uid:
        api.set_default_header("Impersonate-Uid", uid)
    if extra:
        key, value = extra
        api.set_default_header(f"Impersonate-Extra-{key}", value)
    return api


def self_subject_review(api: k8s.ApiClient) -> dict[str, Any]:
    review = k8s.AuthenticationV1Api(api).create_self_subject_review(
        {"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"}
    )
    return api.sanitize_for_serialization(review)["status"]["userInfo"]


def _unauthorized(error: BaseException) -> bool:
    return isinstance(error, ApiException) and error.status == 401


def review_of_new_legacy_token(kube: Kube, token: str) -> dict[str, Any]:
    """The review of a legacy token the token controller has just written. A 401 is retried
    for CACHE_LAG_SECONDS: until the apiserver's Secret cache holds the token, it compares the
    token with the empty Secret the manifest created."""
    return retry(
        retry=retry_if_exception(_unauthorized),
        wait=wait_fixed(0.5),
        stop=stop_after_delay(CACHE_LAG_SECONDS),
        reraise=True,
    )(self_subject_review)(as_token(kube, token))


def wait_until_refused(kube: Kube, token: str) -> None:
    """Wait for the apiserver to refuse (401) a legacy token whose Secret was just labelled
    invalid. While its Secret cache still has the unlabelled copy it accepts the token; after
    CACHE_LAG_SECONDS of acceptance this fails, showing the last review."""

    def attempt() -> ApiException | dict[str, Any]:
        try:
            return self_subject_review(as_token(kube, token))
        except ApiException as error:
            if not _unauthorized(error):
                raise
            return error

    outcome = retry(
        retry=retry_if_result(lambda result: not isinstance(result, ApiException)),
        wait=wait_fixed(0.5),
        stop=stop_after_delay(CACHE_LAG_SECONDS),
        retry_error_callback=lambda state: state.outcome.result(),
    )(attempt)()
    assert isinstance(outcome, ApiException), (
        f"the invalidated token was still accepted after {CACHE_LAG_SECONDS} s: {outcome}"
    )
