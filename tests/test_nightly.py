"""The nightly workflow runs every suite, builds what each SIG's tests need, and its summary
expects exactly the shards the suite job runs (a dropped shard would otherwise go unnoticed)."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from kconformance.catalog import default_catalog

ROOT = Path(__file__).resolve().parents[1]
WORKFLOW = yaml.safe_load((ROOT / ".github" / "workflows" / "nightly.yml").read_text())
MATRIX = WORKFLOW["jobs"]["suite"]["strategy"]["matrix"]


def merge_command() -> str:
    steps = WORKFLOW["jobs"]["summary"]["steps"]
    return next(s["run"] for s in steps if "merge-reports" in s.get("run", ""))


def test_every_suite_folder_is_a_shard():
    suites = {p.name for p in (ROOT / "suites").iterdir() if p.name.startswith("sig_")}
    assert set(MATRIX["sig"]) == suites


def test_each_release_uses_the_kind_the_catalog_pairs_with_its_node_image():
    catalog = default_catalog()
    for release in MATRIX["release"]:
        assert catalog.release(release["version"]).kind == release["kind"], release


def test_the_summary_expects_exactly_the_suite_jobs_shards():
    command = merge_command()
    sigs = re.search(r"--expect-sigs (\S+)", command).group(1).split(",")
    releases = re.search(r"--expect-releases (\S+)", command).group(1).split(",")
    assert sigs == MATRIX["sig"]
    assert releases == [r["version"] for r in MATRIX["release"]]


def test_each_component_a_sigs_profiles_run_is_built_for_its_shards():
    catalog = default_catalog()
    builds = {entry["sig"]: entry["build"] for entry in MATRIX["include"]}
    for feature in catalog.features.values():
        for component in catalog.profiles[feature.profile].components:
            script = catalog.components[component].build
            assert script == f"hack/build-{builds.get(feature.sig)}.sh", (feature.name, script)
    # the node-side programs of suites/sig_node/nodes.py are no catalog component
    assert builds["sig_node"] == "test-drivers"
    for build in builds.values():
        assert (ROOT / "hack" / f"build-{build}.sh").is_file(), build


def test_the_summary_publishes_the_page_and_carries_the_history():
    """The merged page is uploaded with the JSON, and the history file the merge updates is
    restored from the newest earlier night and saved for the next one."""
    steps = WORKFLOW["jobs"]["summary"]["steps"]
    merge = next(s for s in steps if "merge-reports" in s.get("run", ""))
    assert "--html merged/kconformance-matrix.html" in merge["run"]
    assert "--history history/history.json" in merge["run"]
    restore = next(s for s in steps if s.get("uses", "").startswith("actions/cache/restore"))
    save = next(s for s in steps if s.get("uses", "").startswith("actions/cache/save"))
    assert restore["with"]["path"] == save["with"]["path"] == "history"
    assert restore["with"]["restore-keys"] == "kconformance-history-"
    assert steps.index(restore) < steps.index(merge) < steps.index(save)
    upload = next(s for s in steps if s.get("with", {}).get("name") == "kconformance-matrix")
    assert upload["with"]["path"] == "merged/"
