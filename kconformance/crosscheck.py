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
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from kconformance.catalog import Catalog

COVERAGE_FILE = Path(__file__).resolve().parent / "data" / "upstream-coverage.yaml"
KINDS = ("ours", "reason", "gap")


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
            if upstream.get("suite") == "e2e_node":
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
                e2e_binary, kubeconfig, upstream["focus"], work_dir / slug(feature.name)
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
    coverage: Mapping[str, Any] | None = None,
) -> str:
    """The cross-check table; with ``coverage``, a column counting upstream's asserted behaviours
    per feature: asserted by ours / not ours, with a reason / gaps (on the e2e rows)."""
    head = "| feature | our verdict | upstream verdict | our time (s) | upstream time (s) |"
    rule = "|---|---|---|---|---|"
    if coverage is not None:
        head += " upstream behaviours: ours / reason / gap |"
        rule += "---|"
    lines = [head, rule]
    for feature, ours, upstream, our_s, up_s in rows:
        line = f"| {feature} | {ours} | {upstream} | {our_s:.0f} | {up_s:.0f} |"
        if coverage is not None:
            counts = coverage_counts(coverage, feature)
            if upstream == "node e2e only" or counts is None:
                line += " - |"
            else:
                line += " {} / {} / {} |".format(*counts)
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


# -- coverage of upstream's asserted behaviours ---------------------------------------------


def load_coverage(path: Path = COVERAGE_FILE) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text())
    if data.get("schema") != 1:
        raise ValueError(f"{path}: unknown schema {data.get('schema')!r}")
    return data


def behaviours(coverage: Mapping[str, Any], feature: str) -> list[tuple[dict, dict]]:
    """(spec group, behaviour) pairs of a feature, in file order."""
    return [(group, b) for group in coverage["features"].get(feature, ()) for b in group["asserts"]]


def kind_of(behaviour: Mapping[str, Any]) -> str:
    """ours | reason | gap: exactly one must be given."""
    given = [k for k in KINDS if behaviour.get(k)]
    if len(given) != 1:
        raise ValueError(f"behaviour {behaviour.get('what')!r} needs exactly one of {KINDS}")
    return given[0]


def coverage_counts(coverage: Mapping[str, Any], feature: str) -> tuple[int, int, int] | None:
    pairs = behaviours(coverage, feature)
    if not pairs:
        return None
    kinds = [kind_of(b) for _, b in pairs]
    return kinds.count("ours"), kinds.count("reason"), kinds.count("gap")


def _cell(text: str) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


def format_coverage(coverage: Mapping[str, Any]) -> str:
    """Markdown: per feature, upstream's specs, what each asserts, and our counterpart."""
    totals = [0, 0, 0]
    sections = []
    for feature in coverage["features"]:
        counts = coverage_counts(coverage, feature)
        assert counts is not None
        totals = [t + c for t, c in zip(totals, counts, strict=True)]
        groups = coverage["features"][feature]
        n_specs = sum(len(g["specs"]) for g in groups)
        n_focus = sum(len(g["specs"]) for g in groups if g.get("in_focus") is not False)
        lines = [
            f"### {feature}",
            "",
            f"{n_specs} upstream spec(s), {n_focus} in the cross-check focus; {sum(counts)} "
            f"asserted behaviour(s): {counts[0]} asserted by ours, {counts[1]} not ours with a "
            f"reason, {counts[2]} gap(s).",
            "",
            "| upstream spec | asserts | ours |",
            "|---|---|---|",
        ]
        for group in groups:
            specs = "<br>".join(f"`{_cell(s)}`" for s in group["specs"])
            if group.get("in_focus") is False:
                specs += "<br>(outside the cross-check focus)"
            for i, b in enumerate(group["asserts"]):
                kind = kind_of(b)
                if kind == "ours":
                    refs = b["ours"] if isinstance(b["ours"], list) else [b["ours"]]
                    ours = "<br>".join(f"`{r.split('::')[-1]}`" for r in refs)
                    if b.get("note"):
                        ours += f" - {_cell(b['note'])}"
                elif kind == "reason":
                    ours = f"not ours: {_cell(b['reason'])}"
                else:
                    ours = f"**gap**: {_cell(b['gap'])}"
                lines.append(f"| {specs if i == 0 else ''} | {_cell(b['what'])} | {ours} |")
        sections.append("\n".join(lines))
    head = (
        f"Upstream e2e of Kubernetes {coverage['kubernetes']}: "
        f"{sum(totals)} asserted behaviours over {len(coverage['features'])} features - "
        f"{totals[0]} asserted by our suite, {totals[1]} not ours with a stated reason, "
        f"{totals[2]} gaps."
    )
    return "\n\n".join([head, *sections]) + "\n"


if __name__ == "__main__":  # pragma: no cover
    print("use: python -m kconformance crosscheck ...", file=sys.stderr)
    sys.exit(2)
