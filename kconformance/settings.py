"""The command-line options, read once into a typed object the rest of the tool can trust.

``add_options`` is longer than the 80 lines a function is kept to: it is one flat list of
``addoption`` calls, in the order ``pytest --help`` shows them, and split into pieces it would
only scatter that list without making any call clearer.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from kconformance.artifacts import BuiltRelease, built_releases, newest
from kconformance.catalog import (
    Catalog,
    host_facts,
    load_catalog,
    normalize_release,
    release_key,
)
from kconformance.errors import CatalogError, ConfigError
from kconformance.profiles import parse_gate_list
from kconformance.slots import default_slots


@dataclass
class Settings:
    catalog: Catalog
    releases: list[str]
    kubeconfig: Path | None
    kube_context: str | None
    kind_bin: str | None
    kubectl_bin: str | None
    node_image: str | None
    keep_clusters: bool
    keep_namespaces: bool
    forced_profile: str | None
    extra_gates: dict[str, bool]
    images: dict[str, str]  # the catalog's image map
    image_overrides: dict[str, str]  # --image-map: wins over built and catalog images
    manifests_dir: Path
    artifacts_dir: Path
    report_dir: Path
    report: bool
    prefetch: bool
    creation_slots: int  # kind clusters created at once, across the run's processes
    only_features: set[str]
    host: frozenset[str]  # facts of the machine kind clusters run on; empty for --kubeconfig
    built: dict[str, BuiltRelease] = field(default_factory=dict)
    prove: bool = False  # --prove: also run each test where its feature is off

    @property
    def existing_cluster(self) -> bool:
        return self.kubeconfig is not None

    def kubernetes_version(self, release: str) -> str | None:
        """The patch release built here for ``release``, unless another node image is forced."""
        built = self.built.get(release)
        if built and not self.node_image:
            return built.kubernetes_version
        return None


# Options another pytest plugin may also register (pytest-kubernetes and pytest-kind(-ng)
# register --kubeconfig and the like, pytest-profiling --profile). Ours are namespaced
# (--kc-...); the plain names are aliases, added only where no other plugin or conftest took them.
ALIASES = {
    "--k8s-version": "kc_k8s_version",
    "--kubeconfig": "kc_kubeconfig",
    "--kube-context": "kc_kube_context",
    "--kind-bin": "kc_kind_bin",
    "--profile": "kc_profile",  # pytest-profiling's --profile is a flag
}
_CANONICAL = {alias: "--kc-" + alias[2:] for alias in ALIASES}


def add_options(parser: Any) -> None:
    group = parser.getgroup("kconformance", "Kubernetes feature conformance on kind")
    group.addoption(
        "--kc-k8s-version",
        dest="kc_k8s_version",
        default=None,
        help="Kubernetes release(s) to run, e.g. 1.28 or 1.28,1.36 "
        "(default: the newest one hack/build.sh built here, else the newest the catalog can run)",
    )
    group.addoption(
        "--kc-kubeconfig",
        dest="kc_kubeconfig",
        default=None,
        help="run against this existing cluster instead of creating kind clusters; tests whose "
        "feature is off there are skipped with the reason",
    )
    group.addoption(
        "--kc-kube-context",
        dest="kc_kube_context",
        default=None,
        help="context of --kc-kubeconfig to use (default: its current-context)",
    )
    group.addoption(
        "--kc-kind-bin",
        dest="kc_kind_bin",
        default=None,
        help="kind binary (default: built one, else PATH)",
    )
    group.addoption(
        "--kubectl-bin",
        default=None,
        help="kubectl binary (default: the release's built one, else PATH)",
    )
    group.addoption(
        "--node-image", default=None, help="kind node image, overriding the catalog's image map"
    )
    group.addoption(
        "--keep-clusters",
        action="store_true",
        help="keep the clusters after the run, and reuse kept ones whose profile hash matches",
    )
    group.addoption(
        "--keep-namespaces",
        action="store_true",
        help="keep the namespace of a failed test for inspection",
    )
    group.addoption(
        "--kc-profile",
        dest="kc_profile",
        default=None,
        help="run every selected test on this profile (e.g. baseline, to see tests fail with "
        "their feature off)",
    )
    group.addoption(
        "--feature-gates",
        dest="kc_feature_gates",
        default="",
        help="extra gates for every profile, e.g. Foo=true,Bar=false; validated per release",
    )
    group.addoption(
        "--image-map",
        default=None,
        help="YAML file mapping image roles (busybox, agnhost) to image names, e.g. a mirror",
    )
    group.addoption("--catalog", default=None, help="feature catalog file (default: packaged)")
    group.addoption(
        "--manifests-dir", default=None, help="manifests root (default: <rootdir>/manifests)"
    )
    group.addoption(
        "--artifacts-dir",
        default=None,
        help="where kind logs and diagnostics go (default: <rootdir>/artifacts)",
    )
    group.addoption(
        "--report-dir", default=None, help="feature report directory (default: <rootdir>/reports)"
    )
    group.addoption("--no-report", action="store_true", help="do not write the feature report")
    group.addoption(
        "--features",
        dest="kc_features",
        default="",
        help="run only the tests of these catalog features (comma-separated names)",
    )
    group.addoption(
        "--prove",
        action="store_true",
        help="also run each test of a feature on a profile where the feature is off, and fail "
        "the run when it still passes there (a test that cannot fail proves nothing)",
    )
    group.addoption(
        "--parallel-creations",
        dest="parallel_creations",
        type=int,
        default=None,
        metavar="N",
        help="create at most N kind clusters at once, across all workers (default: one per "
        "core; booting a node is CPU-bound, so more at once only slows each of them)",
    )
    group.addoption(
        "--no-prefetch",
        action="store_true",
        help="under xdist, create clusters only when a test first needs one",
    )


def taken_option_names(parser: Any) -> set[str]:
    """Every option string registered so far, by any plugin or conftest."""
    groups = [getattr(parser, "_anonymous", None), *getattr(parser, "_groups", [])]
    return {name for group in groups if group for opt in group.options for name in opt.names()}


def add_free_aliases(parser: Any) -> list[str]:
    """Register the plain option names (--kubeconfig, ...) as aliases of ours, where free.

    Returns:
        The names another plugin registered, which stay theirs.
    """
    taken = taken_option_names(parser)
    group = parser.getgroup("kconformance")
    clashes = []
    for alias, dest in ALIASES.items():
        if alias in taken:
            clashes.append(alias)
            continue
        group.addoption(alias, dest=dest, default=None, help=f"alias of {_CANONICAL[alias]}")
    return clashes


def spelled(message: str, clashes: Iterable[str]) -> str:
    """``message`` with each plain option name another plugin owns here (``clashes``) spelled
    as ours, ``--kc-...``: a refusal must name an option the user can pass in this environment
    (next to pytest-kubernetes, ``--k8s-version 1.36`` would reach that plugin, not us)."""
    for alias in clashes:
        message = re.sub(rf"(?<![\w-]){re.escape(alias)}(?![\w-])", _CANONICAL[alias], message)
    return message


def _creation_slots(value: int | None) -> int:
    if value is None:
        return default_slots()
    if value < 1:
        raise ConfigError(f"--parallel-creations {value}: must be at least 1")
    return value


def _default_releases(catalog: Catalog, built: dict[str, BuiltRelease]) -> list[str]:
    release = newest({r: b for r, b in built.items() if r in catalog.releases})
    if release:
        return [release]
    runnable = [r for r in catalog.release_names if catalog.releases[r].node_image]
    if not runnable:
        raise CatalogError("the catalog names no release with a node image; pass --k8s-version")
    return [max(runnable, key=release_key)]


def _yaml_problem(exc: yaml.YAMLError) -> str:
    """A YAML error in one line: the problem and where."""
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    mark = getattr(exc, "problem_mark", None)
    where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
    return f"{problem}{where}"


def _read_yaml(option: str, path: Path, what_to_do: str) -> Any:
    if not path.is_file():
        raise ConfigError(f"{option} {path}: no such file; {what_to_do}")
    try:
        return yaml.safe_load(path.read_text())
    except OSError as exc:
        raise ConfigError(
            f"{option} {path}: cannot read it ({exc.strerror}); {what_to_do}"
        ) from None
    except yaml.YAMLError as exc:
        raise ConfigError(
            f"{option} {path}: not valid YAML ({_yaml_problem(exc)}); {what_to_do}"
        ) from None


def read_catalog(value: str | None) -> Catalog:
    """The packaged catalog, or the --catalog file, refused in one line when unusable."""
    if not value:
        return load_catalog(None)
    path = Path(value).expanduser()
    fix = "pass a catalog file shaped like kconformance/data/catalog.yaml, or drop --catalog"
    data = _read_yaml("--catalog", path, fix)
    if not isinstance(data, dict):
        raise ConfigError(f"--catalog {path}: not a mapping of releases, gates, features; {fix}")
    try:
        return Catalog.from_data(data, str(path))
    except CatalogError as exc:
        raise ConfigError(f"--catalog {exc}; {fix}") from None


def read_image_map(value: str | None) -> dict[str, str]:
    if not value:
        return {}
    path = Path(value).expanduser()
    fix = "write one `role: image` per line, e.g. `busybox: mirror.example/busybox:1.36`"
    data = _read_yaml("--image-map", path, fix) or {}
    if not isinstance(data, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in data.items()
    ):
        raise ConfigError(f"--image-map {path}: not a mapping of role to image name; {fix}")
    return dict(data)


def check_kubeconfig(path: Path, context: str | None) -> None:
    """The kubeconfig exists, is a kubeconfig, and names the context to use."""
    fix = "pass the kubeconfig of a running cluster (kind get kubeconfig --name NAME > FILE)"
    data = _read_yaml("--kubeconfig", path, fix)
    if not isinstance(data, dict) or not isinstance(data.get("contexts"), list):
        raise ConfigError(f"--kubeconfig {path}: not a kubeconfig (no contexts list); {fix}")
    names = [c.get("name") for c in data["contexts"] if isinstance(c, dict)]
    wanted = context or data.get("current-context")
    if not wanted:
        raise ConfigError(
            f"--kubeconfig {path}: no current-context; pass --kube-context, one of: "
            + ", ".join(map(str, names))
        )
    if wanted not in names:
        raise ConfigError(
            f"--kubeconfig {path}: no context {wanted!r}; pass --kube-context, one of: "
            + (", ".join(map(str, names)) or "(none)")
        )


def read_settings(config: Any) -> Settings:
    """Turn options into Settings; every mistake becomes one KconformanceError line."""
    opt = config.getoption
    root = Path(config.rootpath)
    catalog = read_catalog(opt("catalog"))
    built = built_releases()
    if opt("kc_k8s_version"):
        releases = [
            normalize_release(v) for v in str(opt("kc_k8s_version")).split(",") if v.strip()
        ]
        for release in releases:
            catalog.release(release)
    else:
        releases = _default_releases(catalog, built)
    overrides = read_image_map(opt("image_map"))
    kubeconfig = Path(opt("kc_kubeconfig")).expanduser() if opt("kc_kubeconfig") else None
    context = opt("kc_kube_context")
    if kubeconfig is not None:
        check_kubeconfig(kubeconfig, context)
        if opt("prove"):
            raise ConfigError(
                "--prove with --kubeconfig: the feature-off runs would land on that same "
                "cluster, where the feature is on; drop --prove, or drop --kubeconfig to let "
                "kconformance make kind clusters with the feature off"
            )
    elif context:
        raise ConfigError("--kube-context needs --kubeconfig: it names a context of that file")
    manifests_dir = Path(opt("manifests_dir")).expanduser() if opt("manifests_dir") else None
    if manifests_dir is not None and not manifests_dir.is_dir():
        raise ConfigError(
            f"--manifests-dir {manifests_dir}: no such directory; pass the folder that holds "
            "<sig>/*.yaml (the repository's manifests/), or drop the option"
        )
    for name in (opt("kc_features") or "").split(","):
        if name.strip():
            catalog.feature(name.strip())
    forced = opt("kc_profile")
    if forced:
        catalog.profile(forced)
    return Settings(
        catalog=catalog,
        releases=releases,
        kubeconfig=kubeconfig,
        kube_context=context,
        kind_bin=opt("kc_kind_bin"),
        kubectl_bin=opt("kubectl_bin"),
        node_image=opt("node_image"),
        keep_clusters=bool(opt("keep_clusters")),
        keep_namespaces=bool(opt("keep_namespaces")),
        forced_profile=forced,
        extra_gates=parse_gate_list(opt("kc_feature_gates") or ""),
        images=dict(catalog.images),
        image_overrides=overrides,
        manifests_dir=manifests_dir or root / "manifests",
        artifacts_dir=Path(opt("artifacts_dir")) if opt("artifacts_dir") else root / "artifacts",
        report_dir=Path(opt("report_dir")) if opt("report_dir") else root / "reports",
        report=not opt("no_report"),
        prefetch=not opt("no_prefetch"),
        creation_slots=_creation_slots(opt("parallel_creations")),
        only_features={f.strip() for f in (opt("kc_features") or "").split(",") if f.strip()},
        prove=bool(opt("prove")),
        host=frozenset() if kubeconfig else host_facts(),
        built=built,
    )
