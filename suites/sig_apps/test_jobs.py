"""sig-apps: Job failure handling and indexing from the Kubernetes 1.28 release.

Each test quotes the claim it checks. Jobs are waited on until their final condition, so the
same assertions hold on 1.28 (alpha gates on) and on releases where the features are GA.
"""

from __future__ import annotations

import pytest

from kconformance.testing import ApiRejection, Kube, assert_matches, has_condition
from suites.sig_apps.jobs import (
    INDEX_LABEL,
    final_condition,
    finished,
    job_pods,
    only_pod_running,
    pods_per_index,
)


@pytest.mark.feature("JobBackoffLimitPerIndex")
def test_backoff_limit_per_index_retries_each_failing_index_once(kube: Kube) -> None:
    """ "Each index can fail up to backoffLimitPerIndex times, before being considered as failed."

    With backoffLimitPerIndex 1, indexes 1 and 3 fail twice each (one retry), 0 and 2 complete,
    and the Job ends Failed with reason FailedIndexes (the reason string of the 1.28 job
    controller; exported as batchv1.JobReasonFailedIndexes from 1.29).
    """
    kube.apply(
        "sig_apps/job-backoff-limit-per-index.yaml", name="per-index", completions=4, failing="1|3"
    )
    job = kube.wait_for("Job", finished, name="per-index", timeout=180)

    assert_matches(final_condition(job), {"type": "Failed", "reason": "FailedIndexes"})
    assert_matches(
        job["status"],
        {"failedIndexes": "1,3", "completedIndexes": "0,2", "failed": 4, "succeeded": 2},
    )
    assert pods_per_index(job_pods(kube, "per-index")) == {0: 1, 1: 2, 2: 1, 3: 2}


@pytest.mark.feature("JobBackoffLimitPerIndex")
def test_exceeding_max_failed_indexes_fails_the_job_early(kube: Kube) -> None:
    """ "You can also set a limit on indexes failed with the maxFailedIndexes field" - exceeding it
    fails the Job with reason MaxFailedIndexesExceeded and the controller terminates the pods
    still running (here indexes 1-3, which would otherwise run forever).

    Observed: status.failed counts the three pods the controller terminated too (4, not 1),
    while failedIndexes names only index 0.
    """
    kube.apply("sig_apps/job-max-failed-indexes.yaml")

    def retried_without_failed_indexes(job: dict) -> str | None:
        """The controller writes failedIndexes with the first failure it counts; a second
        failure without it is the Job's own backoffLimit retrying index 0 (the feature off)."""
        status = job.get("status", {})
        if (status.get("failed") or 0) > 1 and not status.get("failedIndexes"):
            return f"index 0 retried, no failedIndexes: {status}"
        return None

    job = kube.wait_for(
        "Job",
        finished,
        name="max-failed-indexes",
        fail=retried_without_failed_indexes,
        timeout=300,
    )

    assert_matches(final_condition(job), {"type": "Failed", "reason": "MaxFailedIndexesExceeded"})
    assert_matches(job["status"], {"failedIndexes": "0", "failed": 4})
    kube.wait_for(
        "Pod",
        lambda pods: all(p["status"].get("phase") in ("Succeeded", "Failed") for p in pods),
        label_selector="job-name=max-failed-indexes",
        timeout=60,
        description="the remaining pods to be terminated",
    )
    job = kube.get("Job", "max-failed-indexes")
    assert not job["status"].get("active")


@pytest.mark.feature("JobBackoffLimitPerIndex")
def test_article_example_fails_with_failed_indexes(kube: Kube) -> None:
    """The article's Job (parallelism 10, completions 10, backoffLimitPerIndex 1, maxFailedIndexes
    10): "each index can fail up to one time".

    Where the article differs: "The moment 10 indexes fail, the whole Job gets marked as Failed"
    - the limit is only *exceeded* past 10 failed indexes, which 10 completions can never reach.
    The Job therefore runs every index to the end and fails with reason FailedIndexes, not
    MaxFailedIndexesExceeded. Indexes 0-4 fail here; 5-9 succeed.
    """
    kube.apply("sig_apps/job-backoff-limit-per-index-article.yaml")
    job = kube.wait_for("Job", finished, name="article-backoff-per-index", timeout=240)

    assert_matches(final_condition(job), {"type": "Failed", "reason": "FailedIndexes"})
    assert_matches(
        job["status"],
        {"failedIndexes": "0-4", "completedIndexes": "5-9", "failed": 10, "succeeded": 5},
    )
    per_index = pods_per_index(job_pods(kube, "article-backoff-per-index"))
    assert per_index == {i: (2 if i < 5 else 1) for i in range(10)}


