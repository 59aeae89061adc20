"""The controller's plugin: what only the process that owns the run does.

Under ``-n 0`` that is the only process; under xdist it is the xdist controller, which runs no
tests itself. It hands workers the run identity, prints the
workers' cluster events as they happen, collects every test report, and at the end tears the
run's clusters down and writes the feature report. Registered from ``pytest_configure``, the way
pytest-xdist registers its ``DSession`` only on the controller.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from kconformance.artifacts import cache_dir
from kconformance.deletion import undeleted_line
from kconformance.errors import KconformanceError
from kconformance.lifetimes import ClusterLifetimes, write_plan
from kconformance.ordering import DURATIONS_FILE, record_durations
from kconformance.report import ReportCollector
from kconformance.runtime import Run
from kconformance.settings import spelled
from kconformance.stash import tests_by_profile
from kconformance.terminal import write_line


def _sigterm_to_interrupt(signum: int, frame: Any) -> None:
    """CI cancels with SIGTERM: treat it as Ctrl-C so pytest runs its teardown and we delete."""
    raise KeyboardInterrupt(f"signal {signum}")


@contextmanager
def signals_deferred(say: Any) -> Iterator[None]:
    """Let teardown finish under a second SIGINT/SIGTERM (CI cancel sends SIGINT, then SIGTERM):
    while it runs, those signals are reported, not raised. kind runs in its own session (see
    process.run), so a terminal's Ctrl-C does not reach it either."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def deferred(signum: int, frame: Any) -> None:
        say(f"kconformance: {signal.Signals(signum).name} during teardown: still deleting clusters")

    previous = {sig: signal.signal(sig, deferred) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


class ControllerPlugin:
    """Pre-flight, event tail, report collection, teardown and report: the run's owner.

    Passive until kconformance tests are selected (``activate``): a pytest run of anything
    else gets no header, no SIGTERM handler, no timings and no report from it.
    """

    name = "kconformance-controller"

    def __init__(
        self,
        config: pytest.Config,
        run: Run,
        collector: ReportCollector,
        clashes: list[str] | None = None,
    ) -> None:
        self.config = config
        self.run = run
        self.collector = collector
        self.clashes = clashes or []  # short option names another plugin owns here
        self.active = False
        self._clashes_said = False
        self._previous_sigterm: Any = None
        self._xdist_started = False
        self._tail: threading.Thread | None = None
        self._stop_tail = threading.Event()
        self._print_lock = threading.Lock()
        # the pool is made lazily, after on_event is set below: reach it only when releasing
        self.lifetimes = ClusterLifetimes(run.identity.run_dir, lambda key: run.pool.release(key))
        run.on_event = lambda event: write_line(config, event.line())

    # -- the run starts -------------------------------------------------------------------------
    def activate(self) -> None:
        """kconformance tests were selected: say which run this is, and let CI's SIGTERM
        cancel it like Ctrl-C (so pytest runs its teardown and the clusters are deleted)."""
        if self.active:
            return
        self.active = True
        if threading.current_thread() is threading.main_thread():
            self._previous_sigterm = signal.signal(signal.SIGTERM, _sigterm_to_interrupt)
        settings = self.run.settings
        if self.config.get_verbosity() >= 0:
            mode = (
                f"existing cluster {settings.kubeconfig}" if settings.existing_cluster else "kind"
            )
            write_line(
                self.config,
                f"kconformance: releases {', '.join(settings.releases)}; {mode}; "
                f"run {self.run.identity.run_id}"
                + ("; --keep-clusters" if settings.keep_clusters else ""),
            )
        self._say_clashes()

    def pytest_sessionstart(self, session: pytest.Session) -> None:
        """A short option name typed on the command line that another plugin owns went to that
        plugin: say so before anything else can go wrong because of it."""
        args = [str(a).split("=", 1)[0] for a in self.config.invocation_params.args]
        if any(name in args for name in self.clashes):
            self._say_clashes()

    def _say_clashes(self) -> None:
        """One warning line, shown also under -q."""
        if not self.clashes or self._clashes_said:
            return
        self._clashes_said = True
        names = self.clashes
        ours = ", ".join("--kc-" + name[2:] for name in names)
        write_line(
            self.config,
            f"kconformance: WARNING: {', '.join(names)} "
            f"{'belongs' if len(names) == 1 else 'belong'} to another plugin here; "
            f"kconformance reads {ours}",
        )

    def pytest_unconfigure(self, config: pytest.Config) -> None:
        if self._previous_sigterm is not None:
            signal.signal(signal.SIGTERM, self._previous_sigterm)
            self._previous_sigterm = None

    def selected(self, items: list[pytest.Item], profiles: list[Any]) -> None:
        """Without xdist the controller collects: start the run, check the host now, and stop
        the run on a problem before anything is created."""
        self.activate()
        if not profiles:
            return
        try:
            self.run.preflight(profiles)
        except KconformanceError as exc:
            raise pytest.UsageError(spelled(str(exc), self.clashes)) from None

    # -- xdist: the workers -------------------------------------------------------------------
    @pytest.hookimpl(optionalhook=True)
    def pytest_configure_node(self, node: Any) -> None:
        """Hand each worker the run it belongs to."""
        node.workerinput.update(self.run.identity.as_workerinput())

    @pytest.hookimpl(optionalhook=True)
    def pytest_xdist_node_collection_finished(self, node: Any, ids: list[str]) -> None:
        """When the first worker's collection selected kconformance tests (every worker
        collects the same): start the run, print the workers' cluster events as they happen,
        and check the host for what the tests need."""
        if self._xdist_started:
            return
        self._xdist_started = True
        needs = self.run.read_preflight_needs(str(node.gateway.id))
        if needs is None:
            return  # no kconformance test selected: stay passive
        self.activate()
        self.run.pool.on_event = None  # from now on the tail prints every event, once
        self._tail = threading.Thread(target=self._tail_events, name="kconformance-events")
        self._tail.daemon = True
        self._tail.start()
        self._preflight(needs)

    def _preflight(self, needs: dict[str, Any]) -> None:
        """Pre-flight from a worker's collection; the workers' prefetch waits for the verdict.

        The tests are not scheduled before this returns, and a problem ends the run like a
        usage error (exit 4, one line), as without xdist."""
        run = self.run
        error = needs.get("error")
        releases = needs.get("releases") or []
        if not releases and not error:
            return  # nothing to create (an existing cluster, or every test skipped)
        if not error:
            try:
                run.check_host(releases, int(needs.get("nodes") or 0))
            except KconformanceError as exc:
                error = str(exc)
        run.write_preflight_verdict(error)
        if error:
            raise pytest.UsageError(spelled(error, self.clashes))

    def _tail_events(self) -> None:
        # tailing a file: the only polling in the tool, and not a test wait
        while not self._stop_tail.wait(0.5):
            self._print_new_events()

    def _print_new_events(self) -> None:
        """Print the events not printed yet (from the tail, and once more at the end)."""
        with self._print_lock:
            for event in self.run.pool.event_log.unseen():
                write_line(self.config, event.line())

    # -- session ------------------------------------------------------------------------------
    def pytest_collection_finish(self, session: pytest.Session) -> None:
        """Without xdist the controller collects: it says which profile each test runs on."""
        plan = tests_by_profile(session.items)
        if plan and not self._keeps_clusters():
            write_plan(self.run.identity.claim_dir(), plan)

    def _keeps_clusters(self) -> bool:
        settings = self.run.settings
        return settings.keep_clusters or settings.existing_cluster

    @pytest.hookimpl(trylast=True)
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        """Every report, from every worker, feeds the feature report; a test's last report
        may free its profile's cluster."""
        self.collector.add(report)
        if report.when == "teardown" and not self._keeps_clusters():
            self.lifetimes.test_finished(report.nodeid)

    @pytest.hookimpl(wrapper=True, trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> Iterator[None]:
        """Around pytest's own (which finalizes the tests' fixtures, e.g. their namespaces, also
        after Ctrl-C) and xdist's (which stops the workers): only after them are the clusters
        deleted - and also when a second Ctrl-C or SIGTERM cut those short."""
        try:
            return (yield)
        finally:
            with signals_deferred(lambda line: write_line(self.config, line)):
                self._finish(session)

    def _finish(self, session: pytest.Session) -> None:
        self._stop_tail.set()
        tailing = self._tail is not None
        if tailing:
            self._print_new_events()
        try:
            left = self._teardown(tailing)
        finally:
            self._write_report()
        if left and session.exitstatus == pytest.ExitCode.OK:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED  # a cluster outlived its run

    def _teardown(self, tailing: bool) -> list[str]:
        """Delete the run's clusters; return the names of those ``kind delete`` left."""
        run = self.run
        if not run.identity.run_dir.exists():
            return []  # no process of this run got as far as a cluster
        if run.settings.existing_cluster:
            run.remove_run_dir()  # the workers' hand-over files
            return []
        self.lifetimes.wait()
        if tailing:
            self._print_new_events()
            run.pool.on_event = None  # teardown events: printed below from the file, once
        left = run.pool.teardown()
        if tailing:
            self._print_new_events()
        events = run.pool.events()
        self.collector.add_cluster_events(events)
        # an early release (lifetimes) whose delete failed was retried by teardown above; a dead
        # run's cluster that the start-up sweep failed to delete is still registered
        registry = run.pool.registry
        failed = {e.name for e in events if e.event == "delete failed"}
        still = {name for name in failed if registry.path(name).exists()}
        undeleted = sorted({r.name for r in left} | still)
        self.collector.undeleted = undeleted
        record_durations(
            cache_dir() / DURATIONS_FILE,
            {
                r.nodeid: r.duration
                for r in self.collector.results.values()
                if r.outcome != "skipped"
            },
        )
        if undeleted:
            write_line(self.config, undeleted_line(undeleted))
        run.remove_run_dir()
        return undeleted

    def _write_report(self) -> None:
        settings = self.run.settings
        if not self.active or self.config.option.collectonly or not settings.report:
            return
        if self.collector.has_results:
            written = self.collector.write(settings.report_dir, settings.releases)
            write_line(
                self.config,
                f"kconformance: report written to {', '.join(str(p) for p in written)}",
            )

    def pytest_terminal_summary(self, terminalreporter: Any, exitstatus: int) -> None:
        if not self.active:
            return
        lines = self.collector.timing_lines()
        if lines:
            terminalreporter.section("kconformance timings")
            for line in lines:
                terminalreporter.write_line(line)
        if self.run.settings.prove and self.collector.has_results:
            terminalreporter.section("kconformance feature-off proof")
            for line in self.collector.proof_lines():
                terminalreporter.write_line(line)
