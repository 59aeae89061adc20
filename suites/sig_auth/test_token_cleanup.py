"""sig-auth: clean-up of unused legacy ServiceAccount tokens (KEP-2799, LegacyServiceAccountTokenCleanUp).

What is shortened, and why the behaviour under test is unchanged
----------------------------------------------------------------
The cleaner (pkg/controller/serviceaccount/legacy_serviceaccount_token_cleaner.go, same code path
in 1.28 and 1.36) runs ``evaluateSATokens`` once when kube-controller-manager starts and then
every 24 hours (``DefaultCleanerSyncInterval``, not configurable). A run does nothing until
``since + 1 day + period`` has passed, where ``since`` is the date in ConfigMap
kube-system/kube-apiserver-legacy-service-account-token-tracking (the day the apiserver began
recording token use) and ``period`` is ``--legacy-service-account-token-clean-up-period``
(default one year). A token is a candidate when it is listed in its ServiceAccount's
``.secrets``, mounted by no pod, created more than ``period`` ago, and not used on or after the
date ``now - period``.

Three things are shortened, each only in time:

1. ``period`` is one second (the profile's controller_manager_args, from the catalog).
   kube-controller-manager refuses only a period <= 0 (``NewLegacySATokenCleaner``); its
   options' ``Validate()`` checks nothing. Every comparison keeps its form.
2. The ConfigMap's ``since`` date is moved back one day, as if the cluster had been tracking
   since yesterday; the apiserver's tracking controller keeps any well-formed date. The test
   puts the original date back afterwards.
3. The daily sync is triggered by restarting kube-controller-manager's static-pod container;
   the kubelet starts it again, and the cleaner evaluates at start exactly as it does daily.

From 1.29 the cleaner first labels a candidate ``kubernetes.io/legacy-token-invalid-since:
<today>`` and deletes it only once that date is before ``now - period`` - at the earliest the
next day. The test moves that label's date back one day (what one day of waiting would give)
before the second restart. Nothing else is touched: the labels the controller and the
apiserver write, the deletion and the refusal are theirs.

Where the article differs: it says 1.28 "will purge unused auto-generated tokens ... unused after
one year by default" and lists the gate as beta, default true; in 1.28 the gate is alpha
(default off) and deletes directly; invalidation first, then deletion, is 1.29+.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import pytest

from kconformance.catalog import release_key
from kconformance.testing import Kube
from suites.nodes import control_plane, restart_static_pod_container
from suites.sig_auth.clients import review_of_new_legacy_token, wait_until_refused

TRACKING = "kube-apiserver-legacy-service-account-token-tracking"
LAST_USED = "kubernetes.io/legacy-token-last-used"
INVALID_SINCE = "kubernetes.io/legacy-token-invalid-since"


def _labels(secret: dict | None) -> dict[str, str]:
    return dict((secret or {}).get("metadata", {}).get("labels") or {})


def _today() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%d")


def _day_before(day: str) -> str:
    return (date.fromisoformat(day) - timedelta(days=1)).isoformat()


@pytest.fixture
def tracking_since_yesterday(kube: Kube) -> Iterator[str]:
    """Move the tracking start date back to yesterday (UTC) for the test, then restore it."""
    core = kube.cluster.core
    original = core.read_namespaced_config_map(TRACKING, "kube-system").data["since"]
    moved = min(original, _day_before(_today()))
    core.patch_namespaced_config_map(TRACKING, "kube-system", {"data": {"since": moved}})
    yield moved
    core.patch_namespaced_config_map(TRACKING, "kube-system", {"data": {"since": original}})


def _token(kube: Kube, name: str) -> str:
    secret = kube.wait_for(
        "Secret",
        lambda s: bool(s and (s.get("data") or {}).get("token")),
        name=name,
        timeout=60,
        description=f"the token controller to fill Secret {name}",
    )
    return base64.b64decode(secret["data"]["token"]).decode()


def _restart_controller_manager(kube: Kube) -> None:
    restart_static_pod_container(control_plane(kube), "kube-controller-manager")


@pytest.mark.kind_nodes
@pytest.mark.feature("LegacyServiceAccountTokenCleanUp")
def test_unused_legacy_token_is_cleaned_up_and_a_used_one_kept(
    kube: Kube, tracking_since_yesterday: str
) -> None:
    """An auto-generated legacy token unused for the clean-up period is removed; one used
    today is kept. 1.28: the unused Secret is deleted at the first run. 1.29+: the first run
    labels it ``kubernetes.io/legacy-token-invalid-since: <today>`` and the apiserver refuses
    it (401); a later run, once that date is older than ``now - period``, deletes it. A refused
    token counts as used (the apiserver still writes its last-used date), so it is kept."""
    kube.apply("sig_auth/legacy-token-cleanup.yaml")
    tokens = {name: _token(kube, name) for name in ("unused-token", "used-token", "refused-token")}
    info = review_of_new_legacy_token(kube, tokens["used-token"])
    assert info["username"] == f"system:serviceaccount:{kube.namespace}:legacy-cleanup"
    today = _today()
    kube.wait_for(
        "Secret",
        lambda s: _labels(s).get(LAST_USED) == today,
        name="used-token",
        timeout=60,
        description=f"used-token to carry {LAST_USED}={today}",
    )

    _restart_controller_manager(kube)

    if release_key(kube.release) < (1, 29):
        kube.wait_deleted("Secret", "unused-token", timeout=180)
        kube.wait_deleted("Secret", "refused-token", timeout=30)
        kept = kube.get("Secret", "used-token")
        assert kept is not None and INVALID_SINCE not in _labels(kept), kept
        return

    for name in ("unused-token", "refused-token"):
        marked = kube.wait_for(
            "Secret",
            lambda s: INVALID_SINCE in _labels(s),
            name=name,
            timeout=180,
            description=f"{name} to be labelled {INVALID_SINCE}",
        )
        assert _labels(marked)[INVALID_SINCE] == today
    kept = kube.get("Secret", "used-token")
    assert kept is not None and INVALID_SINCE not in _labels(kept), kept

    wait_until_refused(kube, tokens["refused-token"])
    kube.wait_for(
        "Secret",
        lambda s: _labels(s).get(LAST_USED) == today,
        name="refused-token",
        timeout=60,
        description=f"the refused token's Secret to carry {LAST_USED}={today}",
    )

    kube.cluster.core.patch_namespaced_secret(
        "unused-token",
        kube.namespace,
        {"metadata": {"labels": {INVALID_SINCE: _day_before(today)}}},
    )
    _restart_controller_manager(kube)
    kube.wait_deleted("Secret", "unused-token", timeout=180)
    for name in ("used-token", "refused-token"):
        assert kube.get("Secret", name) is not None, f"{name} was deleted"
