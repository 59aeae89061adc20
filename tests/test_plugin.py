"""The plugin end to end, with pytest inside pytest and fake kind/docker executables.

Inner runs happen in this process (``inner_run``) unless they need a process of their own: xdist
(-n) makes the inner pytest a controller of worker processes, signal tests send signals to the
run, and a few tests depend on the run's process id or its interpreter start-up. A subprocess
run costs ~0.7 s of interpreter and import time before it does anything. An in-process run
imports its test files as top-level modules next to this directory's: name them apart from
tests/test_*.py (suites/sig_apps/test_proof.py would collide with tests/test_proof.py).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import pytest

FAKES = Path(__file__).parent / "fakes"
sys.path.insert(0, str(FAKES))
from apiserver import FakeApiServer  # noqa: E402

SUITE_APPS = """
import pytest

@pytest.mark.feature("JobBackoffLimitPerIndex")
def test_per_index(cluster):
    assert cluster.name.startswith("kc-gates-128-")

@pytest.mark.feature("PodIndexLabel")
def test_index_label(cluster):
    assert cluster.release == "1.28"
"""

SUITE_NODE = """
import pytest

@pytest.mark.feature("SidecarContainers")
def test_sidecar(cluster):
    assert cluster.profile.gates["SidecarContainers"] is True

@pytest.mark.feature("NodeSwap")
def test_swap(cluster):
    assert cluster.name.startswith("kc-swap-128-")

@pytest.mark.feature("UserNamespacesSupport")
def test_userns(cluster):
    pass
