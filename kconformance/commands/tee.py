"""The long child processes a command starts (pytest, hack/build.sh): shown live and kept."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def tee(argv: list[str], log: Path) -> int:
    """Run argv, its output both on the terminal and in ``log``."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("w") as sink:
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        assert proc.stdout is not None
        for line in proc.stdout:
            sys.stdout.write(line)
            sink.write(line)
        return proc.wait()
