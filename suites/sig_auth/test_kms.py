"""sig-auth: KMS v2 encryption at rest (KEP-3299).

The catalog marks it unavailable on every release here: it needs a KMS v2 plugin socket mounted
into the apiserver, and this project builds none yet. The test is what a profile with a plugin
would run.
"""

from __future__ import annotations

import pytest

from kconformance.testing import Kube


@pytest.mark.feature("KMSv2")
def test_secrets_are_stored_with_the_kms_v2_prefix(kube: Kube) -> None:
    """With a KMS v2 provider configured, a Secret's bytes in etcd start with
    k8s:enc:kms:v2:<provider>: (KEP-3299)."""
    kube.cluster.core.create_namespaced_secret(
        kube.namespace, {"metadata": {"name": "sealed"}, "stringData": {"k": "v"}}
    )
    etcd = next(
        p.metadata.name
        for p in kube.cluster.core.list_namespaced_pod(
            "kube-system", label_selector="component=etcd"
        ).items
    )
    raw = kube.kubectl(
        "exec",
        "-n",
        "kube-system",
        etcd,
        "--",
        "etcdctl",
        "--cacert=/etc/kubernetes/pki/etcd/ca.crt",
        "--cert=/etc/kubernetes/pki/etcd/server.crt",
        "--key=/etc/kubernetes/pki/etcd/server.key",
        "get",
        "--print-value-only",
        f"/registry/secrets/{kube.namespace}/sealed",
    ).stdout
    assert raw.startswith("k8s:enc:kms:v2:"), raw[:40]