"""


@pytest.fixture
def project(
    pytester: pytest.Pytester,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    request: pytest.FixtureRequest,
):
    pytester.makepyfile(
        **{"suites/sig_apps/test_jobs": SUITE_APPS, "suites/sig_node/test_pods": SUITE_NODE}
    )
    state = tmp_path / "fake-kind"
    monkeypatch.setenv("FAKE_KIND_DIR", str(state))
    apiserver = FakeApiServer().__enter__()
    request.addfinalizer(lambda: apiserver.__exit__(None, None, None))
    monkeypatch.setenv("FAKE_APISERVER", apiserver.url)
    monkeypatch.setenv("KCONFORMANCE_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("PATH", f"{FAKES}{os.pathsep}{os.environ['PATH']}")
    pytester.makeini("[pytest]\n")  # the inner run's rootdir: reports and artifacts go here
    pytester.state = state  # type: ignore[attr-defined]
    # an in-process run's controller installs its SIGTERM handler in this process
    sigterm = signal.getsignal(signal.SIGTERM)
    request.addfinalizer(lambda: signal.signal(signal.SIGTERM, sigterm))
    return pytester


BASE = [
    "--k8s-version",
    "1.28",
    # one argument: pytest takes an argument that names an existing path as a rootdir
    # candidate, and this one made the inner runs' rootdir this repository (its pyproject.toml
    # as their config, reports written into it, /tmp walked at collection)
    f"--kind-bin={FAKES / 'kind'}",
    "--node-image",
    "kindest/node:v1.28.15",
    "-p",
    "no:cacheprovider",
]


def inner_run(pytester: pytest.Pytester, *args: str, **kwargs: Any) -> pytest.RunResult:
    """Run pytest in this process, or in a subprocess when it starts xdist workers."""
    if "-n" in args:
        return pytester.runpytest_subprocess(*args)
    return pytester.runpytest_inprocess(*args, **kwargs)


def kind_calls(pytester) -> list[list[str]]:
    path = pytester.state / "calls.log"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def verbs(pytester) -> list[str]:
    return [" ".join(c[:2]) for c in kind_calls(pytester) if c[0] in ("create", "delete")]


def wait_until(done: Callable[[], bool], what: str, timeout: float = 120) -> None:
    """Poll for something an inner run does (xdist start-up is slow on a busy host)."""
    deadline = time.monotonic() + timeout
    while not done():
        assert time.monotonic() < deadline, f"{what} never happened"
        time.sleep(0.02)


def wait_for_verb(pytester, verb: str) -> None:
    wait_until(lambda: verb in verbs(pytester), f"kind called with {verb!r}")


def test_markers_lists_every_sig(pytester: pytest.Pytester):
    result = inner_run(pytester, "--markers")
    for sig in (
        "sig_node",
        "sig_apps",
        "sig_api_machinery",
        "sig_auth",
        "sig_network",
        "sig_storage",
        "sig_cli",
    ):
        result.stdout.fnmatch_lines([f"@pytest.mark.{sig}:*"])
    result.stdout.fnmatch_lines(["@pytest.mark.feature(name, off=False, needs=()):*"])


def test_collect_only_selects_by_catalog_sig(project):
    result = inner_run(project, *BASE, "--collect-only", "-q", "-m", "sig_apps")
    result.stdout.fnmatch_lines(
        ["*test_jobs.py::test_per_index[[]1.28[]]", "*test_jobs.py::test_index_label[[]1.28[]]"]
    )
    assert "test_pods" not in result.stdout.str()
    assert verbs(project) == []


def test_unknown_feature_marker_fails_collection_in_one_line(project):
    project.makepyfile(
        **{
            "suites/test_bad": "import pytest\n@pytest.mark.feature('NoSuchFeature')\ndef test_x(cluster): pass\n"
        }
    )
    result = inner_run(project, *BASE, "--collect-only")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*unknown feature 'NoSuchFeature'*"])


def test_removed_gate_is_refused_before_any_container(project):
    result = project.runpytest_subprocess(
        *BASE, "--feature-gates", "UserNamespacesStatelessPodsSupport=true"
    )
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [
            "*feature gate UserNamespacesStatelessPodsSupport was removed in 1.28*"
            "use UserNamespacesSupport instead*"
        ]
    )
    assert verbs(project) == []


def test_removed_gate_is_refused_by_the_xdist_controller(project):
    result = inner_run(
        project, *BASE, "--feature-gates", "UserNamespacesStatelessPodsSupport=true", "-n", "2"
    )
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*UserNamespacesStatelessPodsSupport was removed in 1.28*"])
    assert verbs(project) == []


def test_unknown_release_is_refused(project):
    result = inner_run(project, *BASE[:0], "--k8s-version", "1.99", "--collect-only")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*unknown Kubernetes release '1.99'*"])


def test_docker_down_is_one_clear_line_and_creates_nothing(project, monkeypatch):
    monkeypatch.setenv("FAKE_DOCKER_DOWN", "1")
    result = inner_run(project, *BASE, "-m", "sig_apps")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*Docker is not reachable*hack/setup-docker.sh*"])
    assert verbs(project) == []


def test_node_image_that_is_not_local_is_pulled_with_progress_lines(project, monkeypatch):
    """Published images: a runner that can pull needs no hack/ build."""
    monkeypatch.setenv("FAKE_DOCKER_NO_IMAGE", "1")
    result = inner_run(project, *BASE, "-m", "sig_apps")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(
        [
            "*node image kindest/node:v1.28.15 is not local: docker pull (up to *s)",
            "*node image kindest/node:v1.28.15 pulled in *s",
        ]
    )
    assert (project.state / "pulled").read_text().split() == ["kindest/node:v1.28.15"]


@pytest.mark.parametrize("workers", [[], ["-n", "2"]], ids=["n0", "n2"])
def test_failed_pull_is_one_clear_line_and_creates_nothing(project, monkeypatch, workers):
    monkeypatch.setenv("FAKE_DOCKER_NO_IMAGE", "1")
    monkeypatch.setenv("FAKE_DOCKER_PULL_FAIL", "1")
    result = inner_run(
        project,
        *[a if a != "kindest/node:v1.28.15" else "localhost/kc-test/none:v1" for a in BASE],
        "-m",
        "sig_apps",
        *workers,
    )
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    out = result.stdout.str() + result.stderr.str()
    assert (
        "node image localhost/kc-test/none:v1 is not local and docker pull failed "
        '(Error response from daemon: Get "https://localhost/v2/": dial tcp: lookup localhost: '
        "no such host): build it with hack/build.sh 1.28, pull it where a registry is "
        "reachable, or pass --node-image"
    ) in out
    assert verbs(project) == []


def test_kind_version_not_paired_with_the_node_image_is_one_clear_line(project, monkeypatch):
    monkeypatch.setenv("FAKE_KIND_VERSION", "v0.20.0")
    result = inner_run(project, *BASE, "-m", "sig_apps")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [
            "ERROR: kind v0.20.0 (*/fakes/kind) is not the kind v0.25.0 the catalog pairs with "
            "kindest/node:v1.28.15 for Kubernetes 1.28: install it (go install "
            "sigs.k8s.io/kind@v0.25.0) and pass --kind-bin, or run hack/build.sh 1.28"
        ]
    )
    assert verbs(project) == []


def test_two_workers_two_profiles_one_creation_each_one_deletion_each(project):
    result = inner_run(project, *BASE, "-n", "2", "-v")
    result.assert_outcomes(passed=4, skipped=1)
    calls = verbs(project)
    assert sorted(calls) == ["create cluster"] * 2 + ["delete cluster"] * 2
    created = sorted(
        c[c.index("--name") + 1] for c in kind_calls(project) if c[:2] == ["create", "cluster"]
    )
    deleted = sorted(
        c[c.index("--name") + 1] for c in kind_calls(project) if c[:2] == ["delete", "cluster"]
    )
    assert created == deleted
    assert {n.rsplit("-", 2)[0] for n in created} == {"kc-gates", "kc-swap"}
    result.stdout.fnmatch_lines(
        ["*cluster kc-gates-128-* ready in *s*", "*cluster kc-swap-128-* deleted in *s*"]
    )


def test_skip_reason_comes_from_the_catalog(project):
    result = inner_run(project, *BASE, "-rs", "-k", "userns")
    result.stdout.fnmatch_lines(
        ["*SKIPPED*UserNamespacesSupport (KEP 127) on 1.28: needs containerd >= 2.0*"]
    )
    assert verbs(project) == []


def test_keep_clusters_then_reuse_creates_once(project):
    # two processes: the second run claims a kept cluster whose owner (the first run) is gone
    first = project.runpytest_subprocess(*BASE, "--keep-clusters", "-m", "sig_apps")
    first.assert_outcomes(passed=2)
    second = project.runpytest_subprocess(*BASE, "--keep-clusters", "-m", "sig_apps")
    second.assert_outcomes(passed=2)
    assert verbs(project) == ["create cluster"]
    second.stdout.fnmatch_lines(["*reused*"])


def test_report_files_written_after_a_run(project):
    result = inner_run(project, *BASE, "-m", "sig_apps", "--report-dir", "out")
    result.assert_outcomes(passed=2)
    report = json.loads((project.path / "out" / "kconformance-report.json").read_text())
    row = next(r for r in report["features"] if r["feature"] == "JobBackoffLimitPerIndex")
    assert row["releases"]["1.28"]["verdict"] == "passed"
    md = (project.path / "out" / "kconformance-report.md").read_text()
    assert "| JobBackoffLimitPerIndex | KEP 3850 | sig_apps |" in md


def test_junit_carries_sig_feature_and_kep(project):
    result = inner_run(project, *BASE, "-m", "sig_apps", "--junitxml", "junit.xml")
    result.assert_outcomes(passed=2)
    xml = (project.path / "junit.xml").read_text()
    assert '<property name="feature" value="JobBackoffLimitPerIndex"' in xml
    assert '<property name="kep" value="3850"' in xml


SLOW_SUITE = """
import os
import time
from pathlib import Path

