"""Subprocesses start in their own session without preexec_fn, and die with their parent."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from kconformance import process
from kconformance.errors import CommandError


def test_child_runs_in_a_session_of_its_own():
    """A terminal's Ctrl-C goes to pytest, never straight to `kind delete`."""
    out = process.run([sys.executable, "-c", "import os; print(os.getsid(0))"]).stdout
    assert int(out) != os.getsid(0)


def test_no_preexec_fn_is_passed(monkeypatch):
    """preexec_fn is unsafe while other threads start subprocesses (prefetch does)."""
    seen = {}
    real = subprocess.run

    def spy(*args, **kwargs):
        seen.update(kwargs)
        return real(*args, **kwargs)

    monkeypatch.setattr(subprocess, "run", spy)
    process.run(["true"])
    assert seen.get("preexec_fn") is None
    assert seen.get("start_new_session") is True


def test_threads_start_subprocesses_at_once():
    outputs: list[str] = []
    threads = [
        threading.Thread(target=lambda i=i: outputs.append(process.run(["echo", str(i)]).stdout))
        for i in range(8)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(int(o) for o in outputs) == list(range(8))


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")
def test_child_dies_with_its_parent(tmp_path):
    """A worker killed with SIGKILL leaves no `kind create` running."""
    pidfile = tmp_path / "pid"
    parent = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from kconformance import process; "
            f"process.run(['sh', '-c', 'echo $$ > {pidfile}; exec sleep 60'])",
        ]
    )
    deadline = time.monotonic() + 20
    while not (pidfile.exists() and pidfile.read_text().strip()) and time.monotonic() < deadline:
        time.sleep(0.05)
    child = int(pidfile.read_text())
    parent.send_signal(signal.SIGKILL)
    parent.wait(10)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        if not _running(child):
            return
        time.sleep(0.02)
    os.kill(child, signal.SIGKILL)
    pytest.fail("the child outlived its parent")


def _running(pid: int) -> bool:
    """Whether ``pid`` still runs. A zombie (state Z) has died and only waits for init, not
    us, to reap it; this sandbox's init does that about 1.6 s later."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def test_missing_binary_is_a_command_error():
    with pytest.raises(CommandError, match="no-such-binary-x: not found on PATH"):
        process.run(["no-such-binary-x"])
