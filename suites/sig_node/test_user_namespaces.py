"""sig-node: user namespaces for pods (KEP-127)."""

from __future__ import annotations

import pytest

from kconformance.testing import Kube
from suites.sig_node.pods import phase_in


@pytest.mark.feature("UserNamespacesSupport")
def test_host_users_false_maps_root_away_from_host_root(kube: Kube) -> None:
    """With hostUsers: false the pod runs in a user namespace: /proc/self/uid_map does not map
    0 to host 0 over the whole range ("0 0 4294967295" is the host's own map). Where the
    article differs: the 1.28 gate is UserNamespacesSupport; UserNamespacesStatelessPodsSupport
    was removed in 1.28 and a profile naming it is refused (tests/test_profiles.py)."""
    kube.apply("sig_node/userns-pod.yaml")
    pod = kube.wait_for("Pod", phase_in("Succeeded", "Failed"), name="userns", timeout=90)
    uid_map = kube.cluster.core.read_namespaced_pod_log("userns", kube.namespace).split()
    assert pod["status"]["phase"] == "Succeeded"
    inside, outside, length = (int(v) for v in uid_map[:3])
    assert inside == 0
    assert outside != 0, uid_map
    assert length == 65536
