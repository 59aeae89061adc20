"""sig-api-machinery: the etcd a release's kubeadm deploys (article "Other changes": "etcd updated
to 3.5.9-0"), read from the running cluster."""

from __future__ import annotations

import pytest

from kconformance.testing import Kube
from suites.binaries import release_binary, run_binary
from suites.nodes import control_plane


@pytest.mark.feature("EtcdVersion")
def test_cluster_runs_the_etcd_of_its_kubeadm(kube: Kube) -> None:
    """The etcd static pod runs the image the release's kubeadm names (`kubeadm config images
    list`), and the etcd binary in it reports that version.

    Where the article differs: 3.5.9-0 is what v1.28.0 shipped; patch releases moved on -
    v1.28.15's kubeadm deploys 3.5.15-0 (and v1.36.3's 3.6.8-0). A release fact: not gated,
    ``--profile baseline`` passes too."""
    kubeadm = release_binary(kube, "kubeadm")
    version = kube.cluster.server_version()
    code, out = run_binary(kubeadm, "config", "images", "list", "--kubernetes-version", version)
    assert code == 0, out[-400:]
    (image,) = [line for line in out.splitlines() if "/etcd:" in line]
    tag = image.rsplit(":", 1)[1]

    pod = kube.cluster.core.read_namespaced_pod(f"etcd-{control_plane(kube)}", "kube-system")
    assert [c.image for c in pod.spec.containers] == [image]
    reported = kube.kubectl(
        "exec", "-n", "kube-system", pod.metadata.name, "--", "etcd", "--version"
    ).stdout
    assert f"etcd Version: {tag.split('-')[0]}" in reported, reported