import pytest

STATE = Path(os.environ["FAKE_KIND_DIR"])


@pytest.mark.feature("SidecarContainers")
def test_slow(cluster):
    (STATE / "test-started").touch()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if (STATE / "run-interrupted").exists():
            # in an xdist worker: what execnet does, 5 s after the interrupted controller
            # asked the worker to stop, is SIGINT it; do it now instead of 5 s later
            raise KeyboardInterrupt("the run was interrupted")
        time.sleep(0.02)
"""

# The process that gets the signal says so (under xdist: the controller, not the worker).
SLOW_CONFTEST = """
import os
from pathlib import Path


def pytest_keyboard_interrupt(excinfo):
    (Path(os.environ["FAKE_KIND_DIR"]) / "run-interrupted").touch()
"""


def _interruptible() -> None:
    """In the child before exec: a run started from a non-interactive shell's background job
    inherits SIGINT ignored, Python then installs no KeyboardInterrupt handler and these tests'
    first SIGINT would be lost (seen: a 61 s test in a backgrounded .ci/run)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def start_slow_run(project, workers: list[str]) -> subprocess.Popen[str]:
    """A run whose only test keeps going until the run is interrupted, started once its
    test is running inside the cluster."""
    project.makepyfile(**{"suites/sig_node/test_slow": SLOW_SUITE})
    project.makeconftest(SLOW_CONFTEST)
    proc = subprocess.Popen(
        [sys.executable, "-m", "pytest", "suites/sig_node/test_slow.py", *BASE, *workers],
        cwd=project.path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        preexec_fn=_interruptible,
    )
    wait_until(lambda: (project.state / "test-started").exists(), "the slow test's start")
    return proc


