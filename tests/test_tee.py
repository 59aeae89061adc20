"""tee: an interrupt of the command reaches its child's process group once, and is waited out."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

# argv[1]: the name it reports; on SIGINT it writes "<name> interrupted" (one write, no
# interleaving), waits a second (tearing down: a second interrupt would arrive now), exits.
INTERRUPTIBLE = """
import os, subprocess, sys, time
try:  # Python's own KeyboardInterrupt, which it does not install when started with SIGINT ignored
    if sys.argv[1] == "pytest":  # its xdist worker shares its process group
        worker = subprocess.Popen([sys.executable, "-c", CODE, "worker"], stderr=subprocess.PIPE)
        worker.stderr.readline()
        print("ready", flush=True)
    else:
        print("ready", file=sys.stderr, flush=True)
    time.sleep(60)
except KeyboardInterrupt:
    os.write(1, sys.argv[1].encode() + b" interrupted\\n")
time.sleep(1)  # a second interrupt here would end it with a traceback
sys.exit(3)
"""
CHILD = f"CODE = {INTERRUPTIBLE!r}\n{INTERRUPTIBLE}"

PARENT = """
import sys
from pathlib import Path
from kconformance.commands.tee import tee
try:
    tee([sys.executable, "-c", sys.argv[1], "pytest"], Path(sys.argv[2]))
except KeyboardInterrupt:
    print("parent interrupted", flush=True)
    sys.exit(130)
"""


@pytest.mark.parametrize("ignored", [False, True], ids=["foreground", "started-in-background"])
def test_interrupt_reaches_the_child_group_once_and_the_command_waits_for_it(
    tmp_path: Path, ignored: bool
):
    """`kill -INT` of stress alone used to leave pytest and its clusters running; a Ctrl-C at
    the terminal (the whole group) must still reach pytest and its workers only once. Started
    with SIGINT ignored (`cmd &` in a script), the command still passes the interrupt on."""
    log = tmp_path / "child.log"
    parent = subprocess.Popen(
        [sys.executable, "-c", PARENT, CHILD, str(log)],
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
        preexec_fn=(lambda: signal.signal(signal.SIGINT, signal.SIG_IGN)) if ignored else None,
    )
    assert parent.stdout is not None
    assert parent.stdout.readline().strip() == "ready"
    os.killpg(parent.pid, signal.SIGINT)
    rest = parent.stdout.read()
    assert parent.wait(timeout=30) == 130
    interrupted = ["pytest interrupted", "worker interrupted"]
    assert sorted(rest.splitlines()) == ["parent interrupted", *interrupted]
    lines = log.read_text().splitlines()
    assert lines[0] == "ready"
    assert sorted(lines[1:]) == interrupted
