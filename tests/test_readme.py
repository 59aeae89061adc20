"""The README says what the code does: its marker list, its options, its layout line."""

from __future__ import annotations

import re
from pathlib import Path

from kconformance.catalog import SIGS
from kconformance.settings import ALIASES, add_options

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()


def section(title: str) -> str:
    start = README.index(f"\n## {title}")
    end = README.find("\n## ", start + 1)
    return README[start : end if end != -1 else None]


def test_every_sig_marker_is_listed():
    text = section("Selecting tests")
    assert [sig for sig in SIGS if f"`{sig}`" not in text and f"`-m {sig}`" not in text] == []


def test_every_marker_of_the_plugin_is_listed():
    text = section("Selecting tests")
    for marker in ("feature", "profile", "smoke", "readback", "kind_nodes"):
        assert marker in text, marker


class _Group:
    def __init__(self, names: set[str]) -> None:
        self.names = names

    def addoption(self, *names: str, **_kwargs: object) -> None:
        self.names.update(names)


class _Parser:
    def __init__(self) -> None:
        self.names: set[str] = set()

    def getgroup(self, *_args: object) -> _Group:
        return _Group(self.names)


def test_every_option_in_the_table_exists():
    parser = _Parser()
    add_options(parser)
    known = parser.names | set(ALIASES)
    listed = re.findall(r"^\| `(--[a-z0-9-]+)", section("Options"), re.M)
    assert listed, "no option rows found"
    assert [name for name in listed if name not in known] == []


def test_the_reasons_against_pytest_kind_are_given_once():
    assert README.count("pytest-kind (and pytest-kind-ng) is GPL-3.0") == 1
    assert "pytest-kind was considered" not in README


def test_the_layout_line_does_not_call_plugin_py_hooks_only():
    assert "hooks only" not in section("Layout")


def test_the_existing_cluster_claims_name_what_is_checked():
    text = section("Your own cluster")
    for claim in ("runtime-config", "component", "nodes", "kind_nodes", "--prove"):
        assert claim in text, claim


def test_the_published_images_and_kinds_are_the_catalogs():
    """Path (a) names, per release, the node image and the kind release the catalog pairs."""
    from kconformance.catalog import default_catalog

    catalog = default_catalog()
    pairs = re.findall(r"`(kindest/node:v[0-9.]+)` with kind (v[0-9.]+)", section("Three ways"))
    assert pairs, "no node image / kind pairs found"
    published = {(r.node_image, r.kind) for r in catalog.releases.values() if r.node_image}
    assert set(pairs) == published


def test_the_kind_config_for_a_cluster_made_by_hand_is_what_the_catalog_gives_1_36():
    import yaml

    from kconformance.catalog import default_catalog

    release = default_catalog().release("1.36")
    block = re.search(r"```yaml\n(.*?)```", section("Your own cluster"), re.S)
    assert block, "no kind config in 'Your own cluster'"
    config = yaml.safe_load(block.group(1))
    assert config["containerdConfigPatches"] == [release.containerd]
    (patch,) = config["kubeadmConfigPatches"]
    kubelet = yaml.safe_load(patch)
    assert kubelet.pop("kind") == "KubeletConfiguration"
    assert kubelet == dict(release.kubelet)


def test_every_script_named_exists():
    root = Path(__file__).resolve().parents[1]
    named = set(re.findall(r"\b(hack/[a-z0-9-]+\.sh|\.ci/run)\b", README))
    assert named, "no script names found"
    assert sorted(name for name in named if not (root / name).is_file()) == []


def test_the_pytest_command_lines_use_options_that_exist():
    parser = _Parser()
    add_options(parser)
    pytests_own = {"--junitxml", "--markers", "--fixtures", "--co"}
    known = parser.names | set(ALIASES) | pytests_own
    lines = [
        line
        for block in re.findall(r"```sh\n(.*?)```", README, re.S)
        for line in block.splitlines()
        if "pytest suites" in line
    ]
    assert lines, "no pytest command lines found"
    used = {name for line in lines for name in re.findall(r"(?<![\w-])(--[a-z0-9-]+)", line)}
    assert sorted(used - known) == []
