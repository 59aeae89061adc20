"""API clients acting as someone else: a bearer token, or the admin impersonating a user."""

from __future__ import annotations

import copy
from typing import Any

from kubernetes import client as k8s

from kconformance.testing import Kube


def as_token(kube: Kube, token: str) -> k8s.ApiClient:
    config = copy.copy(kube.cluster.api.configuration)
    config.cert_file = None
    config.key_file = None
    config.api_key = {"authorization": f"Bearer {token}"}
    return k8s.ApiClient(config)


def impersonating(kube: Kube, user: str, group: str) -> k8s.ApiClient:
    """The admin acting as ``user`` in ``group`` (the client sends one value per header, so
    one group; kubectl --as-group covers several)."""
    api = k8s.ApiClient(kube.cluster.api.configuration)
    api.set_default_header("Impersonate-User", user)
    api.set_default_header("Impersonate-Group", group)
    return api


def self_subject_review(api: k8s.ApiClient) -> dict[str, Any]:
    review = k8s.AuthenticationV1Api(api).create_self_subject_review(
        {"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"}
    )
    return api.sanitize_for_serialization(review)["status"]["userInfo"]
