"""verify-catalog: reading a release's gate table from its binaries, replayed from captured
outputs (tests/fixtures/gatetable/<release>.json, written by ``verify-catalog --record``)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kconformance.__main__ import main
from kconformance.catalog import Stage, default_catalog
from kconformance.gatetable import (
    Observation,
    ReleaseBinaries,
    Replay,
    classify_probe,
    compare,
    find_binaries,
    parse_help,
    probe_argv,
    verify_release,
)

FIXTURES = Path(__file__).parent / "fixtures" / "gatetable"
RECORDED = sorted(p.stem for p in FIXTURES.glob("*.json"))


def _fixture(release: str) -> dict:
    return json.loads((FIXTURES / f"{release}.json").read_text())


def _binaries(release: str) -> ReleaseBinaries:
    fixture = _fixture(release)
    components = sorted({key.split()[0] for key in fixture["outputs"]})
    return ReleaseBinaries(release, fixture["version"], {c: f"/bin/{c}" for c in components})


def test_fixtures_cover_1_28_and_1_36():
    assert {"1.28", "1.36"} <= set(RECORDED)


@pytest.mark.parametrize("release", RECORDED)
def test_catalog_agrees_with_the_recorded_binaries(release):
    """The regression guard: a catalog edit that contradicts a release's own binaries fails
    here without any binary."""
    replay = Replay(_fixture(release)["outputs"])
    assert verify_release(default_catalog(), _binaries(release), replay) == []


@pytest.mark.parametrize("release", RECORDED)
def test_help_lists_alpha_and_beta_gates_only(release):
    for key, output in _fixture(release)["outputs"].items():
        if key.endswith(" --help"):
            listed = parse_help(output)
            assert listed, key
            assert {stage for stage, _, _ in listed.values()} <= {"ALPHA", "BETA"}


def test_help_line_forms():
    text = "\n".join(
        [
            "      --feature-gates mapStringBool   A set of key=value pairs ... Options are:",
            "                APIResponseCompression=true|false (BETA - default=true)",
            "                kube:SidecarContainers=true|false (ALPHA - default=false)",
            "                wardle:Banana=true|false (ALPHA - default=false)",
            "                kube:AllAlpha=true|false (ALPHA - default=false)",
            "                kube:WatchList=true|false (BETA - default=true), or "
            "WatchList=true|false (BETA - default=false) if --min-compatibility-version>=1.35",
        ]
    )
    listed = parse_help(text)
    assert set(listed) == {"APIResponseCompression", "SidecarContainers", "WatchList"}
    assert listed["WatchList"][:2] == ("BETA", True)


@pytest.mark.parametrize(
    ("output", "code"),
    [
        # 1.28: pflag reports the featuregate error at parse time
        (
            'Error: invalid argument "Foo=false" for "--feature-gates" flag: '
            "unrecognized feature gate: Foo",
            "X",
        ),
        (
            'Error: invalid argument "Foo=false" for "--feature-gates" flag: cannot set feature '
            "gate Foo to false, feature is locked to true",
            "GL",
        ),
        (
            "W1122 00:40:01.1 1 feature_gate.go:241] Setting GA feature gate Foo=false. It will "
            "be removed in a future release.\nKubernetes v1.28.15",
            "G",
        ),
        (
            "W1122 feature_gate.go:241] Setting deprecated feature gate Foo=false. It will be "
            "removed in a future release.",
            "D",
        ),
        # 1.36: structured log lines from the versioned feature gate
        (
            'I1122 feature_gate.go:440] "Warning: setting GA feature gate. It will be removed in a '
            'future release." featureGate="Foo" value=false\nKubernetes v1.36.3',
            "G",
        ),
        (
            'E1122 run.go:72] "command failed" err="failed to set feature gates from initial '
            'flags-based config: unrecognized feature gate: Foo"',
            "X",
        ),
        ("cannot set feature gate Foo to false, feature is locked to false", "DL"),
        ("Kubernetes v1.36.3", "?"),
        # another gate's name containing ours must not count
        ("unrecognized feature gate: FooBar", "?"),
    ],
)
def test_probe_outputs(output, code):
    assert classify_probe("Foo", output) == code


def test_kubelet_probe_stops_at_a_config_file_that_does_not_exist():
    argv = probe_argv("kubelet", "/k/kubelet", "Foo")
    assert argv[1] == "--feature-gates=Foo=false"
    assert argv[2].startswith("--config=/nonexistent/")
    assert probe_argv("kube-apiserver", "/k/kube-apiserver", "Foo")[-1] == "--version"


def test_mismatch_lines_name_cell_binary_and_removed_in():
    catalog = default_catalog()
    seen = {
        "SidecarContainers": [Observation("kube-apiserver", "B+", "--help: ...")],
        "JobPodFailurePolicy": [Observation("kubelet", "X", "`...`: unrecognized")],
        "ValidatingAdmissionPolicy": [Observation("kube-apiserver", "GL", "`...`: locked")],
        "PodHostIPs": [Observation("kube-apiserver", "A", "--help: ok")],
    }
    lines = compare(catalog, "1.28", seen)
    assert lines == [
        "1.28 JobPodFailurePolicy: catalog says B+, kubelet says X "
        "(removed_in should be 1.28 or earlier) [`...`: unrecognized]",
        "1.28 SidecarContainers: catalog says A, kube-apiserver says B+ [--help: ...]",
        "1.28 ValidatingAdmissionPolicy: catalog says B-, kube-apiserver says GL [`...`: locked]",
    ]
    seen = {"ValidatingAdmissionPolicy": [Observation("kube-apiserver", "GL", "e")]}
    assert compare(catalog, "1.32", seen) == [
        "1.32 ValidatingAdmissionPolicy: catalog says X, kube-apiserver says GL "
        "(catalog removed_in 1.32 is too early) [e]"
    ]


@pytest.mark.parametrize("release", RECORDED)
def test_a_wrong_cell_is_reported(release):
    """Flip one cell of a real catalog and the recorded binaries catch it."""
    catalog = default_catalog()
    gate = catalog.gates["SidecarContainers"]
    stages = dict(gate.stages)
    stages[release] = Stage.BETA_OFF
    wrong = catalog.model_copy(
        update={
            "gates": {
                **catalog.gates,
                "SidecarContainers": gate.model_copy(update={"stages": stages}),
            }
        }
    )
    lines = verify_release(wrong, _binaries(release), Replay(_fixture(release)["outputs"]))
    assert lines and all(f"{release} SidecarContainers: catalog says B-" in x for x in lines)


def test_missing_binaries_fail_with_the_build_command(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("KCONFORMANCE_CACHE", str(tmp_path))
    found = find_binaries(default_catalog(), "1.31", tmp_path)
    assert found.missing and "hack/build-go.sh 1.31 --only kube-apiserver,kubelet" in found.missing
    assert main(["verify-catalog", "--k8s-version", "1.31"]) == 1
    assert "1.31: not verified" in capsys.readouterr().out


def test_binaries_found_by_go_manifest_or_version_folder(tmp_path):
    folder = tmp_path / "k8s" / "v1.30.14" / "bin"
    folder.mkdir(parents=True)
    (folder / "kube-apiserver").write_text("#!/bin/sh\n")
    found = find_binaries(default_catalog(), "1.30", tmp_path)
    assert found.version == "v1.30.14"
    assert found.paths == {"kube-apiserver": str(folder / "kube-apiserver")}
