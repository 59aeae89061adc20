"""A release's own feature-gate table, read from its built binaries, checked against the catalog.

The catalog's stage cells were typed in from kube_features.go; this module asks the binaries.
What a binary tells, and how (k8s.io/component-base/featuregate, 1.28 and 1.36 alike):

* ``--help`` lists, under ``--feature-gates``, every ALPHA and BETA gate as
  ``Name=true|false (BETA - default=true)`` (1.31+ kube-apiserver prefixes ``kube:``).
  GA and deprecated gates are hidden from that list.
* A gate missing from the list is probed by setting it to false:
  ``unrecognized feature gate: Name`` means the release has no such gate (stage X, it was
  removed); ``cannot set feature gate Name to false, feature is locked to true`` means GA locked
  (GL); acceptance with the warning ``setting GA feature gate`` means GA, still settable (G);
  ``setting deprecated feature gate`` means deprecated (no catalog code: always a mismatch).

kube-apiserver validates ``--feature-gates`` before ``--version`` returns (at flag parsing in
1.28, in PersistentPreRunE from 1.31), so ``--feature-gates=Name=false --version`` is a probe
that starts nothing. The kubelet sets its gates after ``--version`` but before loading its config
file, so its probe names a config file that does not exist: it stops there at the latest.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from kconformance.catalog import Catalog, Stage, release_key

# argv -> (exit code, stdout + stderr); a seam so unit tests replay captured outputs.
Runner = Callable[[Sequence[str]], tuple[int, str]]

COMPONENTS = ("kube-apiserver", "kubelet")
_MISSING_CONFIG = "/nonexistent/kconformance-gate-probe/kubelet-config.yaml"

_HELP_LINE = re.compile(
    r"^\s*(?:(?P<component>[\w-]+):)?(?P<name>[A-Za-z0-9]+)=true\|false "
    r"\((?P<stage>ALPHA|BETA|GA|DEPRECATED) - default=(?P<default>true|false)\)"
)


@dataclass(frozen=True)
class Observation:
    """What one binary says about one gate: a catalog stage code, or a code the catalog lacks
    (``D`` deprecated, ``DL`` deprecated and locked, ``A+`` alpha on by default, ``?``)."""

    component: str
    code: str
    evidence: str


def run_binary(argv: Sequence[str]) -> tuple[int, str]:
    """Run a probe; never lets it run on (a kubelet that got past its checks would start)."""
    try:
        proc = subprocess.run(
            list(argv),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        out = (exc.stdout or b"") + (exc.stderr or b"")
        text = out.decode(errors="replace") if isinstance(out, bytes) else str(out)
        return 124, text + "\n(timed out after 60 s)"
    return proc.returncode, proc.stdout + proc.stderr


def feature_gates_block(help_text: str) -> str:
    """The ``--feature-gates`` flag's part of a ``--help`` text (what fixtures keep)."""
    lines = help_text.splitlines()
    start = next((i for i, line in enumerate(lines) if "--feature-gates" in line), None)
    if start is None:
        return ""
    end = next(
        (i for i in range(start + 1, len(lines)) if lines[i].lstrip().startswith("--")),
        len(lines),
    )
    return "\n".join(lines[start:end]) + "\n"


@dataclass
class Recorder:
    """A runner that also keeps every output, keyed by the argv with the binary replaced by its
    component name: ``verify-catalog --record DIR`` writes these as unit-test fixtures."""

    components: Mapping[str, str]  # binary path -> component
    runner: Runner = run_binary
    outputs: dict[str, str] = field(default_factory=dict)

    def __call__(self, argv: Sequence[str]) -> tuple[int, str]:
        code, output = self.runner(argv)
        key = " ".join([self.components.get(argv[0], argv[0]), *argv[1:]])
        kept = feature_gates_block(output) if argv[1:] == ["--help"] else output
        self.outputs[key] = f"exit {code}\n{kept}"
        return code, output


@dataclass
class Replay:
    """The runner of the unit tests: answers from recorded outputs, by component name."""

    outputs: Mapping[str, str]

    def __call__(self, argv: Sequence[str]) -> tuple[int, str]:
        key = " ".join([Path(argv[0]).name, *argv[1:]])
        if key not in self.outputs:
            raise KeyError(f"no recorded output for {key!r}")
        first, _, rest = self.outputs[key].partition("\n")
        return int(first.removeprefix("exit ")), rest


def parse_help(text: str) -> dict[str, tuple[str, bool, str]]:
    """Gates listed by ``--help``: name -> (pre-release, default, the line).

    Only the ``kube`` component's gates count (1.31+ kube-apiserver names components); where a
    line gives two specs joined by ", or" (min-compatibility mode), the first one is the spec at
    the binary's own version.
    """
    gates: dict[str, tuple[str, bool, str]] = {}
    for line in text.splitlines():
        match = _HELP_LINE.match(line)
        if not match or match.group("component") not in (None, "kube"):
            continue
        name = match.group("name")
        if name in ("AllAlpha", "AllBeta"):
            continue
        gates[name] = (match.group("stage"), match.group("default") == "true", line.strip())
    return gates


def listed_code(stage: str, default: bool) -> str:
    """Stage code of a gate the help lists."""
    if stage == "ALPHA":
        return "A+" if default else Stage.ALPHA.value
    if stage == "BETA":
        return Stage.BETA_ON.value if default else Stage.BETA_OFF.value
    if stage == "GA":
        return Stage.GA.value
    return Stage.DEPRECATED_ON.value if default else Stage.DEPRECATED_OFF.value