@pytest.mark.parametrize("workers", [[], ["-n", "2"]], ids=["n0", "n2"])
def test_sigterm_deletes_the_clusters(project, workers):
    """CI cancels with SIGTERM: the run must still delete what it created."""
    proc = start_slow_run(project, workers)
    proc.send_signal(signal.SIGTERM)
    out, _ = proc.communicate(timeout=60)
    assert verbs(project) == ["create cluster", "delete cluster"], out
    assert "KeyboardInterrupt: signal 15" in out  # the run ended on the signal, not by itself


PROOF_SUITE = """
import pytest

@pytest.mark.feature("JobBackoffLimitPerIndex")
def test_needs_its_gate(cluster):
    gates = cluster.profile.gates_for("kube-controller-manager")
    assert gates.get("JobBackoffLimitPerIndex") is True

@pytest.mark.feature("PodIndexLabel")
def test_cannot_fail(cluster):
    pass

@pytest.mark.feature("KubectlEvents")
def test_without_a_gate(cluster):
    pass

@pytest.mark.feature("CRDValidationRatcheting")
def test_reads_a_key_that_is_gone(cluster):
    assert cluster.profile.gates["CRDValidationRatcheting"] is True
"""


def test_prove_inverts_feature_off_runs_and_fails_a_test_that_cannot_fail(project):
    project.makepyfile(**{"suites/sig_apps/test_prove": PROOF_SUITE})
    result = inner_run(
        project,
        "suites/sig_apps/test_prove.py",
        *BASE,
        "--prove",
        "-rs",
        "--report-dir",
        "out",
        "--junitxml",
        "out/junit.xml",
    )
    # 4 feature-on runs pass; the gate test's off run proves (off-gates: its gate is off in
    # kube-controller-manager only); the no-op's off run does not; the KeyError of the last one
    # (baseline: an apiserver feature is off everywhere) is no evidence; KubectlEvents cannot be
    # switched off, so its off run is skipped with that reason
    result.assert_outcomes(passed=5, failed=2, skipped=1)
    result.stdout.fnmatch_lines(
        [
            "*test_cannot_fail[[]1.28-off[]]*",
            "does not prove PodIndexLabel: the test passed on profile 'off-podindexlabel'*",
        ]
    )
    result.stdout.fnmatch_lines(
        [
            "*proof inconclusive for CRDValidationRatcheting (profile 'baseline'): the test "
            "failed, but not on an assertion or a wait on the behaviour - "
            "KeyError: 'CRDValidationRatcheting'"
        ]
    )
    result.stdout.fnmatch_lines(
        [
            "*1 of 3 feature-off runs proved their feature (1 could not run*",
            "outcomes: 1 proved, 1 no evidence, 1 not proved",
            "NO EVIDENCE CRDValidationRatcheting: *test_reads_a_key_that_is_gone[[]1.28-off[]]: "
            "KeyError: 'CRDValidationRatcheting'",
            "NOT PROVED PodIndexLabel: *the test passed with PodIndexLabel off",
        ]
    )
    names = [
        c[c.index("--name") + 1] for c in kind_calls(project) if c[:2] == ["create", "cluster"]
    ]
    assert sorted(n.removeprefix("kc-").rsplit("-", 2)[0] for n in names) == [
        "baseline",
        "gates",
        "off-gates",
        "off-podindexlabel",
    ]
    report = json.loads((project.path / "out" / "kconformance-report.json").read_text())
    cells = {r["feature"]: r["releases"]["1.28"] for r in report["features"]}
    assert cells["JobBackoffLimitPerIndex"]["proof"]["verdict"] == "proved"
    assert cells["PodIndexLabel"]["proof"]["verdict"] == "not proved"
    assert cells["KubectlEvents"]["proof"]["verdict"] == "cannot be switched off"
    assert cells["CRDValidationRatcheting"]["proof"]["outcomes"] == {"no evidence": 1}
    # every off run's outcome and its reason, as JUnit properties
    junit = ElementTree.parse(project.path / "out" / "junit.xml")
    outcomes = {
        case.get("name"): {p.get("name"): p.get("value") for p in case.iter("property")}
        for case in junit.iter("testcase")
        if case.get("name", "").endswith("-off]")
    }
    assert outcomes["test_reads_a_key_that_is_gone[1.28-off]"]["proof"] == "no evidence"
    assert (
        outcomes["test_reads_a_key_that_is_gone[1.28-off]"]["proof_reason"]
        == "KeyError: 'CRDValidationRatcheting'"
    )
    assert outcomes["test_cannot_fail[1.28-off]"]["proof"] == "not proved"
    assert {o.get("proof") for o in outcomes.values()} >= {"proved", "no evidence", "not proved"}


