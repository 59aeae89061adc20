"""The long child processes a command starts (pytest, hack/build.sh): shown live and kept."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

# Reset SIGINT to its default, then exec: a command started in the background of a script
# inherits SIGINT ignored (POSIX, without job control), and Python keeps an ignored SIGINT
# ignored - its child would never see the interrupt passed on to it.
_INTERRUPTIBLE = (
    "import os,signal,sys\n"
    "signal.signal(signal.SIGINT,signal.SIG_DFL)\n"
    "os.execvp(sys.argv[1],sys.argv[1:])"
)


def tee(argv: list[str], log: Path) -> int:
    """Run argv, its output both on the terminal and in ``log``.

    The child runs in a session of its own and an interrupt of this process (a terminal's
    Ctrl-C or a ``kill -INT`` of it alone) is passed on to the child's process group, as a
    terminal would (pytest-xdist's workers too), so it reaches each of them exactly once (given
    twice, pytest cuts its own teardown short). The output is read on until the
    child has ended, so a pytest child gets to delete its clusters, and no line is lost, before
    the interrupt goes on up.
    """
    log.parent.mkdir(parents=True, exist_ok=True)
    interrupts: list[int] = []
    with log.open("w") as sink:
        proc = subprocess.Popen(
            [sys.executable, "-I", "-S", "-c", _INTERRUPTIBLE, *argv],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )

        def pass_on(signum: int, _frame: object) -> None:
            interrupts.append(signum)
            os.killpg(proc.pid, signum)

        previous = signal.signal(signal.SIGINT, pass_on)
        try:
            assert proc.stdout is not None
            for line in proc.stdout:
                sys.stdout.write(line)
                sink.write(line)
            code = proc.wait()
        finally:
            signal.signal(signal.SIGINT, previous)
    if interrupts:
        raise KeyboardInterrupt
    return code