def probe_argv(component: str, binary: str, gate: str) -> list[str]:
    """The command that makes ``binary`` validate ``gate=false`` and then stop."""
    if component == "kubelet":
        return [binary, f"--feature-gates={gate}=false", f"--config={_MISSING_CONFIG}"]
    return [binary, f"--feature-gates={gate}=false", "--version"]


def classify_probe(gate: str, output: str) -> str:
    """Stage code from a probe's output (see the module docstring)."""
    if re.search(rf"unrecognized feature gate:? {re.escape(gate)}\b", output):
        return Stage.ABSENT.value
    locked = re.search(
        rf"cannot set feature gate {re.escape(gate)} to false, feature is locked to (true|false)",
        output,
    )
    if locked:
        return Stage.GA_LOCKED.value if locked.group(1) == "true" else "DL"
    for line in output.splitlines():
        if gate not in line:
            continue
        lowered = line.lower()
        if "setting ga feature gate" in lowered:
            return Stage.GA.value
        if "setting deprecated feature gate" in lowered:
            return "D"
    return "?"


def observe(
    component: str, binary: str, gates: Iterable[str], runner: Runner = run_binary
) -> dict[str, Observation]:
    """Ask one binary the stage of each gate: from its help list, else by a probe."""
    _, help_text = runner([binary, "--help"])
    listed = parse_help(help_text)
    if not listed:
        raise RuntimeError(f"{binary} --help lists no feature gates: {help_text[-300:]!r}")
    found: dict[str, Observation] = {}
    for gate in gates:
        if gate in listed:
            stage, default, line = listed[gate]
            found[gate] = Observation(component, listed_code(stage, default), f"--help: {line}")
            continue
        argv = probe_argv(component, binary, gate)
        _, output = runner(argv)
        code = classify_probe(gate, output)
        evidence = _evidence_line(gate, output)
        found[gate] = Observation(component, code, f"`{' '.join(argv[1:])}`: {evidence}")
    return found


def _evidence_line(gate: str, output: str) -> str:
    for line in output.splitlines():
        if gate in line and ("feature gate" in line or "featureGate" in line):
            return line.strip()[:240]
    tail = [line for line in output.splitlines() if line.strip()]
    return (tail[-1].strip() if tail else "(no output)")[:240]


def compare(
    catalog: Catalog, release: str, observed: Mapping[str, Sequence[Observation]]
) -> list[str]:
    """One line per catalog cell a binary disagrees with (its stage, or its removed_in)."""
    lines: list[str] = []
    for name in sorted(catalog.gates):
        gate = catalog.gates[name]
        want = gate.stage(release).value
        for seen in observed.get(name, ()):
            # a probe of an unlisted deprecated gate tells "deprecated", not its default
            deprecated = want in (Stage.DEPRECATED_ON.value, Stage.DEPRECATED_OFF.value)
            if seen.code == want or (seen.code == "D" and deprecated):
                continue
            line = f"{release} {name}: catalog says {want}, {seen.component} says {seen.code}"
            if want == Stage.ABSENT.value and gate.removed_in:
                line += f" (catalog removed_in {gate.removed_in} is too early)"
            elif seen.code == Stage.ABSENT.value:
                later = gate.removed_in and release_key(gate.removed_in) > release_key(release)
                if gate.removed_in is None or later:
                    line += f" (removed_in should be {release} or earlier)"
            lines.append(f"{line} [{seen.evidence}]")
    return lines


@dataclass(frozen=True)
class ReleaseBinaries:
    release: str
    version: str | None
    paths: Mapping[str, str]  # component -> path
    missing: str | None = None  # why none could be found


def find_binaries(
    catalog: Catalog, release: str, cache: Path, components: Sequence[str] = COMPONENTS
) -> ReleaseBinaries:
    """The binaries hack/build-go.sh built for ``release`` (``--only`` or a full build)."""
    import json

    candidates: list[Path] = []
    go_json = cache / "releases" / f"{release}-go.json"
    if go_json.is_file():
        try:
            candidates.append(Path(json.loads(go_json.read_text())["k8s_bin"]))
        except (ValueError, KeyError):
            pass
    want = catalog.release(release).kubernetes
    candidates.append(cache / "k8s" / want / "bin")
    built = sorted(
        (cache / "k8s").glob(f"v{release}.*/bin"),
        key=lambda p: [int(x) for x in p.parent.name.lstrip("v").split(".") if x.isdigit()],
        reverse=True,
    )
    candidates += built
    for folder in candidates:
        paths = {c: str(folder / c) for c in components if (folder / c).is_file()}
        if paths:
            return ReleaseBinaries(release, folder.parent.name, paths)
    return ReleaseBinaries(
        release,
        None,
        {},
        missing=f"no {'/'.join(components)} built for {release} under {cache}/k8s: "
        f"run hack/build-go.sh {release} --only kube-apiserver,kubelet",
    )


def verify_release(
    catalog: Catalog, binaries: ReleaseBinaries, runner: Runner = run_binary
) -> list[str]:
    """Mismatch lines for one release (empty: the catalog agrees with every binary)."""
    if binaries.missing:
        return [f"{binaries.release}: not verified: {binaries.missing}"]
    observed: dict[str, list[Observation]] = {}
    for component, path in sorted(binaries.paths.items()):
        for gate, seen in observe(component, path, sorted(catalog.gates), runner).items():
            observed.setdefault(gate, []).append(seen)
    return compare(catalog, binaries.release, observed)
