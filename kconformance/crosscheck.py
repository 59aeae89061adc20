"""Cross-check our verdicts against the upstream e2e tests for the same features.

Runs the upstream `e2e.test` binary of the same release (built by hack/build-e2e.sh) with each
catalog feature's upstream focus, against the same kind cluster our suite used (kept with
--keep-clusters), and prints: feature | our verdict | upstream verdict | our time | upstream time.
Features that upstream tests only in node e2e (test/e2e_node) are listed as such: that suite
needs a node-level harness, not a cluster.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from kconformance.catalog import Catalog
from kconformance.coverage import Coverage, counts


@dataclass
class UpstreamResult:
    feature: str
    focus: str
    verdict: str  # passed | failed | no test matched | node e2e only
    seconds: float
    passed: int = 0
    failed: int = 0
    skipped: int = 0


def alias_images(e2e_binary: Path, ours: dict[str, str]) -> list[str]:
    """Tag our busybox/agnhost under the names upstream's e2e of this release asks for.

    Upstream pins its own test image versions (1.28: agnhost 2.47, busybox 1.29-4); nothing can
    be pulled here, so the images we built stand in. Images we cannot build (nginx, httpd, ...)
    stay missing, and the upstream tests that need them fail on ImagePullBackOff.
    """
    listed = subprocess.run(
        [str(e2e_binary), "--list-images"], text=True, capture_output=True, check=False
    ).stdout.split()
    aliases = []
    for wanted in listed:
        for role, image in ours.items():
            if f"/e2e-test-images/{role}:" in wanted and wanted != image:
                subprocess.run(["docker", "tag", image, wanted], check=True)
                aliases.append(wanted)
    return aliases


def run_upstream(
    e2e_binary: Path, kubeconfig: Path, focus: str, report_dir: Path, timeout: float = 600
) -> UpstreamResult:
    report_dir.mkdir(parents=True, exist_ok=True)
    argv = [
        str(e2e_binary),
        f"--kubeconfig={kubeconfig}",
        "--provider=local",
        f"--report-dir={report_dir}",
        f"--ginkgo.focus={focus}",
        "--ginkgo.skip=\\[Serial\\]|\\[Disruptive\\]|\\[Flaky\\]",
        "--ginkgo.timeout=1h",
        "--disable-log-dump",
    ]
    started = time.monotonic()
    timed_out = False
    with open(report_dir / "e2e.log", "w") as log:
        try:
            subprocess.run(argv, text=True, stdout=log, stderr=subprocess.STDOUT, timeout=timeout)
        except subprocess.TimeoutExpired:
            timed_out = True
    seconds = time.monotonic() - started
    return verdict_from(report_dir, focus, seconds, timed_out, timeout)


def verdict_from(
    report_dir: Path, focus: str, seconds: float, timed_out: bool = False, timeout: float = 0
) -> UpstreamResult:
    """Count the specs ([It] entries) of ginkgo's JUnit; suite set-up entries are not tests.

    ginkgo lists every spec of the binary: those the focus left out are <skipped
    message="skipped"/>; a spec that ran and skipped itself says why ("skipped - The test
    requires at least two ready nodes ..."), and only those count as skipped."""
    passed = failed = skipped = 0
    for junit in report_dir.glob("junit*.xml"):
        for case in ET.parse(junit).getroot().iter("testcase"):
            if not str(case.get("name", "")).startswith("[It]"):
                continue
            skip = case.find("skipped")
            if skip is not None:
                if (skip.get("message") or "skipped").strip() != "skipped":
                    skipped += 1
            elif case.find("failure") is not None or case.find("error") is not None:
                failed += 1
            else:
                passed += 1
    if timed_out:
        verdict = f"timed out after {timeout:.0f}s"
    elif failed:
        verdict = "failed"
    elif passed:
        verdict = "passed"
    elif skipped:
        verdict = "skipped"
    else:
        verdict = "no test matched"
    return UpstreamResult("", focus, verdict, seconds, passed, failed, skipped)


def slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower())


def our_results(report_json: Path, release: str) -> dict[str, tuple[str, float]]:
    data = json.loads(report_json.read_text())
    out = {}
    for row in data["features"]:
        cell = row["releases"].get(release, {"verdict": "not run"})
        out[row["feature"]] = (cell["verdict"], float(cell.get("seconds", 0.0)))
    return out


def crosscheck(
    catalog: Catalog,
    release: str,
    e2e_binary: Path,
    kubeconfig: Path,
    report_json: Path,
    work_dir: Path,
) -> list[tuple[str, str, str, float, float]]:
    ours = our_results(report_json, release)
    rows = []
    for feature in catalog.features.values():
        for upstream in feature.upstream:
            if upstream.suite == "e2e_node":
                rows.append(
                    (
                        feature.name,
                        ours.get(feature.name, ("not run", 0))[0],
                        "node e2e only",
                        ours.get(feature.name, ("", 0.0))[1],
                        0.0,
                    )
                )
                continue
            result = run_upstream(
                e2e_binary, kubeconfig, upstream.focus, work_dir / slug(feature.name)
            )
            verdict, seconds = ours.get(feature.name, ("not run", 0.0))
            rows.append((feature.name, verdict, result_label(result), seconds, result.seconds))
    return rows


def result_label(result: UpstreamResult) -> str:
    """e.g. "passed (6/6)", "passed (6/6, 1 skipped)", "skipped (0/0, 2 skipped)": passed/ran."""
    label = f"{result.verdict} ({result.passed}/{result.passed + result.failed}"
    return label + (f", {result.skipped} skipped)" if result.skipped else ")")


def format_table(
    rows: list[tuple[str, str, str, float, float]],
    coverage: Coverage | None = None,
) -> str:
    """The cross-check table; with ``coverage``, a column counting the coverage map's behaviours
    of the row's feature and suite (e2e rows: e2e specs; "node e2e only" rows: node e2e specs)
    as equivalent / weaker / missing / reason."""
    head = "| feature | our verdict | upstream verdict | our time (s) | upstream time (s) |"
    rule = "|---|---|---|---|---|"
    if coverage is not None:
        head += " upstream behaviours: equivalent / weaker / missing / reason |"
        rule += "---|"
    lines = [head, rule]
    for feature, ours, upstream, our_s, up_s in rows:
        line = f"| {feature} | {ours} | {upstream} | {our_s:.0f} | {up_s:.0f} |"
        if coverage is not None:
            suite = "e2e_node" if upstream == "node e2e only" else "e2e"
            own = coverage.of(feature, suite)
            line += " {} / {} / {} / {} |".format(*counts(own)) if own else " - |"
        lines.append(line)
    return "\n".join(lines)


def format_notes(catalog: Catalog, release: str, features: Iterable[str]) -> str:
    """The catalog's `crosscheck:` explanation of each listed feature for this release."""
    lines = []
    for name in dict.fromkeys(features):
        note = catalog.features[name].crosscheck.get(release)
        if note:
            lines.append(f"- {name}: {note}")
    return "\n".join(lines)


if __name__ == "__main__":  # pragma: no cover
    print("use: python -m kconformance crosscheck ...", file=sys.stderr)
    sys.exit(2)
