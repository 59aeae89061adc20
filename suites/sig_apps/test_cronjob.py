"""sig-apps: the scheduled-timestamp annotation on Jobs created by a CronJob (KEP-4026)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from kconformance.testing import Kube

ANNOTATION = "batch.kubernetes.io/cronjob-scheduled-timestamp"


@pytest.mark.feature("CronJobsScheduledAnnotation")
def test_job_carries_the_scheduled_time_in_the_cronjobs_zone(kube: Kube) -> None:
    """ "The CronJob controller now offers the timestamp when a job is expected to be running":
    `batch.kubernetes.io/cronjob-scheduled-timestamp`, RFC 3339, in the CronJob's timeZone.

    The scheduled minute is also encoded in the Job's name (<cronjob>-<minutes since epoch>), so
    the annotation must equal exactly that instant. Where the article differs: it names the gate
    CronJobCreationAnnotation; the real gate is CronJobsScheduledAnnotation.
    """
    kube.apply("sig_apps/cronjobs.yaml")
    jobs = kube.wait_for(
        "Job",
        lambda js: (
            {j["metadata"]["ownerReferences"][0]["name"] for j in js}
            >= {"every-minute", "every-minute-kolkata"}
        ),
        timeout=150,
        description="one Job from each CronJob",
    )
    zones = {"every-minute": UTC, "every-minute-kolkata": timezone(timedelta(hours=5, minutes=30))}
    suffixes = {"every-minute": "Z", "every-minute-kolkata": "+05:30"}
    for job in jobs:
        owner = job["metadata"]["ownerReferences"][0]["name"]
        annotations = job["metadata"].get("annotations") or {}
        assert ANNOTATION in annotations, f"Job {job['metadata']['name']} has no {ANNOTATION}"
        stamp = annotations[ANNOTATION]
        minutes = int(job["metadata"]["name"].rsplit("-", 1)[1])
        expected = datetime.fromtimestamp(minutes * 60, tz=zones[owner])
        assert stamp.endswith(suffixes[owner]), stamp
        assert datetime.fromisoformat(stamp.replace("Z", "+00:00")) == expected
        assert stamp == expected.isoformat().replace("+00:00", "Z")