ROLE_SUITE = """
def test_roles(pytestconfig):
    manager = pytestconfig.pluginmanager
    assert manager.get_plugin("kconformance-controller") is not None
    assert manager.get_plugin("kconformance-worker") is None
"""


def test_controller_work_lives_in_its_own_plugin_object(project):
    """-n 0: the only process is the controller; no worker plugin is registered."""
    project.makepyfile(test_roles=ROLE_SUITE)
    result = inner_run(project, *BASE, "test_roles.py")
    result.assert_outcomes(passed=1)


def test_each_xdist_worker_registers_only_the_worker_plugin(project):
    project.makepyfile(
        test_roles=ROLE_SUITE.replace("is not None", "is _x")
        .replace("is None", "is not None")
        .replace("is _x", "is None")
    )
    result = inner_run(project, *BASE, "test_roles.py", "-n", "1")
    result.assert_outcomes(passed=1)


def test_a_run_without_cluster_tests_leaves_the_registry_and_clusters_alone(project):
    """`pytest tests` on a machine with clusters of other runs: no sweep, no kind call.

    The registry entry's owner is dead, so a sweep would delete it: only a run that is about to
    create clusters may sweep.
    """
    import os as _os

    from kconformance.pool import ClusterRecord, Registry

    registry = Registry(Path(_os.environ["KCONFORMANCE_CACHE"]) / "clusters")
    registry.write(
        ClusterRecord(
            "kc-gates-128-dead00", "1.28-gates", "h", "dead00", 999999, 999999, False, "", "ready"
        )
    )
    (project.state / "clusters").mkdir(parents=True)
    (project.state / "clusters" / "kc-gates-128-dead00").touch()
    project.makepyfile(test_unit="def test_plain():\n    assert True\n")
    result = inner_run(project, *BASE, "test_unit.py")
    result.assert_outcomes(passed=1)
    assert registry.read("kc-gates-128-dead00") is not None
    assert kind_calls(project) == []


def test_teardown_finishes_under_a_second_sigint_and_sigterm(project, monkeypatch):
    """CI cancel: SIGINT, then SIGTERM while clusters are being deleted. The delete finishes,
    the registry is empty, the run says it kept deleting. (Teardown is the controller's in
    both modes; -n 0 keeps the test fast.)"""
    deleted = project.state / "delete-may-end"
    monkeypatch.setenv("FAKE_KIND_DELETE_HOLD", str(deleted))
    proc = start_slow_run(project, [])
    proc.send_signal(signal.SIGINT)
    wait_for_verb(project, "delete cluster")
    proc.send_signal(signal.SIGINT)
    proc.send_signal(signal.SIGTERM)
    deleted.touch()  # both signals are pending in the run before its `kind delete` can return
    out, _ = proc.communicate(timeout=60)
    assert verbs(project) == ["create cluster", "delete cluster"], out
    assert list((project.state / "clusters").iterdir()) == [], out
    registry = Path(os.environ["KCONFORMANCE_CACHE"]) / "clusters"
    assert list(registry.glob("*.json")) == [], out
    assert "during teardown: still deleting clusters" in out
    assert "deleted in" in out


