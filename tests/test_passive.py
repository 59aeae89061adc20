"""Installed, kconformance loads into every pytest run of the environment. A run that selects
none of its tests must not notice it: no header, no SIGTERM handler, no timings, no files. An
option name another plugin owns stays that plugin's, with one warning line."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

PLAIN = """
import signal

def test_plain():
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL
"""


@pytest.mark.parametrize("workers", [[], ["-n", "2"]], ids=["n0", "n2"])
def test_a_run_without_kconformance_tests_shows_no_sign_of_it(
    pytester: pytest.Pytester, _private_cache: Path, workers: list[str]
):
    pytester.makeini("[pytest]\n")
    pytester.makepyfile(test_plain=PLAIN)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", *workers)
    result.assert_outcomes(passed=1)
    out = result.stdout.str() + result.stderr.str()
    assert "kconformance:" not in out
    assert "kconformance timings" not in out
    assert not (_private_cache / "runs").exists()
    assert not (_private_cache / "durations.json").exists()
    assert not (pytester.path / "reports").exists()


SUITE = """
import pytest

@pytest.mark.feature("PodIndexLabel")
def test_collected(k8s_release):
    pass
"""


def test_a_run_with_kconformance_tests_says_which_run_it_is(pytester: pytest.Pytester):
    pytester.makeini("[pytest]\n")
    pytester.makepyfile(test_suite=SUITE)
    result = pytester.runpytest_inprocess(
        "-p", "no:cacheprovider", "--k8s-version", "1.28", "--collect-only"
    )
    result.stdout.fnmatch_lines(["kconformance: releases 1.28; kind; run *"])


PROFILING = """
def pytest_addoption(parser):
    parser.getgroup("profiling").addoption("--profile", action="store_true", dest="profile")
"""

PROFILE_SUITE = """
import pytest

@pytest.mark.feature("PodIndexLabel")
def test_options(pytestconfig, k8s_release):
    assert pytestconfig.getoption("profile") is True
    assert pytestconfig.getoption("kc_profile") == "baseline"
"""


def test_profile_of_another_plugin_stays_its_own_with_a_warning_under_q(pytester):
    """pytest-profiling's --profile is a flag: next to it, ours is --kc-profile only, and the
    run says so even with -q."""
    pytester.makeini("[pytest]\n")
    pytester.makepyfile(profiling_plugin=PROFILING, test_options=PROFILE_SUITE)
    pytester.syspathinsert()
    result = pytester.runpytest_inprocess(
        "-p",
        "profiling_plugin",
        "-p",
        "no:cacheprovider",
        "-q",
        "--profile",
        "--kc-profile",
        "baseline",
        "--k8s-version",
        "1.28",
        "--collect-only",
    )
    assert result.ret == 0, result.stdout.str() + result.stderr.str()
    result.stdout.fnmatch_lines(
        [
            "kconformance: WARNING: --profile belongs to another plugin here; kconformance reads "
            "--kc-profile"
        ]
    )
    assert "kconformance: releases" not in result.stdout.str()  # -q: no header


def test_profile_is_an_alias_of_kc_profile_where_free(pytester: pytest.Pytester):
    pytester.makeini("[pytest]\n")
    pytester.makepyfile(
        test_alias="def test_alias(pytestconfig):\n"
        "    assert pytestconfig.getoption('kc_profile') == 'baseline'\n"
    )
    result = pytester.runpytest_inprocess("--profile", "baseline", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
    assert "WARNING" not in result.stdout.str()


def test_bare_pytest_in_the_repository_runs_only_the_unit_tests():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert config["tool"]["pytest"]["ini_options"]["testpaths"] == ["tests"]
