"""Reading Job state the same way on every release.

From 1.31 a Job first gets an interim FailureTarget or SuccessCriteriaMet condition and the final
Failed/Complete only once its pods are gone; waiting for the final condition keeps one test
valid on every release.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from kconformance.testing import condition

INDEX_LABEL = "batch.kubernetes.io/job-completion-index"


def finished(job: dict[str, Any] | None) -> bool:
    return bool(job) and any(
        c.get("type") in ("Complete", "Failed") and c.get("status") == "True"
        for c in job.get("status", {}).get("conditions") or []
    )


def final_condition(job: dict[str, Any]) -> dict[str, Any]:
    for type_ in ("Failed", "Complete"):
        cond = condition(job, type_)
        if cond and cond.get("status") == "True":
            return cond
    raise AssertionError(
        f"job {job['metadata']['name']} has no final condition: {job.get('status')}"
    )


def pods_per_index(pods: list[dict[str, Any]]) -> Counter[int]:
    return Counter(int(p["metadata"]["annotations"][INDEX_LABEL]) for p in pods)


def job_pods(kube: Any, job_name: str) -> list[dict[str, Any]]:
    return kube.list("Pod", label_selector=f"job-name={job_name}")


def only_pod_running(kube: Any, job_name: str, timeout: float = 90) -> str:
    """Wait until the Job's single pod runs; return its name."""
    pods = kube.wait_for(
        "Pod",
        lambda ps: len(ps) == 1 and ps[0]["status"].get("phase") == "Running",
        label_selector=f"job-name={job_name}",
        timeout=timeout,
        description=f"the one pod of Job {job_name} to run",
    )
    return str(pods[0]["metadata"]["name"])
