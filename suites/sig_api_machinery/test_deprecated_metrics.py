"""sig-api-machinery: the apiserver metrics the 1.28 article lists under "Other changes" (things
that "will stop working soon"), read from the apiserver's /metrics.

A deprecated metric keeps being served for one release with "(Deprecated since X)" in its HELP
text, is hidden from the next one on (k8s.io/component-base metrics: shown again only with
--show-hidden-metrics-for-version), and removed later. These are metric definitions of the
release: no gate or profile changes them, so ``--profile baseline`` passes too.
"""

from __future__ import annotations

import pytest

from kconformance.catalog import release_key
from kconformance.metrics import parse_exposition, wait_until
from kconformance.testing import Kube

OLD_SIZE = "apiserver_storage_db_total_size_in_bytes"
NEW_SIZE = "apiserver_storage_size_bytes"
OLD_SEATS = "apiserver_flowcontrol_request_concurrency_in_use"
NEW_SEATS = "apiserver_flowcontrol_current_executing_seats"


@pytest.mark.feature("ApiserverStorageDbTotalSizeDeprecated")
def test_storage_db_size_metric_is_deprecated_then_hidden(kube: Kube) -> None:
    """ "apiserver_storage_db_total_size_in_bytes ➜ apiserver_storage_size_bytes": 1.28 serves
    the old metric with HELP "[ALPHA] (Deprecated since 1.28.0) Total size of the storage
    database file physically allocated in bytes." beside the new apiserver_storage_size_bytes
    ([ALPHA] in 1.28 and 1.29, [STABLE] from 1.30: k8s.io/apiserver's etcd3 metrics.go); from
    1.29 the old one is hidden (1.36 still defines it with DeprecatedVersion 1.28.0).

    Both gauges have no series (and so no HELP line) until the apiserver's first poll of the
    database size (--etcd-db-metric-poll-interval, 30 s by default) after it started: on a
    cluster that has just been created the test reads again until the new gauge is there."""
    metrics = wait_until(
        lambda: parse_exposition(kube.cluster.raw_get("/metrics")),
        lambda exposition: exposition.help(NEW_SIZE) is not None,
        timeout=120,
        interval=2,
        description=f"/metrics to serve {NEW_SIZE} (the first poll of the database size)",
    )
    level = "ALPHA" if release_key(kube.release) < (1, 30) else "STABLE"
    assert metrics.help(NEW_SIZE) == (
        f"[{level}] Size of the storage database file physically allocated in bytes."
    )
    assert metrics.total(NEW_SIZE) > 0
    if release_key(kube.release) < (1, 29):
        assert metrics.help(OLD_SIZE) == (
            "[ALPHA] (Deprecated since 1.28.0) Total size of the storage database file "
            "physically allocated in bytes."
        )
        assert metrics.total(OLD_SIZE) > 0
    else:
        assert OLD_SIZE not in metrics.names()


@pytest.mark.feature("FlowcontrolCurrentExecutingSeats")
def test_current_executing_seats_duplicates_request_concurrency_in_use(kube: Kube) -> None:
    """ "apiserver_flowcontrol_request_concurrency_in_use ➜
    apiserver_flowcontrol_current_executing_seats": 1.28 serves both (the new one [BETA], the
    old one [ALPHA], not yet marked deprecated: its DeprecatedVersion is 1.31.0), per
    priority_level and flow_schema. Every release 1.28-1.36 defines the old one with
    DeprecatedVersion 1.31.0: served unmarked through 1.30, served as "[ALPHA] (Deprecated since
    1.31.0) Concurrency ..." in 1.31, hidden from 1.32 - no longer served."""
    metrics = parse_exposition(kube.cluster.raw_get("/metrics"))
    new_help = metrics.help(NEW_SEATS)
    assert new_help is not None and new_help.startswith("[BETA] Concurrency (number of seats)")
    assert metrics.values(NEW_SEATS, priority_level="exempt"), "no exempt series"
    release = release_key(kube.release)
    if release < (1, 32):
        marked = "(Deprecated since 1.31.0) " if release == (1, 31) else ""
        old_help = metrics.help(OLD_SEATS)
        assert old_help is not None and old_help.startswith(f"[ALPHA] {marked}Concurrency")
        assert metrics.values(OLD_SEATS, priority_level="exempt")
    else:
        assert OLD_SEATS not in metrics.names()
