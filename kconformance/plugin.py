"""The pytest hook layer: options, markers, fixtures, and wiring to the run.

Registered through the ``pytest11`` entry point so options and markers work from any rootdir.
Logic lives in the modules it calls; this file only decides when things happen.

The kubernetes client (~0.3 s of CPU to import) is imported only where a cluster is used
(client, waits, workspace, manifests, diagnostics): an xdist controller, a collection, a
usage error or a run of tests without clusters never pays for it.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import pytest

from kconformance import components, proof
from kconformance.artifacts import cache_dir
from kconformance.catalog import SIGS, Catalog
from kconformance.controller import ControllerPlugin
from kconformance.errors import ClusterError, KconformanceError
from kconformance.existing_cluster import not_made_from
from kconformance.ordering import DURATIONS_FILE, order_by_profile, read_durations
from kconformance.planning import TestPlan, plan_test, validate_run_profiles
from kconformance.profilechecks import validate_profile
from kconformance.report import ReportCollector
from kconformance.runtime import Run, RunIdentity
from kconformance.settings import add_free_aliases, add_options, read_settings, spelled
from kconformance.stash import COLLECTOR, PLAN, REPORTS, RUN, WORKSPACE, needed_profiles
from kconformance.terminal import write_line
from kconformance.worker import WorkerPlugin

if TYPE_CHECKING:
    from kconformance.client import Cluster
    from kconformance.workspace import Kube

__all__ = ["COLLECTOR", "PLAN", "REPORTS", "ROLE", "RUN", "WORKSPACE"]

ROLE = pytest.StashKey["ControllerPlugin | WorkerPlugin"]()
ALIAS_CLASHES = pytest.StashKey[list[str]]()


def pytest_addoption(parser: pytest.Parser) -> None:
    add_options(parser)


@pytest.hookimpl(wrapper=True)
def pytest_load_initial_conftests(
    early_config: pytest.Config, parser: pytest.Parser, args: list[str]
) -> Iterator[None]:
    """Once every plugin and initial conftest has registered its options, add the plain names
    (--kubeconfig, --k8s-version, --kube-context, --kind-bin) as aliases of ours where free:
    next to pytest-kubernetes or pytest-kind-ng, theirs stay theirs and ours are --kc-*."""
    result = yield
    early_config.stash[ALIAS_CLASHES] = add_free_aliases(parser)
    return result


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    for sig in SIGS:
        config.addinivalue_line(
            "markers", f"{sig}: tests of features owned by {sig.replace('_', '-')}"
        )
    config.addinivalue_line(
        "markers",
        "feature(name, off=False, needs=()): link the test to its catalog entry (SIG, KEP, "
        "profile); off=True runs it on a profile where the feature is off; needs names other "
        "default-off features the test relies on (kept on when --prove switches this one off)",
    )
    config.addinivalue_line(
        "markers", "profile(name): run on this catalog profile instead of the feature's own"
    )
    config.addinivalue_line(
        "markers", "smoke: checks that a profile's gates and settings reached its cluster"
    )
    config.addinivalue_line(
        "markers",
        "readback: the test reads back configuration the profile set; it shows the feature is "
        "configured, not that it behaves (the report says 'configured', never 'passed')",
    )
    config.addinivalue_line(
        "markers", f"{proof.PROOF_MARK}: the feature-off run of a test (added by --prove)"
    )
    config.addinivalue_line(
        "markers",
        "kind_nodes: the test runs commands in the kind node containers (docker exec); "
        "against --kubeconfig it is skipped unless kconformance created that cluster here",
    )
    is_worker = hasattr(config, "workerinput")
    try:
        settings = read_settings(config)
        if not is_worker:
            validate_run_profiles(settings)
    except KconformanceError as exc:
        raise _usage_error(config, exc) from None
    if is_worker:
        workerinput = config.workerinput  # type: ignore[attr-defined]
        identity = RunIdentity.from_workerinput(workerinput)
        index = int(str(workerinput.get("workerid", "gw0")).lstrip("gw") or 0)
        run = Run(settings, identity, worker_index=index)
    else:
        run = Run(settings, RunIdentity.new())
    run.log = lambda line: write_line(config, line)
    if settings.existing_cluster:
        requested = list(settings.releases) if config.getoption("kc_k8s_version") else None
        _adopt_server_release(config, run, requested)
    config.stash[RUN] = run
    config.stash[COLLECTOR] = ReportCollector(settings.catalog)
    # One plugin object per role, as pytest-xdist does (DSession / WorkerInteractor): the
    # controller owns the run, a worker only runs tests.
    role: ControllerPlugin | WorkerPlugin
    if is_worker:
        role = WorkerPlugin(config, run)
    else:
        role = ControllerPlugin(
            config, run, config.stash[COLLECTOR], config.stash.get(ALIAS_CLASHES, [])
        )
    config.stash[ROLE] = role
    config.pluginmanager.register(role, role.name)
    if settings.prove:
        config.pluginmanager.register(proof.ProofVerdicts(), "kconformance-proof")


def _usage_error(config: pytest.Config, exc: KconformanceError) -> pytest.UsageError:
    """A refusal (exit 4, one line) naming the options as they can be passed here."""
    return pytest.UsageError(spelled(str(exc), config.stash.get(ALIAS_CLASHES, [])))


def _adopt_server_release(config: pytest.Config, run: Run, requested: list[str] | None) -> None:
    """Against an existing cluster, the release is the server's, so skips match what it runs;
    a --k8s-version that names another release is refused."""
    try:
        run.existing.adopt_server_release(requested)
    except KconformanceError as exc:
        raise _usage_error(config, exc) from None


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "k8s_release" in metafunc.fixturenames:
        settings = metafunc.config.stash[RUN].settings
        releases: list[Any] = list(settings.releases)
        if settings.prove and proof.provable(metafunc.definition):
            releases += [proof.proof_param(release) for release in settings.releases]
        metafunc.parametrize("k8s_release", releases)


@pytest.hookimpl(wrapper=True)
def pytest_collection_modifyitems(
    session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
) -> Iterator[None]:
    """Plan every test before -m/-k deselect (which runs inside); after it, order the tests as
    their clusters will be created and check the host."""
    _plan_items(config, items)
    _select_features(config, items)
    yield
    items[:] = order_by_profile(items, read_durations(cache_dir() / DURATIONS_FILE))
    _start_run(config, items)


def _select_features(config: pytest.Config, items: list[pytest.Item]) -> None:
    wanted = config.stash[RUN].settings.only_features
    if not wanted:
        return
    keep, drop = [], []
    for item in items:
        marker = item.get_closest_marker("feature")
        (keep if marker and marker.args and marker.args[0] in wanted else drop).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


def _plan_items(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Plan each test: feature, SIG marker, profile, skip reason. Runs before -m deselection."""
    run = config.stash[RUN]
    settings = run.settings
    catalog = settings.catalog
    validated: set[str] = set()
    for item in items:
        marker = item.get_closest_marker("feature")
        profile_marker = item.get_closest_marker("profile")
        feature_name = marker.args[0] if marker and marker.args else None
        callspec = getattr(item, "callspec", None)
        release = callspec.params.get("k8s_release") if callspec else None
        if feature_name:
            try:
                feature = catalog.feature(feature_name)
            except KconformanceError as exc:
                raise pytest.UsageError(f"{item.nodeid}: {exc}") from None
            _mark_sig(item, feature.sig)
            item.user_properties += [("sig", feature.sig), ("feature", feature.name)]
            # what tracks it upstream: a KEP, or for a deprecation or removal a pull request
            if feature.kep is not None:
                item.user_properties.append(("kep", str(feature.kep)))
            elif feature.pr is not None:
                item.user_properties.append(("pr", str(feature.pr)))
        if release is None:
            continue
        try:
            plan = plan_test(
                catalog,
                release,
                feature_name,
                prove=proof.is_proof_item(item),
                needs=tuple(marker.kwargs.get("needs", ())) if marker else (),
                off=bool(marker.kwargs.get("off", False)) if marker else False,
                explicit_profile=profile_marker.args[0] if profile_marker else None,
                forced_profile=settings.forced_profile,
                extra_gates=settings.extra_gates,
                kubernetes_version=settings.kubernetes_version(release),
                host=settings.host,
            )
            if plan.profile.hash not in validated:
                validate_profile(catalog, plan.profile)
                validated.add(plan.profile.hash)
        except KconformanceError as exc:
            raise _usage_error(config, exc) from None
        if not plan.skip and not settings.existing_cluster:
            reason = components.skip_reason(catalog, plan.profile)
            if reason:
                plan = replace(plan, skip=reason)
        item.stash[PLAN] = plan
        item.user_properties += [("release", release), ("profile", plan.profile.name)]
        if item.get_closest_marker("readback"):
            item.user_properties.append(("evidence", "readback"))
        if plan.proof:
            item.user_properties.append((proof.MODE_PROPERTY, "proof"))
        if config.pluginmanager.hasplugin("xdist"):
            item.add_marker(pytest.mark.xdist_group(plan.profile.key))
        if plan.skip:
            item.add_marker(pytest.mark.skip(reason=plan.skip))