FAILURE_COUNT = "batch.kubernetes.io/job-index-failure-count"


def _retried_more_than_once(job: dict) -> str | None:
    """Two failing indexes with backoffLimitPerIndex 1 fail 4 pods at most; more means the
    Job's own backoffLimit (6) is retrying them: a state the per-index limit never reaches."""
    failed = job.get("status", {}).get("failed") or 0
    return f"status.failed {failed}: retried beyond backoffLimitPerIndex 1" if failed > 4 else None


@pytest.mark.feature("JobBackoffLimitPerIndex")
def test_each_retry_of_an_index_carries_its_failure_count(kube: Kube) -> None:
    """The job controller records how often an index has failed in the annotation
    batch.kubernetes.io/job-index-failure-count of the index's next pod: "0" on the first pod,
    "1" on its replacement (upstream's e2e "should record the failure-count in the Pod annotation
    when using backoffLimitPerIndex"). Both indexes fail: failedIndexes "0,1", none completed."""
    kube.apply(
        "sig_apps/job-backoff-limit-per-index.yaml",
        name="failure-count",
        completions=2,
        failing="0|1",
    )

    def uncounted(pods: list[dict]) -> str | None:
        """The controller writes the annotation into each pod it creates: one without it
        never gets it."""
        bare = [
            p["metadata"]["name"]
            for p in pods
            if FAILURE_COUNT not in (p["metadata"].get("annotations") or {})
        ]
        return f"pods without {FAILURE_COUNT}: {bare}" if bare else None

    kube.wait_for(
        "Pod",
        lambda pods: len(pods) >= 2,
        label_selector="job-name=failure-count",
        fail=uncounted,
        timeout=180,
        description="the first pod of each index",
    )
    job = kube.wait_for(
        "Job", finished, name="failure-count", fail=_retried_more_than_once, timeout=300
    )

    assert_matches(final_condition(job), {"type": "Failed", "reason": "FailedIndexes"})
    assert_matches(job["status"], {"failedIndexes": "0,1", "failed": 4})
    assert not job["status"].get("completedIndexes") and not job["status"].get("succeeded")
    counts: dict[int, list[str | None]] = {}
    for pod in sorted(job_pods(kube, "failure-count"), key=_created):
        annotations = pod["metadata"].get("annotations") or {}
        counts.setdefault(int(annotations[INDEX_LABEL]), []).append(annotations.get(FAILURE_COUNT))
    assert counts == {0: ["0", "1"], 1: ["0", "1"]}


@pytest.mark.feature("JobBackoffLimitPerIndex")
def test_failindex_rule_fails_its_index_without_a_retry(kube: Kube) -> None:
    """podFailurePolicy's FailIndex action (added by KEP-3850): a failure matching the rule (exit
    code 42) fails its index at once although backoffLimitPerIndex 1 allows a retry; the other
    index completes, and the Job ends Failed with reason FailedIndexes (upstream's e2e "should
    mark indexes as failed when the FailIndex action is matched in podFailurePolicy")."""
    kube.apply("sig_apps/job-failindex.yaml")

    def index_retried(job: dict) -> str | None:
        failed = job.get("status", {}).get("failed") or 0
        return f"status.failed {failed}: index 1 was retried" if failed > 1 else None

    job = kube.wait_for("Job", finished, name="job-failindex", fail=index_retried, timeout=300)

    assert_matches(final_condition(job), {"type": "Failed", "reason": "FailedIndexes"})
    assert_matches(
        job["status"],
        {"failedIndexes": "1", "completedIndexes": "0", "failed": 1, "succeeded": 1},
    )
    assert pods_per_index(job_pods(kube, "job-failindex")) == {0: 1, 1: 1}


@pytest.mark.feature("JobBackoffLimitPerIndex")
def test_exceeding_max_failed_indexes_starts_no_further_index(kube: Kube) -> None:
    """At parallelism 1 (upstream's case), index 0 fails and maxFailedIndexes 0 fails the Job
    with reason MaxFailedIndexesExceeded before any other index is started: one pod in all,
    status.failed 1, failedIndexes "0", nothing succeeded."""
    kube.apply("sig_apps/job-max-failed-indexes-serial.yaml")
    name = "max-failed-indexes-serial"

    def went_on(job: dict) -> str | None:
        status = job.get("status", {})
        if (status.get("failed") or 0) > 1 or status.get("succeeded"):
            return f"the Job went on after index 0 failed: {status}"
        return None

    job = kube.wait_for("Job", finished, name=name, fail=went_on, timeout=300)

    assert_matches(final_condition(job), {"type": "Failed", "reason": "MaxFailedIndexesExceeded"})
    assert_matches(job["status"], {"failedIndexes": "0", "failed": 1})
    assert not job["status"].get("succeeded") and not job["status"].get("completedIndexes")
    assert pods_per_index(job_pods(kube, name)) == {0: 1}