INTERRUPTED_SUITE = """
import os
from pathlib import Path

import pytest


@pytest.fixture
def uses_cluster(cluster):
    yield cluster
    alive = (Path(os.environ["FAKE_KIND_DIR"]) / "clusters" / cluster.name).exists()
    Path("teardown-saw-cluster").write_text(str(alive))


@pytest.mark.feature("SidecarContainers")
def test_interrupted(uses_cluster):
    raise KeyboardInterrupt
"""


def test_after_ctrl_c_fixtures_are_finalized_before_the_cluster_is_deleted(project):
    """Ctrl-C: pytest finalizes the tests' fixtures (namespace deletion) in its own
    sessionfinish; the clusters must still exist then, and be deleted after."""
    project.makepyfile(**{"suites/sig_node/test_interrupted": INTERRUPTED_SUITE})
    result = inner_run(project, "suites/sig_node/test_interrupted.py", *BASE, no_reraise_ctrlc=True)
    assert result.ret == pytest.ExitCode.INTERRUPTED
    assert (project.path / "teardown-saw-cluster").read_text() == "True"
    assert verbs(project) == ["create cluster", "delete cluster"]


SUITE_KMS = """
import pytest

@pytest.mark.feature("KMSv2")
def test_kms(cluster):
    pass
"""


def built_here(release: str, kubernetes_version: str) -> None:
    """What hack/build.sh records for a release it built (artifacts.built_releases reads it)."""
    releases = Path(os.environ["KCONFORMANCE_CACHE"]) / "releases"
    releases.mkdir(parents=True, exist_ok=True)
    (releases / f"{release}.json").write_text(
        json.dumps(
            {
                "release": release,
                "kubernetes_version": kubernetes_version,
                "node_image": f"kindest/node:{kubernetes_version}",
                "kind": str(FAKES / "kind"),
            }
        )
    )


def test_profile_whose_component_was_not_built_is_refused_before_any_container(project):
    """hack/build.sh built the release and builds kms-plugin with it: one missing is a broken
    build, refused."""
    built_here("1.28", "v1.28.15")
    project.makepyfile(**{"suites/sig_auth/test_kms": SUITE_KMS})
    result = inner_run(project, *BASE, "-m", "sig_auth")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [
            "*profile 'kms' on Kubernetes 1.28 runs the kms-plugin component, which was not built"
            " here: run hack/build-kms-plugin.sh 1.28*"
        ]
    )
    assert kind_calls(project) == []


def test_on_a_release_not_built_here_its_tests_skip_naming_the_script(project):
    """kind's published node images, no hack/ at all: the kms profile's tests skip."""
    project.makepyfile(**{"suites/sig_auth/test_kms": SUITE_KMS})
    result = inner_run(project, *BASE, "-m", "sig_auth", "-rs")
    result.assert_outcomes(skipped=1)
    result.stdout.fnmatch_lines(
        [
            "*SKIPPED*profile 'kms' runs the kms-plugin component*run hack/build-kms-plugin.sh"
            " 1.28 (hack/build.sh did not build 1.28 here)*"
        ]
    )
    assert kind_calls(project) == []


SUITE_LB = """
import pytest

@pytest.mark.feature("StableLoadBalancerNodeSet")
def test_lb(cluster):
    pass
"""


def test_tests_of_a_component_built_apart_skip_naming_its_script(project):
    project.makepyfile(**{"suites/sig_network/test_lb": SUITE_LB})
    result = inner_run(project, *BASE, "-m", "sig_network", "-rs")
    result.assert_outcomes(skipped=1)
    result.stdout.fnmatch_lines(
        ["*SKIPPED*profile 'cloud-lb' runs the fake-ccm component*run hack/build-fake-ccm.sh 1.28*"]
    )
    assert kind_calls(project) == []


TWO_PROFILES = """
import pytest

@pytest.mark.feature("JobBackoffLimitPerIndex")
def test_a_on_gates(cluster):
    pass

@pytest.mark.feature("ServiceNodePortStaticSubrange")
def test_b_on_nodeport(cluster):
    pass

@pytest.mark.feature("PodIndexLabel")
def test_c_on_gates_again(cluster):
    pass
"""