def _mark_sig(item: pytest.Item, catalog_sig: str) -> None:
    """A test's SIG marker: its own, else its suite folder's (suites/sig_apps/...), else the
    catalog's - so a sidecar-in-Job test in the sig-apps suite is selected by -m sig_apps."""
    if any(item.get_closest_marker(sig) for sig in SIGS):
        return
    folder_sig = next((part for part in item.path.parts if part in SIGS), None)
    item.add_marker(getattr(pytest.mark, folder_sig or catalog_sig))


#: Fixtures only a kconformance test asks for.
_OUR_FIXTURES = frozenset({"cluster", "kube", "k8s_release", "test_plan"})


def is_kconformance_test(item: pytest.Item) -> bool:
    """A test of a suite (feature marker, release parameter or a cluster fixture): the plugin
    stays passive - no header, signal handler, timings or report - in a run without one."""
    return (
        PLAN in item.stash
        or item.get_closest_marker("feature") is not None
        or bool(_OUR_FIXTURES & set(getattr(item, "fixturenames", ())))
    )


def _start_run(config: pytest.Config, items: list[pytest.Item]) -> None:
    """After -m/-k selection, when kconformance tests were selected: the run starts (header,
    SIGTERM as Ctrl-C), and pre-flight (components, Docker, kind, node images, the sweep of dead
    runs) checks the host once per run, before any creation.

    The controller does it; under xdist the controller collects nothing, so the first worker's
    collection says what to check (see ControllerPlugin.selected / WorkerPlugin.selected).
    """
    if not any(is_kconformance_test(item) for item in items):
        return
    run = config.stash[RUN]
    profiles = {}
    if not (config.option.collectonly or run.settings.existing_cluster):
        profiles = needed_profiles(items)
    config.stash[ROLE].selected(items, list(profiles.values()))


