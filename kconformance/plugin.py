"""The pytest hook layer: options, markers, fixtures, and wiring to the run.

Registered through the ``pytest11`` entry point so options and markers work from any rootdir.
Logic lives in the modules it calls; this file only decides when things happen.
"""

from __future__ import annotations

import json
import shutil
import signal
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest

from kconformance import components, diagnostics, proof
from kconformance.catalog import SIGS, Catalog
from kconformance.client import Cluster
from kconformance.errors import ClusterError, KconformanceError
from kconformance.featurestate import live_feature_off_reason
from kconformance.manifests import ManifestSet
from kconformance.planning import TestPlan, plan_test, validate_run_profiles
from kconformance.pool import Event
from kconformance.profiles import validate_profile
from kconformance.report import ReportCollector
from kconformance.runtime import Run, RunIdentity
from kconformance.settings import add_options, read_settings
from kconformance.waits import wait_for
from kconformance.workspace import Kube, namespace_name

RUN = pytest.StashKey[Run]()
PLAN = pytest.StashKey[TestPlan]()
REPORTS = pytest.StashKey[dict[str, pytest.TestReport]]()
WORKSPACE = pytest.StashKey[Kube]()
COLLECTOR = pytest.StashKey[ReportCollector]()


def pytest_addoption(parser: pytest.Parser) -> None:
    add_options(parser)


def _is_worker(config: pytest.Config) -> bool:
    return hasattr(config, "workerinput")


def _write_line(config: pytest.Config, line: str) -> None:
    """Print outside of output capture, so cluster progress shows while tests run."""
    terminal = config.pluginmanager.get_plugin("terminalreporter")
    capman = config.pluginmanager.get_plugin("capturemanager")
    if terminal is None:
        return
    if capman is not None and threading.current_thread() is threading.main_thread():
        with capman.global_and_fixture_disabled():
            terminal.ensure_newline()
            terminal.write_line(line)
    else:
        terminal.ensure_newline()
        terminal.write_line(line)


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
    try:
        settings = read_settings(config)
        if not _is_worker(config):
            validate_run_profiles(settings)
    except KconformanceError as exc:
        raise pytest.UsageError(str(exc)) from None
    if _is_worker(config):
        identity = RunIdentity.from_workerinput(config.workerinput)  # type: ignore[attr-defined]
        index = int(str(config.workerinput.get("workerid", "gw0")).lstrip("gw") or 0)  # type: ignore[attr-defined]
        run = Run(settings, identity, is_controller=False, worker_index=index)
    else:
        run = Run(settings, RunIdentity.new(), is_controller=True)
        run.on_event = lambda event: _write_line(config, event.line())
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, _sigterm_to_interrupt)
    run.log = lambda line: _write_line(config, line)
    if settings.existing_cluster and not settings_release_given(config):
        _adopt_server_release(run)
    config.stash[RUN] = run
    config.stash[COLLECTOR] = ReportCollector(settings.catalog)
    if not _is_worker(config):
        config.pluginmanager.register(
            _ControllerReports(config.stash[COLLECTOR]), "kconformance-reports"
        )
    if settings.prove:
        config.pluginmanager.register(proof.ProofVerdicts(), "kconformance-proof")


def settings_release_given(config: pytest.Config) -> bool:
    return bool(config.getoption("k8s_version"))


def _adopt_server_release(run: Run) -> None:
    """Against an existing cluster, the release is the server's, so skips match what it runs."""
    from kconformance.catalog import normalize_release

    cluster = run.existing_cluster()
    try:
        release = normalize_release(cluster.server_version())
    except Exception as exc:
        raise pytest.UsageError(
            f"--kubeconfig {cluster.kubeconfig}: cannot reach the cluster: {exc}"
        ) from None
    try:
        run.settings.catalog.release(release)
    except KconformanceError as exc:
        raise pytest.UsageError(str(exc)) from None
    run.settings.releases = [release]
    cluster.release = release


def _sigterm_to_interrupt(signum: int, frame: Any) -> None:
    """CI cancels with SIGTERM: treat it as Ctrl-C so pytest runs its teardown and we delete."""
    raise KeyboardInterrupt(f"signal {signum}")


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    """xdist controller: hand each worker the run it belongs to."""
    run = node.config.stash[RUN]
    node.workerinput.update(run.identity.as_workerinput())


