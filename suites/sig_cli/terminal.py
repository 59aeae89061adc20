"""Drive an interactive command through a pseudo-terminal, as a person at a prompt would."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import time
from collections.abc import Mapping, Sequence


def answer_prompt(
    argv: Sequence[str], prompt: str, answer: str, env: Mapping[str, str], timeout: float = 30
) -> tuple[int, str]:
    """Run ``argv`` on a pty, type ``answer`` once ``prompt`` shows (compared without case:
    kubectl 1.28 asks "(y/n)", later releases "(y/N)"), return (exit code, screen)."""
    master, slave = pty.openpty()
    proc = subprocess.Popen(
        list(argv),
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env={**os.environ, **env},
        close_fds=True,
    )
    os.close(slave)
    screen = b""
    answered = False
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.5)
            if ready:
                try:
                    chunk = os.read(master, 4096)
                except OSError:
                    break  # the child closed the terminal
                if not chunk:
                    break
                screen += chunk
                if not answered and prompt.lower().encode() in screen.lower():
                    os.write(master, answer.encode() + b"\n")
                    answered = True
            elif proc.poll() is not None:
                break
        code = proc.wait(timeout=max(1.0, deadline - time.monotonic()))
    finally:
        if proc.poll() is None:
            proc.kill()
        os.close(master)
    return code, screen.decode(errors="replace").replace("\r\n", "\n")
