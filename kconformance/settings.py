"""The command-line options, read once into a typed object the rest of the tool can trust."""

from __future__ import annotations

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
from kconformance.errors import CatalogError, KconformanceError
from kconformance.profiles import parse_gate_list


@dataclass
class Settings:
    catalog: Catalog
    releases: list[str]
    kubeconfig: Path | None
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
    only_features: set[str]
    prove: bool
    host: frozenset[str]  # facts of the machine kind clusters run on; empty for --kubeconfig
    built: dict[str, BuiltRelease] = field(default_factory=dict)

    @property
    def existing_cluster(self) -> bool:
        return self.kubeconfig is not None

    def kubernetes_version(self, release: str) -> str | None:
        """The patch release built here for ``release``, unless another node image is forced."""
        built = self.built.get(release)
        if built and not self.node_image:
            return built.kubernetes_version
        return None


def add_options(parser: Any) -> None:
    group = parser.getgroup("kconformance", "Kubernetes feature conformance on kind")
    group.addoption(
        "--k8s-version",
        default=None,
        help="Kubernetes release(s) to run, e.g. 1.28 or 1.28,1.36 "
        "(default: the newest one hack/build.sh built here, else the newest the catalog can run)",
    )
    group.addoption(
        "--kubeconfig",
        default=None,
        help="run against this existing cluster instead of creating kind clusters; tests whose "
        "feature is off there are skipped with the reason",
    )
    group.addoption("--kind-bin", default=None, help="kind binary (default: built one, else PATH)")
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
        "--profile",
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
        "--no-prefetch",
        action="store_true",
        help="under xdist, create clusters only when a test first needs one",
    )


def _default_releases(catalog: Catalog, built: dict[str, BuiltRelease]) -> list[str]:
    release = newest({r: b for r, b in built.items() if r in catalog.releases})
    if release:
        return [release]
    runnable = [r for r in catalog.release_names if catalog.releases[r].node_image]
    if not runnable:
        raise CatalogError("the catalog names no release with a node image; pass --k8s-version")
    return [max(runnable, key=release_key)]


def read_settings(config: Any) -> Settings:
    """Turn options into Settings; every mistake becomes one KconformanceError line."""
    opt = config.getoption
    root = Path(config.rootpath)
    catalog = load_catalog(Path(opt("catalog")) if opt("catalog") else None)
    built = built_releases()
    if opt("k8s_version"):
        releases = [normalize_release(v) for v in str(opt("k8s_version")).split(",") if v.strip()]
        for release in releases:
            catalog.release(release)
    else:
        releases = _default_releases(catalog, built)
    overrides: dict[str, str] = {}
    if opt("image_map"):
        path = Path(opt("image_map"))
        try:
            overrides.update(yaml.safe_load(path.read_text()) or {})
        except (OSError, yaml.YAMLError) as exc:
            raise KconformanceError(f"--image-map {path}: {exc}") from None
    for name in (opt("kc_features") or "").split(","):
        if name.strip():
            catalog.feature(name.strip())
    forced = opt("kc_profile")
    if forced:
        catalog.profile(forced)
    return Settings(
        catalog=catalog,
        releases=releases,
        kubeconfig=Path(opt("kubeconfig")).expanduser() if opt("kubeconfig") else None,
        kind_bin=opt("kind_bin"),
        kubectl_bin=opt("kubectl_bin"),
        node_image=opt("node_image"),
        keep_clusters=bool(opt("keep_clusters")),
        keep_namespaces=bool(opt("keep_namespaces")),
        forced_profile=forced,
        extra_gates=parse_gate_list(opt("kc_feature_gates") or ""),
        images=dict(catalog.images),
        image_overrides=overrides,
        manifests_dir=Path(opt("manifests_dir")) if opt("manifests_dir") else root / "manifests",
        artifacts_dir=Path(opt("artifacts_dir")) if opt("artifacts_dir") else root / "artifacts",
        report_dir=Path(opt("report_dir")) if opt("report_dir") else root / "reports",
        report=not opt("no_report"),
        prefetch=not opt("no_prefetch"),
        only_features={f.strip() for f in (opt("kc_features") or "").split(",") if f.strip()},
        prove=bool(opt("prove")),
        host=frozenset() if opt("kubeconfig") else host_facts(),
        built=built,
    )
