"""Every bad input is refused in one line that says what and what to do, with exit code 4."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

FAKES = Path(__file__).parent / "fakes"

KUBECONFIG = """apiVersion: v1
kind: Config
current-context: kind-a
contexts:
- name: kind-a
  context: {cluster: kind-a, user: kind-a}
clusters:
- name: kind-a
  cluster: {server: "https://127.0.0.1:1"}
users:
- name: kind-a
  user: {token: x}
"""

# A catalog with one wrong stage code: refused in one line naming the path in the document.
BROKEN_CATALOG = """releases: {"1.28": {kubernetes: v1.28.15}}
profiles: {baseline: {}}
gates:
  SidecarContainers: {components: [kubelet], stages: {"1.28": B}}
features: {}
"""


@pytest.fixture
def inner(pytester: pytest.Pytester, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("FAKE_KIND_DIR", str(tmp_path / "fake-kind"))
    monkeypatch.setenv("PATH", f"{FAKES}{os.pathsep}{os.environ['PATH']}")
    pytester.makeini("[pytest]\n")
    pytester.makepyfile(test_x="def test_x():\n    pass\n")
    (pytester.path / "kubeconfig").write_text(KUBECONFIG)
    (pytester.path / "bad.yaml").write_text("a: [1,\n")
    (pytester.path / "list.yaml").write_text("- 1\n- 2\n")
    (pytester.path / "broken.yaml").write_text(BROKEN_CATALOG)
    return pytester


CASES = {
    "catalog-missing": (
        ["--catalog", "nope.yaml"],
        "--catalog nope.yaml: no such file; pass a catalog file*",
    ),
    "catalog-bad-yaml": (
        ["--catalog", "bad.yaml"],
        "--catalog bad.yaml: not valid YAML (* at line *, column *); *",
    ),
    "catalog-not-a-catalog": (["--catalog", "list.yaml"], "--catalog list.yaml: not a mapping*"),
    "catalog-missing-keys": (
        ["--catalog", "kubeconfig"],
        "--catalog kubeconfig: missing top-level key 'releases'; pass a catalog file*",
    ),
    "catalog-broken": (
        ["--catalog", "broken.yaml"],
        "--catalog broken.yaml: gates.SidecarContainers.stages.1.28: 'B' is not one of 'A', *; "
        "pass a catalog file*",
    ),
    "kubeconfig-missing": (
        ["--kubeconfig", "nope"],
        "--kubeconfig nope: no such file; pass the kubeconfig of a running cluster*",
    ),
    "kubeconfig-invalid": (
        ["--kubeconfig", "list.yaml"],
        "--kubeconfig list.yaml: not a kubeconfig*",
    ),
    "context-unknown": (
        ["--kubeconfig", "kubeconfig", "--kube-context", "other"],
        "--kubeconfig kubeconfig: no context 'other'; pass --kube-context, one of: kind-a",
    ),
    "context-without-kubeconfig": (["--kube-context", "x"], "--kube-context needs --kubeconfig*"),
    "manifests-dir-missing": (
        ["--manifests-dir", "nodir"],
        "--manifests-dir nodir: no such directory; *",
    ),
    "image-map-missing": (
        ["--image-map", "nope.yaml"],
        "--image-map nope.yaml: no such file; write one `role: image`*",
    ),
    "image-map-not-a-map": (
        ["--image-map", "list.yaml"],
        "--image-map list.yaml: not a mapping of role to image name; *",
    ),
}


END_TO_END_CASES = ["catalog-missing", "catalog-broken", "context-unknown", "manifests-dir-missing"]


@pytest.mark.parametrize("case", END_TO_END_CASES)
def test_bad_input_is_one_line_and_exit_code_4(inner, case):
    """End to end, for a few: pytest's own usage error, exit 4, one line, no traceback."""
    args, line = CASES[case]
    result = inner.runpytest_inprocess(*args, "-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.USAGE_ERROR, result.stderr.str()
    result.stderr.fnmatch_lines([f"ERROR: {line}"])
    assert "Traceback" not in result.stderr.str() + result.stdout.str()
    errors = [x for x in result.stderr.lines if x.strip()]
    assert len(errors) == 1, errors


class FakeConfig:
    """The two things read_settings needs from pytest's config."""

    def __init__(self, root: Path, options: dict[str, str]) -> None:
        self.rootpath = root
        self.options = options

    def getoption(self, name: str):
        return self.options.get(name)


_DEST = {
    "--catalog": "catalog",
    "--kubeconfig": "kc_kubeconfig",
    "--kube-context": "kc_kube_context",
    "--manifests-dir": "manifests_dir",
    "--image-map": "image_map",
}


@pytest.mark.parametrize("case", CASES)
def test_every_bad_input_is_one_config_error_line(case, tmp_path, monkeypatch):
    from fnmatch import fnmatch

    from kconformance.errors import ConfigError
    from kconformance.settings import read_settings

    (tmp_path / "kubeconfig").write_text(KUBECONFIG)
    (tmp_path / "bad.yaml").write_text("a: [1,\n")
    (tmp_path / "list.yaml").write_text("- 1\n- 2\n")
    (tmp_path / "broken.yaml").write_text(BROKEN_CATALOG)
    monkeypatch.chdir(tmp_path)
    args, line = CASES[case]
    options = {_DEST[args[i]]: args[i + 1] for i in range(0, len(args), 2)}
    with pytest.raises(ConfigError) as info:
        read_settings(FakeConfig(tmp_path, options))
    message = str(info.value)
    assert "\n" not in message
    assert fnmatch(message, line), message
