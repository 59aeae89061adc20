"""Prometheus text parsing as the suites use it: HELP text with stability levels, summed series."""

from __future__ import annotations

import pytest

from kconformance.errors import WaitTimeout
from kconformance.metrics import parse_exposition, wait_until

TEXT = """\
# HELP kubernetes_feature_enabled [BETA] This metric records the data about the stage and enablement of a k8s feature.
# TYPE kubernetes_feature_enabled gauge
kubernetes_feature_enabled{name="KMSv1",stage="DEPRECATED"} 1
kubernetes_feature_enabled{name="WatchList",stage="ALPHA"} 0
# HELP apiserver_storage_db_total_size_in_bytes [ALPHA] (Deprecated since 1.28.0) Total size of the storage database file physically allocated in bytes.
apiserver_storage_db_total_size_in_bytes{endpoint="https://127.0.0.1:2379"} 2.4576e+06
kubeproxy_sync_partial_proxy_rules_duration_seconds_count{ip_family="IPv4"} 7
kubeproxy_sync_partial_proxy_rules_duration_seconds_count{ip_family="IPv6"} 3
kubeproxy_sync_full_proxy_rules_duration_seconds_count 2
"""


def test_help_keeps_stability_and_deprecation_prefixes():
    metrics = parse_exposition(TEXT)
    assert metrics.help("kubernetes_feature_enabled").startswith("[BETA] This metric")
    assert metrics.help("apiserver_storage_db_total_size_in_bytes").startswith(
        "[ALPHA] (Deprecated since 1.28.0) Total size"
    )
    assert metrics.help("absent") is None


def test_values_filter_by_labels_and_total_sums_series():
    metrics = parse_exposition(TEXT)
    assert metrics.values("kubernetes_feature_enabled", name="KMSv1", stage="DEPRECATED") == [1.0]
    assert metrics.total("kubeproxy_sync_partial_proxy_rules_duration_seconds_count") == 10
    assert metrics.total("kubeproxy_sync_full_proxy_rules_duration_seconds_count") == 2
    assert metrics.total("apiserver_storage_db_total_size_in_bytes") == 2457600
    assert "kubeproxy_sync_full_proxy_rules_duration_seconds_count" in metrics.names()


def test_wait_until_rereads_until_the_predicate_holds():
    reads = iter([1, 2, 3])
    assert wait_until(lambda: next(reads), lambda v: v == 3, interval=0) == 3


def test_wait_until_names_what_it_waited_for():
    with pytest.raises(WaitTimeout, match="the partial count to grow"):
        wait_until(lambda: 0, bool, timeout=0, interval=0, description="the partial count to grow")