def pytest_report_header(config: pytest.Config) -> list[str]:
    run = config.stash[RUN]
    settings = run.settings
    mode = f"existing cluster {settings.kubeconfig}" if settings.existing_cluster else "kind"
    return [
        f"kconformance: releases {', '.join(settings.releases)}; {mode}; run {run.identity.run_id}"
        + ("; --keep-clusters" if settings.keep_clusters else "")
    ]


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
    """Plan every test before -m/-k deselect (which runs inside), check the host after it."""
    _plan_items(config, items)
    _select_features(config, items)
    yield
    _check_host_for_selected(config, items)


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
            item.user_properties += [
                ("sig", feature.sig),
                ("feature", feature.name),
                ("kep", str(feature.kep)),
            ]
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
            raise pytest.UsageError(str(exc)) from None
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


def _needs_cluster(item: pytest.Item) -> bool:
    return PLAN in item.stash and item.get_closest_marker("skip") is None


def _needed_profiles(items: list[pytest.Item]) -> dict[str, Any]:
    profiles: dict[str, Any] = {}
    for item in items:
        if _needs_cluster(item):
            profile = item.stash[PLAN].profile
            profiles.setdefault(profile.key, profile)
    return profiles


def _check_host_for_selected(config: pytest.Config, items: list[pytest.Item]) -> None:
    """After -m/-k selection: check Docker, kind and node images once, before any creation.

    An xdist worker cannot stop the run from here (xdist reports an internal error), so it
    deselects what needs a cluster and leaves the message for the controller to print.
    """
    run = config.stash[RUN]
    if config.option.collectonly or run.settings.existing_cluster:
        return
    profiles = _needed_profiles(items)
    if not profiles:
        return
    try:
        run.check_components(profiles.values())
        run.check_host(
            {p.release for p in profiles.values()}, sum(p.nodes for p in profiles.values())
        )
    except KconformanceError as exc:
        if not _is_worker(config):
            raise pytest.UsageError(str(exc)) from None
        blocked = [item for item in items if _needs_cluster(item)]
        items[:] = [item for item in items if not _needs_cluster(item)]
        config.hook.pytest_deselected(items=blocked)
        run.identity.run_dir.mkdir(parents=True, exist_ok=True)
        (run.identity.run_dir / "preflight-error.txt").write_text(str(exc))


def pytest_collection_finish(session: pytest.Session) -> None:
    """Under xdist, start creating the clusters the selected tests need, one per worker."""
    config = session.config
    run = config.stash[RUN]
    if config.option.collectonly or run.settings.existing_cluster or not _is_worker(config):
        return
    profiles = _needed_profiles(session.items)
    if profiles and run.settings.prefetch:
        run.pool.prefetch(list(profiles.values()), run.worker_index)


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_node_collection_finished(node: Any, ids: list[str]) -> None:
    """xdist controller: start printing the workers' cluster events as they happen."""
    run = node.config.stash[RUN]
    if run.tail_started:
        return
    run.tail_started = True
    thread = threading.Thread(
        target=_tail_events, args=(node.config, run), name="kconformance-events", daemon=True
    )
    thread.start()


def _tail_events(config: pytest.Config, run: Run) -> None:
    while not run.stop_tail:
        _print_new_events(config, run)
        time.sleep(0.5)  # tailing a file: the only polling in the tool, and not a test wait


_TAIL_LOCK = threading.Lock()


def _print_new_events(config: pytest.Config, run: Run) -> None:
    """Print the workers' cluster events not printed yet (from the tail thread, and once more
    at the end so the last ones are never lost)."""
    path = run.identity.run_dir / "events.jsonl"
    with _TAIL_LOCK:
        if not path.exists():
            return
        lines = path.read_text().splitlines()
        for line in lines[run.events_seen :]:
            try:
                _write_line(config, Event(**json.loads(line)).line())
            except (ValueError, TypeError):
                pass
        run.events_seen = len(lines)


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
        handle = run.existing_cluster()
        _skip_unless_live(run, handle, test_plan)
        return handle
    try:
        return run.cluster_for(test_plan.profile)
    except ClusterError as exc:
        pytest.fail(str(exc), pytrace=False)