def _created(pod: dict) -> tuple[str, str]:
    """Creation order; the name breaks a tie within one second."""
    return pod["metadata"]["creationTimestamp"], pod["metadata"]["name"]


@pytest.mark.feature(
    "JobBackoffLimitPerIndex",
    unprovable="the refusal is kube-apiserver validation; the proof keeps the gate on there",
)
def test_backoff_limit_per_index_requires_indexed_completion(kube: Kube) -> None:
    """backoffLimitPerIndex is "only for Indexed Jobs": the API refuses it on a NonIndexed Job
    with a field error on spec.backoffLimitPerIndex."""
    with pytest.raises(ApiRejection) as rejected:
        kube.apply("sig_apps/job-backoff-limit-per-index-nonindexed.yaml")
    assert rejected.value.code == 422
    assert "spec.backoffLimitPerIndex" in rejected.value.cause_fields()


@pytest.mark.feature("JobPodFailurePolicy")
def test_failjob_rule_fails_the_job_at_once(kube: Kube) -> None:
    """ "if a job exits with error code 42 we know it's a bug and this job should fail instead of
    being retried" - despite backoffLimit 6 no pod is retried, and the Job's Failed condition
    has reason PodFailurePolicy."""
    kube.apply("sig_apps/job-pod-failure-policy-failjob.yaml")
    job = kube.wait_for("Job", finished, name="job-pod-failure-policy-failjob", timeout=120)

    failed = final_condition(job)
    assert_matches(failed, {"type": "Failed", "reason": "PodFailurePolicy"})
    assert "exit code 42" in failed["message"] and "FailJob" in failed["message"]
    assert len(job_pods(kube, "job-pod-failure-policy-failjob")) <= 2  # parallelism 2, no retry
    assert not job["status"].get("succeeded")


@pytest.mark.feature("JobPodFailurePolicy")
def test_ignore_rule_on_an_exit_code_keeps_failures_out_of_the_backoff_limit(kube: Kube) -> None:
    """An Ignore rule on exit code 1 (upstream's e2e "should allow to use a pod failure policy to
    ignore failure matching on exit code"): each index's first pod exits 1, yet with backoffLimit
    0 the Job completes - the ignored failures are neither counted in status.failed nor held
    against the limit, and each index got a second pod."""
    kube.apply("sig_apps/job-pod-failure-policy-ignore-exit-code.yaml")
    job = kube.wait_for("Job", finished, name="job-ignore-exit-code", timeout=300)

    assert_matches(final_condition(job), {"type": "Complete"})
    assert_matches(job["status"], {"succeeded": 2, "completedIndexes": "0,1"})
    assert not job["status"].get("failed"), job["status"]
    assert pods_per_index(job_pods(kube, "job-ignore-exit-code")) == {0: 2, 1: 2}


@pytest.mark.feature("JobPodFailurePolicy")
def test_ignore_rule_does_not_count_an_evicted_pod(kube: Kube) -> None:
    """ "We ignore (action: Ignore) the cases where pods fail due to external disruptions ... The
    Pod will be retried without counting for the backoffLimit." With backoffLimit 0, a pod
    evicted through the Eviction API is replaced and status.failed stays 0."""
    kube.apply("sig_apps/job-pod-failure-policy-ignore.yaml")
    name = "job-pod-failure-policy-ignore"
    first = only_pod_running(kube, name)
    kube.cluster.core.create_namespaced_pod_eviction(
        first, kube.namespace, {"metadata": {"name": first, "namespace": kube.namespace}}
    )
    kube.wait_for(
        "Pod",
        lambda ps: any(
            p["metadata"]["name"] != first and p["status"].get("phase") == "Running" for p in ps
        ),
        label_selector=f"job-name={name}",
        timeout=120,
        description="a replacement pod to run",
    )
    job = kube.get("Job", name)
    assert not job["status"].get("failed"), job["status"]
    assert not has_condition(job, "Failed")


