"""--kubeconfig: a cluster kconformance did not make. The release is the server's, --prove is
refused, and a test that needs what the cluster lacks (a component, runtime-config, nodes, the
kind node containers) is skipped naming it. The cluster is tests/fakes/apiserver.py."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

FAKES = Path(__file__).parent / "fakes"
sys.path.insert(0, str(FAKES))
from apiserver import FakeApiServer  # noqa: E402

# what a 1.28 apiserver with ValidatingAdmissionPolicy switched on reports
METRICS = "\n".join(
    f'kubernetes_feature_enabled{{name="{gate}",stage="{stage}"}} {on}'
    for gate, stage, on in [
        ("ValidatingAdmissionPolicy", "BETA", 1),
        ("KMSv2", "BETA", 1),
        ("PodIndexLabel", "BETA", 1),
        ("UnknownVersionInteroperabilityProxy", "ALPHA", 0),
    ]
)

SUITE = """
import pytest

@pytest.mark.feature("KMSv2")
def test_kms(cluster):
    pass

@pytest.mark.feature("ValidatingAdmissionPolicy")
def test_vap(cluster):
    pass

@pytest.mark.feature("UnknownVersionInteroperabilityProxy", off=True)
def test_proxy_refused_when_off(cluster):
    pass

@pytest.mark.kind_nodes
@pytest.mark.feature("PodIndexLabel")
def test_in_the_node(cluster):
    pass

@pytest.mark.feature("PodIndexLabel")
def test_plain(cluster):
    assert cluster.release == "1.28"
"""


def kubeconfig_for(url: str) -> str:
    return (
        "apiVersion: v1\nkind: Config\ncurrent-context: mine\n"
        f"clusters: [{{name: mine, cluster: {{server: '{url}'}}}}]\n"
        "users: [{name: mine, user: {token: t}}]\n"
        "contexts: [{name: mine, context: {cluster: mine, user: mine}}]\n"
    )


@pytest.fixture
def users_cluster(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, request):
    """A one-node 1.28 cluster serving no alpha/beta API versions, and a suite for it."""
    server = FakeApiServer(metrics=METRICS).__enter__()
    request.addfinalizer(lambda: server.__exit__(None, None, None))
    monkeypatch.setenv("FAKE_KIND_DIR", str(pytester.path / "fake-kind"))
    monkeypatch.setenv("PATH", f"{FAKES}{os.pathsep}{os.environ['PATH']}")
    pytester.makeini("[pytest]\n")
    pytester.makepyfile(**{"suites/test_mine": SUITE})
    (pytester.path / "kubeconfig").write_text(kubeconfig_for(server.url))
    pytester.server = server  # type: ignore[attr-defined]
    return pytester


def run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.runpytest_inprocess(
        "suites", "--kubeconfig", "kubeconfig", "-p", "no:cacheprovider", "-rs", *args
    )


@pytest.mark.parametrize("requested", ["1.36", "1.28,1.36"])
def test_a_release_other_than_the_servers_is_refused_in_one_line(users_cluster, requested):
    result = run(users_cluster, "--k8s-version", requested)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    errors = [line for line in result.stderr.lines if line.strip()]
    assert errors == [
        f"ERROR: --k8s-version {requested}: the --kubeconfig cluster (kubeconfig) runs "
        "Kubernetes 1.28 (v1.28.15); pass --k8s-version 1.28 or leave it out"
    ]


def test_the_servers_own_release_may_be_named(users_cluster):
    result = run(users_cluster, "--k8s-version", "1.28", "-k", "plain")
    result.assert_outcomes(passed=1)


def test_prove_is_refused_with_an_existing_cluster(users_cluster):
    result = run(users_cluster, "--prove")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    errors = [line for line in result.stderr.lines if line.strip()]
    assert len(errors) == 1, errors
    assert errors[0].startswith("ERROR: --prove with --kubeconfig: the feature-off runs would")


def test_what_the_cluster_lacks_is_named_in_the_skip(users_cluster):
    result = run(users_cluster)
    result.assert_outcomes(passed=1, skipped=4)
    result.stdout.fnmatch_lines_random(
        [
            "SKIPPED*test_mine.py:3: needs the kms-plugin component that profile 'kms' runs beside the "
            "control plane, and the --kubeconfig cluster was not made from such a profile*",
            "SKIPPED*test_mine.py:7: ValidatingAdmissionPolicy needs runtime-config "
            "admissionregistration.k8s.io/v1alpha1=true, admissionregistration.k8s.io/v1beta1"
            "=true, and the --kubeconfig cluster does not serve "
            "admissionregistration.k8s.io/v1alpha1, admissionregistration.k8s.io/v1beta1",
            "SKIPPED*test_mine.py:11: needs 2 nodes (profile 'mixed-version-off'), "
            "and the --kubeconfig cluster has 1",
            "SKIPPED*test_mine.py:15: runs commands in the kind node containers (docker exec, "
            "@pytest.mark.kind_nodes), and the --kubeconfig cluster was not created by "
            "kconformance on this host*",
        ]
    )


NUMA_SUITE = """
import pytest

@pytest.mark.feature("TopologyManagerPreferClosestNUMAPlacement")
def test_placement(cluster):
    pass
"""


def test_settings_the_profile_gets_from_another_feature_are_named_in_the_skip(users_cluster):
    """The placement feature has no kubelet settings of its own: its profile has them, from the
    topology options feature. The test was run, and failed, on a cluster without them."""
    users_cluster.makepyfile(**{"suites/test_mine": NUMA_SUITE})
    result = run(users_cluster)
    result.assert_outcomes(skipped=1)
    result.stdout.fnmatch_lines(
        [
            "SKIPPED*TopologyManagerPreferClosestNUMAPlacement needs profile 'topology-options' "
            "settings that an existing cluster is not checked for (kubelet "
            "topologyManagerPolicy, topologyManagerPolicyOptions); run it on kind"
        ]
    )


def test_a_cluster_kconformance_made_here_runs_what_it_has(users_cluster, tmp_path):
    """A kept cluster of profile kms (two nodes, the API versions served), reached through a
    kubeconfig of its own: its kind node containers and its component are there."""
    from kconformance.artifacts import cache_dir
    from kconformance.registry import ClusterRecord, Registry

    users_cluster.server.served = (
        "admissionregistration.k8s.io/v1alpha1",
        "admissionregistration.k8s.io/v1beta1",
    )
    users_cluster.server.nodes = 2
    registry = Registry(cache_dir() / "clusters")
    kept = registry.kubeconfig("kc-kms-128-abc123")
    kept.write_text(kubeconfig_for(users_cluster.server.url))
    registry.write(
        ClusterRecord(
            "kc-kms-128-abc123", "1.28-kms", "h", "abc123", 999999, 999999, True, str(kept), "ready"
        )
    )
    result = run(users_cluster)
    result.assert_outcomes(passed=5)
