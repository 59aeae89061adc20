"""Against an existing cluster, the run follows the server's release: skips, images, kubectl."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kconformance.artifacts import built_releases
from kconformance.catalog import default_catalog
from kconformance.client import Cluster
from kconformance.errors import ClusterError
from kconformance.runtime import Run, RunIdentity
from kconformance.settings import Settings

KUBECONFIG = "apiVersion: v1\nkind: Config\ncurrent-context: a\ncontexts: [{name: a}]\n"


def _built(cache: Path, release: str, patch: str) -> None:
    folder = cache / "releases"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{release}.json").write_text(
        json.dumps(
            {
                "release": release,
                "kubernetes_version": patch,
                "node_image": f"kindest/node:{patch}",
                "kubectl": str(cache / f"kubectl-{release}"),
                "images": {"busybox": f"busybox-built-for-{release}"},
            }
        )
    )
    (cache / f"kubectl-{release}").write_text("")


def make_run(cache: Path, tmp_path: Path) -> Run:
    _built(cache, "1.28", "v1.28.15")
    _built(cache, "1.36", "v1.36.3")
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(KUBECONFIG)
    catalog = default_catalog()
    settings = Settings(
        catalog=catalog,
        releases=["1.36"],  # the default: the newest built here
        kubeconfig=kubeconfig,
        kube_context=None,
        kind_bin=None,
        kubectl_bin=None,
        node_image=None,
        keep_clusters=False,
        keep_namespaces=False,
        forced_profile=None,
        extra_gates={},
        images=dict(catalog.images),
        image_overrides={},
        manifests_dir=tmp_path,
        artifacts_dir=tmp_path,
        report_dir=tmp_path,
        report=False,
        prefetch=False,
        creation_slots=1,
        only_features=set(),
        host=frozenset(),
        built=built_releases(cache),
    )
    return Run(settings, RunIdentity("r", tmp_path / "run", 1))


def test_existing_cluster_follows_the_servers_release(_private_cache, tmp_path, monkeypatch):
    monkeypatch.setattr(Cluster, "server_version", lambda self: "v1.28.15")
    run = make_run(_private_cache, tmp_path)
    run.existing.cluster()  # a handle made before adoption must not keep 1.36's tools
    assert run.existing.adopt_server_release() == "1.28"
    handle = run.existing.cluster()
    assert handle.release == "1.28"
    assert handle.images["busybox"] == "busybox-built-for-1.28"
    assert handle.kubectl_bin.endswith("kubectl-1.28")
    assert run.settings.releases == ["1.28"]


def test_unreachable_existing_cluster_is_one_line(_private_cache, tmp_path, monkeypatch):
    def refuse(self):
        raise ConnectionRefusedError("Connection refused\nlong urllib3 story")

    monkeypatch.setattr(Cluster, "server_version", refuse)
    run = make_run(_private_cache, tmp_path)
    with pytest.raises(ClusterError) as info:
        run.existing.adopt_server_release()
    assert "\n" not in str(info.value)
    assert "cannot reach the cluster (Connection refused); check it runs: KUBECONFIG=" in str(
        info.value
    )
    assert str(info.value).endswith(" kubectl get nodes")
