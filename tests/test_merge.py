"""merge-reports: the shards' reports become one feature x release matrix for the job summary."""

from __future__ import annotations

import json
from pathlib import Path

from kconformance.__main__ import main


def shard(folder: Path, release: str, cells: dict[str, dict]) -> None:
    features = []
    for name, sig in (("JobBackoffLimitPerIndex", "sig_apps"), ("SidecarContainers", "sig_node")):
        cell = cells.get(name, {"verdict": "not run"})
        features.append(
            {
                "feature": name,
                "kep": 1,
                "sig": sig,
                "gates": [],
                "title": name,
                "releases": {release: cell},
            }
        )
    folder.mkdir(parents=True)
    (folder / "kconformance-report.json").write_text(
        json.dumps({"releases": [release], "features": features})
    )


def passed(n: int, seconds: float) -> dict:
    return {
        "verdict": "passed",
        "passed": n,
        "failed": 0,
        "skipped": 0,
        "reasons": [],
        "profiles": ["gates"],
        "seconds": seconds,
    }


def test_shards_merge_into_one_matrix(tmp_path, capsys):
    shard(
        tmp_path / "kconformance-sig_apps-1.28" / "report",
        "1.28",
        {"JobBackoffLimitPerIndex": passed(3, 40.0)},
    )
    shard(
        tmp_path / "kconformance-sig_node-1.28" / "report",
        "1.28",
        {"SidecarContainers": passed(5, 80.5)},
    )
    shard(
        tmp_path / "kconformance-sig_node-1.36" / "report",
        "1.36",
        {
            "SidecarContainers": {
                "verdict": "skipped",
                "passed": 0,
                "failed": 0,
                "skipped": 1,
                "reasons": ["cgroup v1 host"],
                "profiles": ["gates"],
                "seconds": 0.0,
            }
        },
    )
    out_json = tmp_path / "merged.json"
    assert main(["merge-reports", str(tmp_path), "--json", str(out_json)]) == 0
    text = capsys.readouterr().out
    assert "| Feature | KEP | SIG | 1.28 | 1.36 |" in text
    assert "| JobBackoffLimitPerIndex | 1 | sig_apps | passed 3/3, 40.0s | - |" in text
    assert "| SidecarContainers | 1 | sig_node | passed 5/5, 80.5s | skipped 0/1, 0.0s |" in text
    assert "- SidecarContainers on 1.36: cgroup v1 host" in text
    assert "2 passed, 0 failed, 1 skipped, 1 not run (feature x release cells, 3 reports)" in text
    assert json.loads(out_json.read_text())["releases"] == ["1.28", "1.36"]


def test_a_failure_in_any_shard_fails_the_cell_and_the_command(tmp_path, capsys):
    failed = {
        "verdict": "failed",
        "passed": 0,
        "failed": 1,
        "skipped": 0,
        "reasons": [],
        "profiles": ["gates"],
        "seconds": 2.0,
    }
    shard(tmp_path / "a", "1.28", {"SidecarContainers": passed(1, 1.0)})
    shard(tmp_path / "b", "1.28", {"SidecarContainers": failed})
    assert main(["merge-reports", str(tmp_path / "a"), str(tmp_path / "b")]) == 1
    assert "| SidecarContainers | 1 | sig_node | **FAILED** 1/2, 3.0s |" in capsys.readouterr().out


def test_no_reports_is_one_line(tmp_path, capsys):
    assert main(["merge-reports", str(tmp_path)]) == 2
    assert "no kconformance-report.json under" in capsys.readouterr().err


def test_the_merged_summary_names_each_failed_test_and_its_first_line(tmp_path, capsys):
    failed = {
        "verdict": "failed",
        "passed": 0,
        "failed": 1,
        "skipped": 0,
        "reasons": [],
        "profiles": ["gates"],
        "seconds": 2.0,
        "failures": [
            {
                "test": "suites/sig_node/test_sidecars.py::test_order[1.28]",
                "reason": "AssertionError: sidecar stopped first",
            }
        ],
    }
    shard(tmp_path / "a", "1.28", {"SidecarContainers": passed(1, 1.0)})
    shard(tmp_path / "b", "1.28", {"SidecarContainers": failed})
    out_json = tmp_path / "merged.json"
    assert (
        main(["merge-reports", str(tmp_path / "a"), str(tmp_path / "b"), "--json", str(out_json)])
        == 1
    )
    text = capsys.readouterr().out
    assert (
        "### Failures\n\n- SidecarContainers on 1.28: "
        "`suites/sig_node/test_sidecars.py::test_order[1.28]`: AssertionError: sidecar stopped "
        "first\n"
    ) in text
    merged = json.loads(out_json.read_text())
    cell = next(r for r in merged["features"] if r["feature"] == "SidecarContainers")
    assert cell["releases"]["1.28"]["failures"] == failed["failures"]