@pytest.mark.parametrize("workers", [[], ["-n", "2"]], ids=["n0", "n2"])
def test_a_cluster_is_deleted_once_its_last_test_finished(project, workers):
    """The nodeport cluster goes as soon as its only test is done, before the run ends; every
    cluster is deleted exactly once (early releases run in the background, so their order
    against the end-of-run teardown is not fixed)."""
    project.makepyfile(**{"suites/sig_apps/test_two": TWO_PROFILES})
    result = inner_run(project, "suites/sig_apps/test_two.py", *BASE, *workers, "-p", "no:randomly")
    result.assert_outcomes(passed=3)
    calls = [
        " ".join(c[:2]) + " " + c[c.index("--name") + 1].split("-")[1]
        for c in kind_calls(project)
        if c[:2] in (["create", "cluster"], ["delete", "cluster"])
    ]
    assert sorted(calls) == [
        "create cluster gates",
        "create cluster nodeport",
        "delete cluster gates",
        "delete cluster nodeport",
    ]
    if workers:  # printed once, by the controller's event tail
        printed = [
            line
            for line in result.stdout.lines
            if "kconformance: cluster" in line and "[1.28-nodeport] deleted in" in line
        ]
        assert len(printed) == 1, result.stdout.str()


CLEANUP_SUITE = """
import os
import time
from pathlib import Path

import pytest

STATE = Path(os.environ["FAKE_KIND_DIR"])


@pytest.fixture
def slow_cleanup(cluster):
    yield cluster
    # a namespace deletion that takes its time: the run is interrupted again meanwhile
    (STATE / "cleanup-started").touch()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not (STATE / "cleanup-may-end").exists():
        time.sleep(0.02)


@pytest.mark.feature("SidecarContainers")
def test_slow(slow_cleanup):
    (STATE / "test-started").touch()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        time.sleep(0.02)
"""


def test_a_second_sigint_during_fixture_cleanup_still_deletes_the_clusters(project):
    """Ctrl-C, then Ctrl-C again while pytest is still finalizing the tests' fixtures (before
    any cluster deletion started): the second one cuts the clean-up short, never the deletion."""
    project.makepyfile(**{"suites/sig_node/test_cleanup": CLEANUP_SUITE})
    proc = subprocess.Popen(
        [sys.executable, "-m", "pytest", "suites/sig_node/test_cleanup.py", *BASE],
        cwd=project.path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        preexec_fn=_interruptible,
    )
    wait_until(lambda: (project.state / "test-started").exists(), "the test's start")
    proc.send_signal(signal.SIGINT)
    wait_until(lambda: (project.state / "cleanup-started").exists(), "the fixture's clean-up")
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=60)
    assert verbs(project) == ["create cluster", "delete cluster"], out
    assert list((project.state / "clusters").iterdir()) == [], out
    registry = Path(os.environ["KCONFORMANCE_CACHE"]) / "clusters"
    assert list(registry.glob("*.json")) == [], out


def test_a_failed_delete_stays_registered_fails_the_run_and_sweep_deletes_it_later(
    project, monkeypatch
):
    """kind delete fails: the run says so, its exit status is not 0 although every test
    passed, the report names the cluster, and `python -m kconformance sweep` deletes it once
    the run is over (with the run directories of dead runs, never a live run's)."""
    from kconformance.__main__ import main
    from kconformance.registry import Registry

    monkeypatch.setenv("FAKE_KIND_FAIL_DELETE", "1")
    result = project.runpytest_subprocess(*BASE, "-m", "sig_apps", "--report-dir", "out")
    result.assert_outcomes(passed=2)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(
        ["*ERROR: 1 cluster(s) could not be deleted and stay in the registry: kc-gates-128-*"]
    )
    cache = Path(os.environ["KCONFORMANCE_CACHE"])
    registry = Registry(cache / "clusters")
    [record] = registry.records()
    report = json.loads((project.path / "out" / "kconformance-report.json").read_text())
    assert report["undeleted_clusters"] == [record.name]
    assert (
        "## Clusters not deleted" in (project.path / "out" / "kconformance-report.md").read_text()
    )

    dead, live = cache / "runs" / "dead00", cache / "runs" / "live00"
    for folder, pid in ((dead, 999999), (live, os.getpid())):
        folder.mkdir(parents=True)
        (folder / "owner.json").write_text(json.dumps({"pid": pid}))
    monkeypatch.delenv("FAKE_KIND_FAIL_DELETE")
    assert main(["sweep", f"--kind-bin={FAKES / 'kind'}"]) == 0
    assert registry.records() == []
    assert list((project.state / "clusters").iterdir()) == []
    assert not dead.exists() and live.exists()


