"""What suites import: the helpers a conformance test needs, from one place."""

from __future__ import annotations

from kconformance.assertions import assert_matches, mismatches
from kconformance.client import Cluster
from kconformance.errors import ManifestError, WaitStopped, WaitTimeout
from kconformance.manifests import ApiRejection
from kconformance.waits import (
    TERMINAL,
    condition,
    failed_job,
    failed_pod,
    has_condition,
    stuck_container,
    wait_for,
)
from kconformance.workspace import Kube

__all__ = [
    "ApiRejection",
    "Cluster",
    "Kube",
    "ManifestError",
    "TERMINAL",
    "WaitStopped",
    "WaitTimeout",
    "assert_matches",
    "condition",
    "failed_job",
    "failed_pod",
    "has_condition",
    "mismatches",
    "stuck_container",
    "wait_for",
]