@pytest.mark.feature(
    "JobPodFailurePolicy",
    unprovable="counted failures use up backoffLimit with or without the feature",
)
@pytest.mark.parametrize("exit_code", [3, 5], ids=["count-rule", "no-rule-matches"])
def test_counted_failures_use_up_the_backoff_limit(kube: Kube, exit_code: int) -> None:
    """A Count rule (exit code 3), like an exit code no rule matches (5), counts toward
    backoffLimit: with backoffLimit 1 the second failure fails the Job, reason
    BackoffLimitExceeded.

    Counting is also what a Job without the feature does; what ties this test to the feature is
    that the API server stores spec.podFailurePolicy (kube.apply refuses an object stored
    without a field the manifest set, which is what happens with the gate off)."""
    name = f"count-{exit_code}"
    kube.apply("sig_apps/job-pod-failure-policy-count.yaml", name=name, exit_code=exit_code)
    job = kube.wait_for("Job", finished, name=name, timeout=300)

    assert_matches(final_condition(job), {"type": "Failed", "reason": "BackoffLimitExceeded"})
    assert job["status"]["failed"] == 2


# How long a deleted replacement-policy pod stays terminating (it traps SIGTERM, so the kubelet
# kills it only when the grace period ends). Failed: the window in which the Job must report the
# terminating pod and must not replace it - three times the job controller's 10 s failure back-off.
# TerminatingOrFailed: the replacement comes after that back-off (more under load) and must find
# the old pod still terminating; the test force-deletes the old pod once it is done.
FAILED_GRACE = 30
TERMINATING_GRACE = 300


def _start(kube: Kube, policy: str, grace: int) -> tuple[str, str]:
    name = f"replace-{policy.lower()}"
    kube.apply("sig_apps/job-pod-replacement-policy.yaml", name=name, policy=policy, grace=grace)
    first = only_pod_running(kube, name)
    kube.delete("Pod", first)
    return name, first


def _status(job: dict | None) -> dict:
    return (job or {}).get("status") or {}


@pytest.mark.feature("JobPodReplacementPolicy")
def test_replacement_policy_failed_waits_for_termination(kube: Kube) -> None:
    """With podReplacementPolicy: Failed, a deleted pod that ignores SIGTERM is reported in
    status.terminating (not yet failed) and is not replaced until it has terminated: phase
    Failed, which the kubelet writes when the grace period ends. The pod object may outlive that
    (the kubelet removes it after its final status write), so the replacement may appear next to
    a Failed old pod, never next to a running one (upstream's e2e: terminating 1, active 0,
    failed 0, then active 1, failed 1, terminating 0).

    Where the article differs: it names the default "FailedOrTerminating"; the API's enum is
    TerminatingOrFailed (batch/v1 PodReplacementPolicy).
    """
    name, first = _start(kube, "Failed", FAILED_GRACE)
    job = kube.wait_for(
        "Job",
        lambda j: _status(j).get("terminating") == 1,
        name=name,
        fail=lambda j: (
            "the old pod is gone (status.failed set, status.terminating 0) and "
            "status.terminating was never 1"
            if _status(j).get("failed") and not _status(j).get("terminating")
            else None
        ),
        timeout=FAILED_GRACE + 30,
        description="status.terminating to be 1",
    )
    assert not job["status"].get("active")
    assert not job["status"].get("failed")

    def old_pod_running(pods: list[dict]) -> bool:
        """The deleted pod still exists and has not reached a terminal phase."""
        return any(
            p["metadata"]["name"] == first
            and p["status"].get("phase") not in ("Failed", "Succeeded")
            for p in pods
        )

    def replacements(pods: list[dict]) -> list[str]:
        return [p["metadata"]["name"] for p in pods if p["metadata"]["name"] != first]

    def early_replacement(pods: list[dict]) -> str | None:
        if old_pod_running(pods) and replacements(pods):
            return "a replacement pod was created while the old one was still terminating"
        return None

    kube.wait_for(
        "Pod",
        lambda pods: replacements(pods) and not old_pod_running(pods),
        label_selector=f"job-name={name}",
        fail=early_replacement,
        timeout=FAILED_GRACE + 120,
        description="the old pod to terminate (gone or phase Failed) and a replacement to appear",
    )
    job = kube.wait_for(
        "Job",
        lambda j: _status(j).get("active") == 1 and not _status(j).get("terminating"),
        name=name,
        timeout=60,
        description="status.active 1 (the replacement) and status.terminating 0",
    )
    assert job["status"].get("failed") == 1


