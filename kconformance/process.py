"""Subprocesses: argv lists, output kept for the error message, never orphaned.

Children start in a session of their own (``start_new_session``), so a Ctrl-C at the terminal
reaches pytest, which decides what to stop, and never cuts a ``kind delete`` short. No
``preexec_fn``: it is unsafe while other threads start subprocesses (prefetch does). Instead,
on Linux, a two-line shim run as the child sets PR_SET_PDEATHSIG and execs the command, so a
crashed worker still never leaves ``kind create`` going.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Mapping, Sequence

from kconformance.errors import CommandError

# prctl(PR_SET_PDEATHSIG, SIGKILL), then exec; exit if the parent already died before prctl.
_DIE_WITH_PARENT = (
    "import ctypes,os,sys\n"
    "ppid=int(sys.argv[1])\n"
    "ctypes.CDLL('libc.so.6').prctl(1,9)\n"
    "os.getppid()==ppid or sys.exit(137)\n"
    "os.execvp(sys.argv[2],sys.argv[2:])"
)


def _argv_dying_with_parent(argv: Sequence[str]) -> list[str]:
    if not sys.platform.startswith("linux"):
        return list(argv)
    return [sys.executable, "-I", "-S", "-c", _DIE_WITH_PARENT, str(os.getpid()), *argv]


def run(
    argv: Sequence[str],
    *,
    timeout: float | None = None,
    env: Mapping[str, str] | None = None,
    input_text: str | None = None,
    check: bool = True,
) -> subprocess.CompletedProcess[str]:
    """Run a command, stdout and stderr merged; raise CommandError with its tail on failure."""
    full_env = None if env is None else {**os.environ, **env}
    path = (full_env or os.environ).get("PATH")
    binary = argv[0] if os.sep in argv[0] else shutil.which(argv[0], path=path)
    if binary is None or not os.access(binary, os.X_OK):
        raise CommandError(argv, 127, f"{argv[0]}: not found on PATH")
    try:
        proc = subprocess.run(
            _argv_dying_with_parent([binary, *argv[1:]]),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=timeout,
            env=full_env,
            input=input_text,
            start_new_session=True,
        )
    except FileNotFoundError:
        raise CommandError(argv, 127, f"{argv[0]}: not found on PATH") from None
    except subprocess.TimeoutExpired as exc:
        out = exc.output.decode() if isinstance(exc.output, bytes) else (exc.output or "")
        raise CommandError(argv, -1, f"{out}\n(timed out after {timeout}s)") from None
    if check and proc.returncode != 0:
        raise CommandError(argv, proc.returncode, proc.stdout)
    return proc
