"""The pytest command line of one whole-suite run on one release, as matrix and stress run it."""

from __future__ import annotations

from pathlib import Path


def suite_argv(
    release: str,
    workers: str,
    *,
    junit: Path,
    report_dir: Path,
    extra: list[str],
    artifacts_dir: Path | None = None,
) -> list[str]:
    """``pytest suites`` on ``release`` with its own JUnit and report (and diagnostics where
    given), ``-rfEs`` for the failures' and skips' reasons in the log, no cache directory left
    in the working tree; ``extra`` last, so the caller's arguments win."""
    argv = [
        "pytest",
        "suites",
        "-n",
        workers,
        "--k8s-version",
        release,
        "-rfEs",
        "-p",
        "no:cacheprovider",
        "--junitxml",
        str(junit),
        "--report-dir",
        str(report_dir),
    ]
    if artifacts_dir is not None:
        argv += ["--artifacts-dir", str(artifacts_dir)]
    return argv + extra