def record(folder: Path, sig: str, release: str, notes: list[str]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "shard.json").write_text(json.dumps({"sig": sig, "release": release, "notes": notes}))


def test_an_expected_shard_without_a_report_is_a_red_cell_with_its_reason(tmp_path, capsys):
    apps = tmp_path / "kconformance-sig_apps-1.28"
    shard(apps / "report", "1.28", {"JobBackoffLimitPerIndex": passed(3, 40.0)})
    record(apps, "sig_apps", "1.28", [])
    node = tmp_path / "kconformance-sig_node-1.28"  # pytest refused: a record, no report
    record(node, "sig_node", "1.28", ["test-drivers for 1.28: build failure", "pytest: ERROR x"])
    args = ["merge-reports", str(tmp_path), "--expect-sigs", "sig_apps,sig_node"]
    assert main([*args, "--expect-releases", "1.28,1.36"]) == 1
    text = capsys.readouterr().out
    assert "| SidecarContainers | 1 | sig_node | **MISSING** | **MISSING** |" in text
    assert "| JobBackoffLimitPerIndex | 1 | sig_apps | passed 3/3, 40.0s | **MISSING** |" in text
    assert (
        "- **MISSING** sig_node on 1.28: no report; test-drivers for 1.28: build failure; "
        "pytest: ERROR x\n"
    ) in text
    assert (
        "- **MISSING** sig_apps on 1.36: no artifact: the job was cancelled, timed out or "
        "failed before its upload\n"
    ) in text
    assert "1 passed, 0 failed, 0 skipped, 0 not run, 3 missing" in text


def test_a_shard_that_reported_shows_its_notes_and_passes(tmp_path, capsys):
    node = tmp_path / "kconformance-sig_node-1.28"
    shard(node / "report", "1.28", {"SidecarContainers": passed(5, 80.5)})
    record(node, "sig_node", "1.28", ["test-drivers for 1.28: build success"])
    args = ["merge-reports", str(tmp_path), "--expect-sigs", "sig_node"]
    assert main([*args, "--expect-releases", "1.28"]) == 0
    text = capsys.readouterr().out
    assert "### Shards\n\n- sig_node on 1.28: test-drivers for 1.28: build success\n" in text
    assert "MISSING" not in text


def test_no_shard_at_all_still_lists_every_expected_one(tmp_path, capsys):
    args = ["merge-reports", str(tmp_path), "--expect-sigs", "sig_node"]
    assert main([*args, "--expect-releases", "1.28,1.36"]) == 1
    text = capsys.readouterr().out
    assert "- **MISSING** sig_node on 1.28: no artifact" in text
    assert "- **MISSING** sig_node on 1.36: no artifact" in text


def test_expecting_sigs_without_releases_is_refused(tmp_path, capsys):
    assert main(["merge-reports", str(tmp_path), "--expect-sigs", "sig_node"]) == 2
    assert "--expect-sigs and --expect-releases together" in capsys.readouterr().err


def test_the_page_keeps_a_history_where_a_regression_is_a_change_of_colour(tmp_path, capsys):
    """Each nightly adds its verdicts to the history file it carries; the page shows the
    nights feature x night, outlines the first night of a new verdict and lists the change."""
    history, page = tmp_path / "history" / "history.json", tmp_path / "matrix.html"
    failed = {"verdict": "failed", "passed": 0, "failed": 1, "skipped": 0, "seconds": 1.0}
    nights = [
        ("2026-12-01", passed(1, 1.0)),
        ("2026-12-02", passed(1, 1.0)),
        ("2026-12-02", passed(1, 1.0)),  # the same night run again: kept once
        ("2026-12-03", failed),
    ]
    for i, (night, cell) in enumerate(nights):
        shard(tmp_path / f"shards-{i}" / "a", "1.36", {"SidecarContainers": cell})
        args = [str(tmp_path / f"shards-{i}"), "--html", str(page), "--history", str(history)]
        main(["merge-reports", *args, "--night", night])
    capsys.readouterr()
    kept = json.loads(history.read_text())["nights"]
    assert [n["night"] for n in kept] == ["2026-12-01", "2026-12-02", "2026-12-03"]
    assert kept[-1]["verdicts"]["SidecarContainers"] == {"1.36": "failed"}
    html = page.read_text()
    assert "<li>SidecarContainers on 1.36: passed -&gt; failed</li>" in html
    assert html.count('<td class="changed"') == 1
    assert "History (3 nights)" in html
