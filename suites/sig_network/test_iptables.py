"""sig-network: kube-proxy's minimal iptables-restore (KEP-3453) and the end of the kubelet's
kube-proxy chains (KEP-3178), read on the node itself.

Both gates are GA and locked on in 1.28 and 1.29 and gone from 1.30 (kube_features.go of
v1.28.15 and v1.29.14): there is no release or profile here where the behaviour is off, so
``--profile baseline`` passes too.
"""

from __future__ import annotations

import json

import pytest

from kconformance.metrics import Exposition, parse_exposition, wait_until
from kconformance.testing import Kube
from suites.nodes import control_plane, node_exec

FULL = "kubeproxy_sync_full_proxy_rules_duration_seconds_count"
PARTIAL = "kubeproxy_sync_partial_proxy_rules_duration_seconds_count"
PARTIAL_FAILURES = "kubeproxy_sync_proxy_rules_iptables_partial_restore_failures_total"
RESTORE_FAILURES = "kubeproxy_sync_proxy_rules_iptables_restore_failures_total"
RULES_TOTAL = "kubeproxy_sync_proxy_rules_iptables_total"
RULES_LAST = "kubeproxy_sync_proxy_rules_iptables_last"


def _proxy_metrics(node: str) -> Exposition:
    """kube-proxy's /metrics (port 10249, bound on the node; kube-proxy runs in its network)."""
    return parse_exposition(node_exec(node, "curl", "-sS", "http://127.0.0.1:10249/metrics"))


def _nat(node: str) -> str:
    return node_exec(node, "iptables-save", "-t", "nat")


def _endpoints(*ips: str) -> str:
    return json.dumps([{"addresses": [ip], "conditions": {"ready": True}} for ip in ips])


@pytest.mark.kind_nodes
@pytest.mark.feature("MinimizeIPTablesRestore")
def test_endpoint_change_is_a_partial_iptables_restore(kube: Kube) -> None:
    """ "The calls to iptables-restore won't need to include the rules that haven't changed":
    adding an endpoint to one Service makes kube-proxy sync with a partial restore - its
    partial-sync histogram count grows, its full-sync count does not, no partial restore
    fails - and the last restore wrote fewer nat rules than kube-proxy owns (the unchanged
    Services' rules were left out). kube-proxy still does a full sync at start, on node label
    changes and (1.36) hourly; none happens in the few seconds this test watches."""
    node = control_plane(kube)
    name = "partial"
    service = f"{kube.namespace}/{name}:http"
    kube.apply(
        "sig_network/selectorless-service.yaml", name=name, endpoints=_endpoints("192.0.2.10")
    )
    wait_until(
        lambda: _nat(node),
        lambda nat: f'"{service} -> 192.0.2.10:80"' in nat,
        timeout=60,
        description=f"kube-proxy to program {service} -> 192.0.2.10",
    )
    before = _proxy_metrics(node)
    assert before.total(FULL) >= 1, "kube-proxy reports no full sync since it started"

    kube.apply(
        "sig_network/selectorless-service.yaml",
        name=name,
        endpoints=_endpoints("192.0.2.10", "192.0.2.11"),
    )
    wait_until(
        lambda: _nat(node),
        lambda nat: f'"{service} -> 192.0.2.11:80"' in nat,
        timeout=60,
        description=f"kube-proxy to program {service} -> 192.0.2.11",
    )
    after = wait_until(
        lambda: _proxy_metrics(node),
        lambda m: m.total(PARTIAL) > before.total(PARTIAL),
        timeout=30,
        description=f"{PARTIAL} to grow",
    )
    assert after.total(FULL) == before.total(FULL), (before.total(FULL), after.total(FULL))
    assert after.total(PARTIAL_FAILURES) == before.total(PARTIAL_FAILURES) == 0
    assert after.total(RESTORE_FAILURES) == 0
    assert 0 < after.total(RULES_LAST, table="nat") < after.total(RULES_TOTAL, table="nat")


@pytest.mark.kind_nodes
@pytest.mark.feature("IPTablesOwnershipCleanup")
def test_kubelet_creates_only_its_own_iptables_chains(kube: Kube) -> None:
    """ "Some of these chains are not needed and are being removed" (KEP-3178): the kubelet
    (kubelet_network_linux.go) now creates only KUBE-IPTABLES-HINT (mangle), KUBE-FIREWALL
    (filter, one rule dropping non-local traffic to 127.0.0.0/8) and its canary
    KUBE-KUBELET-CANARY (mangle, nat, filter). No component creates KUBE-MARK-DROP any more,
    and KUBE-FIREWALL no longer drops packets marked 0x8000.

    KUBE-MARK-MASQ and KUBE-POSTROUTING stay in nat: kube-proxy (iptables mode) creates them
    for itself, with the same rules the kubelet used to write, so iptables-save cannot tell
    that the kubelet stopped creating them."""
    node = control_plane(kube)
    chains = {
        table: {
            line[1:].split()[0]
            for line in node_exec(node, "iptables-save", "-t", table).splitlines()
            if line.startswith(":")
        }
        for table in ("mangle", "nat", "filter")
    }
    assert {"KUBE-IPTABLES-HINT", "KUBE-KUBELET-CANARY"} <= chains["mangle"]
    assert {"KUBE-FIREWALL", "KUBE-KUBELET-CANARY"} <= chains["filter"]
    assert "KUBE-KUBELET-CANARY" in chains["nat"]
    for table, names in chains.items():
        assert "KUBE-MARK-DROP" not in names, f"KUBE-MARK-DROP in {table}"
    assert {"KUBE-MARK-MASQ", "KUBE-POSTROUTING", "KUBE-PROXY-CANARY"} <= chains["nat"]

    firewall = [
        line
        for line in node_exec(node, "iptables-save", "-t", "filter").splitlines()
        if line.startswith("-A KUBE-FIREWALL ")
    ]
    assert len(firewall) == 1, firewall
    assert '--comment "block incoming localnet connections"' in firewall[0]
    assert "-d 127.0.0.0/8" in firewall[0] and firewall[0].endswith("-j DROP")
    assert "0x8000" not in firewall[0]
