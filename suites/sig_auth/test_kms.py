"""sig-auth: KMS v2 encryption at rest (KEP-3299).

The `kms` profile runs a test-only KMS v2 plugin (hack/go/kms-plugin, built by
hack/build-kms-plugin.sh against the release's k8s.io/kms module, one plain AES-256-GCM key) as a
static pod on the control-plane node, and points the apiserver's EncryptionConfiguration at its
socket (catalog `components.kms-plugin`). On 1.28 the plugin reports KMS API `v2beta1`, the only
version kube-apiserver 1.28 accepts; from 1.29 it reports `v2`.
"""

from __future__ import annotations

import base64
import json
import re

import pytest

from kconformance.testing import Kube

PROVIDER = "kconformance-test-kms"  # name in kconformance/data/components/kms-plugin/
SECRET_VALUE = "kconformance-plain-text-value"


def _etcd_value(kube: Kube, key: str) -> bytes:
    """The raw bytes etcd stores under ``key``, read with etcdctl in the etcd static pod."""
    etcd = kube.cluster.core.list_namespaced_pod("kube-system", label_selector="component=etcd")
    out = kube.kubectl(
        "exec",
        "-n",
        "kube-system",
        etcd.items[0].metadata.name,
        "--",
        "etcdctl",
        "--endpoints=https://127.0.0.1:2379",
        "--cacert=/etc/kubernetes/pki/etcd/ca.crt",
        "--cert=/etc/kubernetes/pki/etcd/server.crt",
        "--key=/etc/kubernetes/pki/etcd/server.key",
        "get",
        key,
        "-w",
        "json",
    ).stdout
    kvs = json.loads(out).get("kvs") or []
    assert kvs, f"etcd has no key {key}: {out[:200]}"
    return base64.b64decode(kvs[0]["value"])


@pytest.mark.feature("KMSv2")
def test_secrets_are_stored_through_the_kms_v2_provider(kube: Kube) -> None:
    """KEP-3299: with a KMS v2 provider in the EncryptionConfiguration, a Secret reads back in
    plain text through the API while etcd holds it as ``k8s:enc:kms:v2:<provider name>:``
    followed by ciphertext (the DEK encrypted by the plugin, the data by the DEK)."""
    kube.cluster.core.create_namespaced_secret(
        kube.namespace, {"metadata": {"name": "sealed"}, "stringData": {"key": SECRET_VALUE}}
    )
    read = kube.cluster.core.read_namespaced_secret("sealed", kube.namespace)
    assert base64.b64decode(read.data["key"]).decode() == SECRET_VALUE

    raw = _etcd_value(kube, f"/registry/secrets/{kube.namespace}/sealed")
    prefix = f"k8s:enc:kms:v2:{PROVIDER}:".encode()
    assert raw.startswith(prefix), f"etcd value starts with {raw[:48]!r}, expected {prefix!r}"
    assert SECRET_VALUE.encode() not in raw, "the plain text is in etcd"


@pytest.mark.feature("KMSv2")
def test_the_apiserver_reports_the_kms_provider_healthy(kube: Kube) -> None:
    """KEP-3299: the apiserver adds a health check for its KMS providers (``kms-provider-0``,
    or one ``kms-providers`` check when the configuration is reloaded automatically) that calls
    the plugin's Status; it is ok only while the plugin answers with a supported version,
    ``ok`` healthz and a key id. The plugin says which KMS API version its Status reports."""
    verbose = kube.cluster.raw_get("/healthz", query=[("verbose", "true")])
    checks = {
        name: sign for sign, name in re.findall(r"^\[([+-])\](kms-provider\S*) ", verbose, re.M)
    }
    assert checks, f"no kms-provider check in /healthz?verbose:\n{verbose}"
    assert set(checks.values()) == {"+"}, verbose
    name = sorted(checks)[0]
    assert kube.cluster.raw_get(f"/healthz/{name}").strip() == "ok"
    # 1.28 accepts only a plugin whose Status says "v2beta1" (KMSv2 was beta); 1.29+ say "v2"
    expected = "v2beta1" if kube.release == "1.28" else "v2"
    pod = kube.cluster.core.list_namespaced_pod(
        "kube-system", label_selector="component=kconformance-kms-plugin"
    ).items[0]
    log = kube.kubectl("logs", "-n", "kube-system", pod.metadata.name).stdout
    assert f"KMS API {expected} on " in log, log
