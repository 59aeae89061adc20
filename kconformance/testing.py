"""What suites import: the helpers a conformance test needs, from one place."""

from __future__ import annotations

from kconformance.assertions import assert_matches, mismatches
from kconformance.client import Cluster
from kconformance.errors import ManifestError, WaitTimeout
from kconformance.manifests import ApiRejection
from kconformance.waits import condition, has_condition, wait_for
from kconformance.workspace import Kube

__all__ = [
    "ApiRejection",
    "Cluster",
    "Kube",
    "ManifestError",
    "WaitTimeout",
    "assert_matches",
    "condition",
    "has_condition",
    "mismatches",
    "wait_for",
]
