"""Subprocesses: argv lists, output kept for the error message, never orphaned."""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
from collections.abc import Mapping, Sequence

from kconformance.errors import CommandError

_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:  # pragma: no cover - runs in the child
    """Kill the child when its parent dies, so a crashed worker never leaves `kind create` going."""
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    except OSError:
        pass


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
    try:
        proc = subprocess.run(
            list(argv),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=timeout,
            env=full_env,
            input=input_text,
            preexec_fn=_die_with_parent if os.name == "posix" else None,
        )
    except FileNotFoundError:
        raise CommandError(argv, 127, f"{argv[0]}: not found on PATH") from None
    except subprocess.TimeoutExpired as exc:
        out = exc.output.decode() if isinstance(exc.output, bytes) else (exc.output or "")
        raise CommandError(argv, -1, f"{out}\n(timed out after {timeout}s)") from None
    if check and proc.returncode != 0:
        raise CommandError(argv, proc.returncode, proc.stdout)
    return proc
