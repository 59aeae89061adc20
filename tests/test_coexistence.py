"""kconformance loads next to another Kubernetes plugin that registers the same option names
(pytest-kubernetes: --k8s-version; pytest-kind-ng: --kubeconfig, --kind-bin)."""

from __future__ import annotations

import pytest

OTHER_PLUGIN = """
def pytest_addoption(parser):
    group = parser.getgroup("kind")
    group.addoption("--kubeconfig", default=None, dest="kubeconfig")
    group.addoption("--kind-bin", default=None, dest="kind_bin")
    group.addoption("--k8s-version", default=None, dest="k8s_version")
"""

SUITE = """
def test_options(pytestconfig):
    assert pytestconfig.getoption("kubeconfig") == "theirs.yaml"
    assert pytestconfig.getoption("k8s_version") == "v1.31"
    assert pytestconfig.getoption("kc_k8s_version") == "1.28"
"""


@pytest.mark.parametrize("how", ["plugin", "conftest"])
def test_clashing_plugin_keeps_its_names_and_ours_are_namespaced(pytester: pytest.Pytester, how):
    pytester.makeini("[pytest]\n")
    pytester.makepyfile(test_options=SUITE)
    if how == "plugin":
        pytester.makepyfile(other_k8s_plugin=OTHER_PLUGIN)
        extra = ["-p", "other_k8s_plugin"]
    else:
        pytester.makeconftest(OTHER_PLUGIN)
        extra = []
    pytester.syspathinsert()
    result = pytester.runpytest_inprocess(
        *extra,
        "--kubeconfig",
        "theirs.yaml",
        "--k8s-version",
        "v1.31",
        "--kc-k8s-version",
        "1.28",
        "-p",
        "no:cacheprovider",
    )
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(
        [
            "kconformance: WARNING: --k8s-version, --kubeconfig, --kind-bin belong to another plugin here;*"
        ]
    )


def test_plain_names_are_aliases_when_free(pytester: pytest.Pytester):
    pytester.makeini("[pytest]\n")
    pytester.makepyfile(
        test_alias="def test_alias(pytestconfig):\n"
        "    assert pytestconfig.getoption('kc_k8s_version') == '1.28'\n"
    )
    result = pytester.runpytest_inprocess("--k8s-version", "1.28", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)


def test_a_refusal_names_the_options_that_are_ours_here(pytester: pytest.Pytester):
    """Next to pytest-kubernetes, "pass --k8s-version 1.28" would send the user to that plugin:
    refusals spell the clashing names as --kc-*."""
    pytester.makeini("[pytest]\n")
    pytester.makepyfile(test_options=SUITE, other_k8s_plugin=OTHER_PLUGIN)
    pytester.syspathinsert()
    result = pytester.runpytest_inprocess(
        "-p", "other_k8s_plugin", "--kc-kubeconfig", "missing.yaml", "-p", "no:cacheprovider"
    )
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    errors = [line for line in result.stderr.lines if line.strip()]
    assert len(errors) == 1, errors
    assert errors[0].startswith("ERROR: --kc-kubeconfig missing.yaml"), errors


def test_spelled_leaves_other_words_alone():
    from kconformance.settings import spelled

    message = "--k8s-version 1.36: pass --k8s-version 1.28 (not --k8s-versions, --kc-kubeconfig)"
    assert spelled(message, ["--k8s-version", "--kubeconfig"]) == (
        "--kc-k8s-version 1.36: pass --kc-k8s-version 1.28 (not --k8s-versions, --kc-kubeconfig)"
    )