def _skip_unless_live(run: Run, handle: Cluster, plan: TestPlan) -> None:
    feature = plan.feature
    if feature is None:
        return
    catalog = run.settings.catalog
    reason = feature.unavailable_reason(handle.release)
    if reason:
        pytest.skip(f"{feature.name} on {handle.release}: {reason}")
    off = live_feature_off_reason(catalog, handle.release, run.live_gates(handle), feature)
    if plan.expects_off:
        if off is None:
            pytest.skip(f"{feature.name} is on in this cluster; this test shows it off")
        return
    if off:
        pytest.skip(off)
    if feature.kubelet or feature.apiserver_args or feature.controller_manager_args:
        pytest.skip(
            f"{feature.name} needs profile {plan.profile.name!r} component settings that an "
            "existing cluster is not checked for; run it on kind"
        )
    if plan.profile.nodes > 1:
        pytest.skip(f"{feature.name} needs a {plan.profile.nodes}-node profile; run it on kind")


@pytest.fixture
def kube(request: pytest.FixtureRequest, cluster: Cluster) -> Iterator[Kube]:
    """A namespace of the test's own in its cluster, with manifests, waits and cleanup."""
    run = request.config.stash[RUN]
    name = namespace_name(request.node.name)
    cluster.core.create_namespace(
        {"metadata": {"name": name, "labels": {"kconformance.io/run": run.identity.run_id}}}
    )
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
            cluster.core.delete_namespace(name, propagation_policy="Background")
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
        workspace = item.stash[WORKSPACE]
        try:
            text = diagnostics.format_dump(
                diagnostics.collect(workspace.cluster, workspace.namespace)
            )
        except Exception as exc:  # never let diagnostics mask the failure itself
            text = f"diagnostics could not be collected: {exc}"
        report.sections.append(("Captured stdout kconformance diagnostics", text))
        run = item.config.stash[RUN]
        folder = run.settings.artifacts_dir / "diagnostics"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / (item.nodeid.replace("/", "_").replace("::", "__") + ".txt")
        path.write_text(text)
        report.user_properties.append(("diagnostics", str(path)))
    return report


class _ControllerReports:
    """Registered on the controller only: every report, from every worker, feeds the report."""

    def __init__(self, collector: ReportCollector) -> None:
        self.collector = collector

    @pytest.hookimpl(trylast=True)
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        self.collector.add(report)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    config = session.config
    run = config.stash[RUN]
    if _is_worker(config) or not run.is_controller:
        return
    run.stop_tail = True
    if run.tail_started:
        _print_new_events(config, run)
    collector = config.stash[COLLECTOR]
    preflight_error = run.identity.run_dir / "preflight-error.txt"
    if preflight_error.exists():
        message = preflight_error.read_text()
        _write_line(config, f"ERROR: {message}")
        session.exitstatus = pytest.ExitCode.USAGE_ERROR
    if run.identity.run_dir.exists():
        if run.tail_started:
            run.pool.on_event = None  # teardown events: printed below from the file, once
        run.pool.teardown()
        if run.tail_started:
            _print_new_events(config, run)
        collector.add_cluster_events(run.pool.events())
        shutil.rmtree(run.identity.run_dir, ignore_errors=True)
    settings = run.settings
    if settings.report and not config.option.collectonly:
        if collector.has_results:
            written = collector.write(settings.report_dir, settings.releases)
            run.log and run.log(
                f"kconformance: report written to {', '.join(str(p) for p in written)}"
            )


def pytest_sessionstart(session: pytest.Session) -> None:
    config = session.config
    run = config.stash[RUN]
    if _is_worker(config) or run.settings.existing_cluster or config.option.collectonly:
        return
    try:
        swept = run.pool.sweep()
    except KconformanceError:
        swept = []
    finally:
        if run.identity.run_dir.exists() and not any(run.identity.run_dir.iterdir()):
            run.identity.run_dir.rmdir()
    for name in swept:
        _write_line(config, f"kconformance: removed cluster {name} left by a run that died")


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    if _is_worker(config):
        return
    collector = config.stash[COLLECTOR]
    lines = collector.timing_lines()
    if lines:
        terminalreporter.section("kconformance timings")
        for line in lines:
            terminalreporter.write_line(line)
    if config.stash[RUN].settings.prove:
        terminalreporter.section("kconformance feature-off proof")
        for line in collector.proof_lines():
            terminalreporter.write_line(line)