# -- fixtures ------------------------------------------------------------------------------
@pytest.fixture
def k8s_release(request: pytest.FixtureRequest) -> str:
    """The release under test (parametrized over --k8s-version)."""
    return str(request.config.stash[RUN].settings.releases[0])


@pytest.fixture(scope="session")
def catalog(pytestconfig: pytest.Config) -> Catalog:
    return pytestconfig.stash[RUN].settings.catalog


@pytest.fixture
def test_plan(request: pytest.FixtureRequest, k8s_release: str) -> TestPlan:
    try:
        return request.node.stash[PLAN]
    except KeyError:
        raise RuntimeError("test_plan used by a test without a planned release") from None


@pytest.fixture
def cluster(request: pytest.FixtureRequest, test_plan: TestPlan) -> Cluster:
    """The cluster this test's profile needs: created on first use, shared by the whole run."""
    run = request.config.stash[RUN]
    settings = run.settings
    if settings.existing_cluster:
        handle = run.existing.cluster()
        if request.node.get_closest_marker("smoke"):
            pytest.skip(not_made_from(test_plan))
        kind_nodes = request.node.get_closest_marker("kind_nodes") is not None
        reason = run.existing.skip_reason(handle, test_plan, kind_nodes)
        if reason:
            pytest.skip(reason)
        return handle
    started = time.monotonic()
    try:
        handle = run.cluster_for(test_plan.profile)
    except ClusterError as exc:
        pytest.fail(str(exc), pytrace=False)
    # the report separates the wait for the cluster from the test's own time (benchmarks)
    request.node.user_properties.append(("cluster_wait", round(time.monotonic() - started, 3)))
    return handle


@pytest.fixture
def kube(request: pytest.FixtureRequest, cluster: Cluster) -> Iterator[Kube]:
    """A namespace of the test's own in its cluster, with manifests, waits and cleanup."""
    from kconformance.manifests import ManifestSet
    from kconformance.transient import transient_retry
    from kconformance.waits import wait_for
    from kconformance.workspace import Kube, create_namespace, namespace_name

    run = request.config.stash[RUN]
    name = namespace_name(request.node.name)
    create_namespace(cluster, name, {"kconformance.io/run": run.identity.run_id})
    # Pods are refused until the namespace's default ServiceAccount exists: wait for it.
    wait_for(cluster, "ServiceAccount", bool, name="default", namespace=name, timeout=60)
    workspace = Kube(cluster, name, ManifestSet(run.settings.manifests_dir, cluster.images))
    request.node.stash[WORKSPACE] = workspace
    yield workspace
    problems = workspace.cleanup()
    reports = request.node.stash.get(REPORTS, {})
    failed = any(r.failed for r in reports.values())
    if failed and run.settings.keep_namespaces:
        run.log and run.log(f"kconformance: kept namespace {name} of failed {request.node.nodeid}")
    else:
        try:
            transient_retry(cluster.core.delete_namespace)(name, propagation_policy="Background")
        except Exception as exc:
            problems.append(f"namespace {name}: {exc}")
    if problems:
        raise ClusterError("cleanup left objects behind: " + "; ".join(problems))


# -- reporting -----------------------------------------------------------------------------
@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[Any]:
    report: pytest.TestReport = yield
    item.stash.setdefault(REPORTS, {})[report.when] = report
    if report.failed and report.when in ("setup", "call") and WORKSPACE in item.stash:
        from kconformance import diagnostics

        workspace = item.stash[WORKSPACE]
        text = diagnostics.dump_text(workspace.cluster, workspace.namespace)
        report.sections.append(("Captured stdout kconformance diagnostics", text))
        folder = item.config.stash[RUN].settings.artifacts_dir / "diagnostics"
        path = diagnostics.write_dump(text, folder, item.nodeid)
        report.user_properties.append(("diagnostics", str(path)))
    return report