@pytest.mark.feature("JobPodReplacementPolicy")
def test_replacement_policy_terminating_or_failed_replaces_at_once(kube: Kube) -> None:
    """With TerminatingOrFailed (the default), the replacement is created while the deleted pod
    is still terminating - as before the feature - and, new with it, the Job reports the
    terminating pod in status.terminating next to the active replacement; the deleted pod
    counts as failed at once (status.failed 1)."""
    name, first = _start(kube, "TerminatingOrFailed", TERMINATING_GRACE)
    kube.defer(
        lambda: kube.delete("Pod", first, grace_period_seconds=0),
        f"force-delete the terminating pod {first}",
    )
    # The replacement comes after the failure back-off; one status update may count the
    # terminating pod before a later one counts the replacement. The old pod keeps
    # terminating for TERMINATING_GRACE seconds: terminating 0 after failed 1 means it is
    # gone, and then terminating 1 next to active 1 can no longer be reported.
    job = kube.wait_for(
        "Job",
        lambda j: (
            _status(j).get("terminating") == 1
            and _status(j).get("active") == 1
            and _status(j).get("failed") == 1
        ),
        name=name,
        fail=lambda j: (
            "the old pod is gone (status.failed set, status.terminating 0) and "
            "status.terminating was never 1 next to active 1"
            if _status(j).get("failed") and not _status(j).get("terminating")
            else None
        ),
        timeout=120,
        description="status terminating 1 (the old pod), active 1 (its replacement), failed 1",
    )
    assert_matches(job["status"], {"terminating": 1, "active": 1, "failed": 1})
    pods = {p["metadata"]["name"]: p for p in job_pods(kube, name)}
    assert first in pods, f"the old pod {first} is gone although its grace period is not over"
    assert pods[first]["metadata"].get("deletionTimestamp"), "the old pod should be terminating"
    replacements = [p for n, p in pods.items() if n != first]
    assert len(replacements) == 1, sorted(pods)
    assert not replacements[0]["metadata"].get("deletionTimestamp")


@pytest.mark.feature("PodIndexLabel")
def test_indexed_job_pods_carry_their_index_label(kube: Kube) -> None:
    """ "For jobs: batch.kubernetes.io/job-completion-index" - as a label equal to the index."""
    kube.apply("sig_apps/indexed-job.yaml")
    pods = kube.wait_for(
        "Pod", lambda ps: len(ps) == 3, label_selector="job-name=indexed", timeout=60
    )
    for pod in pods:
        annotation = pod["metadata"]["annotations"][INDEX_LABEL]
        assert pod["metadata"]["labels"].get(INDEX_LABEL) == annotation
    assert sorted(p["metadata"]["labels"][INDEX_LABEL] for p in pods) == ["0", "1", "2"]


@pytest.mark.feature("PodIndexLabel")
def test_statefulset_pods_carry_their_ordinal_label(kube: Kube) -> None:
    """ "For stateful sets: apps.kubernetes.io/pod-index" - equal to the pod's ordinal."""
    kube.apply("sig_apps/statefulset.yaml")
    pods = kube.wait_for("Pod", lambda ps: len(ps) == 2, label_selector="app=web", timeout=60)
    labels = {
        p["metadata"]["name"]: p["metadata"]["labels"].get("apps.kubernetes.io/pod-index")
        for p in pods
    }
    assert labels == {"web-0": "0", "web-1": "1"}


@pytest.mark.feature("SidecarContainers")
def test_job_with_sidecar_completes_when_main_container_exits(kube: Kube) -> None:
    """ "The sidecar container will be terminated once all regular containers have completed.
    This ensures that sidecar containers do not prevent jobs from completing." The pod reaches
    Succeeded with the sidecar terminated, and the Job is Complete.

    With the feature off in the kubelet only, the kubelet refuses the pod at admission (reason
    InitContainerRestartPolicyForbidden, lifecycle/predicate.go of 1.28), the pod is Failed and
    the Job (backoffLimit 0) Failed: the wait stops on that at once, so its budget can cover a
    loaded machine (300 s; a pod started 60 s late at load 115)."""
    kube.apply("sig_apps/job-with-sidecar.yaml")
    job = kube.wait_for("Job", finished, name="with-sidecar", timeout=300)
    assert_matches(final_condition(job), {"type": "Complete"})
    (pod,) = job_pods(kube, "with-sidecar")
    assert pod["status"]["phase"] == "Succeeded"
    (sidecar,) = pod["status"]["initContainerStatuses"]
    assert sidecar["name"] == "log-shipper"
    # stopped by the kubelet with SIGTERM, which the sidecar answers with exit 0 (upstream's
    # node e2e: sidecars stopped at pod completion report exitCode 0, reason Completed)
    assert_matches(sidecar["state"].get("terminated"), {"exitCode": 0, "reason": "Completed"})