def test_a_dead_runs_cluster_the_sweep_cannot_delete_fails_the_run_too(project, monkeypatch):
    """The start-up sweep follows the one delete policy: the dead run's cluster stays in the
    registry, the failure is one line, the report names the cluster and the run exits 1."""
    from kconformance.registry import ClusterRecord, Registry

    name = "kc-gates-128-dead00"
    registry = Registry(Path(os.environ["KCONFORMANCE_CACHE"]) / "clusters")
    registry.write(
        ClusterRecord(name, "1.28-gates", "h", "dead00", 999999, 999999, False, "", "ready")
    )
    (project.state / "clusters").mkdir(parents=True)
    (project.state / "clusters" / name).touch()
    monkeypatch.setenv("FAKE_KIND_FAIL_DELETE", name)
    result = project.runpytest_subprocess(*BASE, "-m", "sig_apps", "--report-dir", "out")
    result.assert_outcomes(passed=2)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(
        [
            f"*cluster {name} [[]1.28-gates] delete failed (ERROR: failed to delete cluster: fake*",
            f"*ERROR: 1 cluster(s) could not be deleted and stay in the registry: {name};*",
        ]
    )
    assert [r.name for r in registry.records()] == [name]
    report = json.loads((project.path / "out" / "kconformance-report.json").read_text())
    assert report["undeleted_clusters"] == [name]


def docker_calls(pytester) -> list[list[str]]:
    path = pytester.state / "docker-calls.log"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def test_preflight_runs_once_in_the_xdist_controller(project, monkeypatch):
    """-n 3: one Docker check and one pull of the node image for the run, not one per worker;
    the clusters are created after it."""
    monkeypatch.setenv("FAKE_DOCKER_NO_IMAGE", "1")
    result = inner_run(project, *BASE, "-m", "sig_apps", "-n", "3")
    result.assert_outcomes(passed=2)
    calls = docker_calls(project)
    assert [c for c in calls if c[:1] == ["info"]] == [["info", "--format", "{{.ServerVersion}}"]]
    assert [c for c in calls if c[:1] == ["pull"]] == [["pull", "kindest/node:v1.28.15"]]
    result.stdout.fnmatch_lines(
        ["*node image kindest/node:v1.28.15 pulled in *s", "*cluster kc-gates-128-* creating*"]
    )


SUITE_DROPIN = """
import pytest

@pytest.mark.feature("KubeletDropInConfigDir")
def test_dropin(cluster):
    pass
"""


def test_a_kept_cluster_keeps_the_files_its_nodes_mount_until_it_is_deleted(project):
    """--keep-clusters: the run directory goes at the end of the run, the node files the kept
    cluster's kind config mounts (kubelet drop-ins) stay until the cluster is deleted."""
    import re

    from kconformance.__main__ import main

    project.makepyfile(**{"suites/sig_node/test_dropin": SUITE_DROPIN})
    result = project.runpytest_subprocess(
        "suites/sig_node/test_dropin.py", *BASE, "--keep-clusters"
    )
    result.assert_outcomes(passed=1)
    [config] = list((project.state / "clusters").iterdir())  # the fake keeps the kind config
    mounted = [Path(p) for p in re.findall(r"hostPath: (\S+)", config.read_text())]
    assert any(p.name.endswith("kconformance-max-pods.conf") for p in mounted), mounted
    assert all(p.is_file() for p in mounted), mounted
    assert not list((Path(os.environ["KCONFORMANCE_CACHE"]) / "runs").glob("*"))
    assert main(["delete-kept", f"--kind-bin={FAKES / 'kind'}"]) == 0
    assert not any(p.exists() for p in mounted)
