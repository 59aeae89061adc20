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

from kconformance.metrics import parse_exposition
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


def _key_id_uses(kube: Kube) -> dict[str, float]:
    """The apiserver's count of encryptions (to_storage) through our provider, per key id hash."""
    metrics = parse_exposition(kube.cluster.raw_get("/metrics"))
    return {
        s.labels.get("key_id_hash", ""): s.value
        for s in metrics.samples
        if s.name == "apiserver_envelope_encryption_key_id_hash_total"
        and s.labels.get("transformation_type") == "to_storage"
        and s.labels.get("provider_name") == PROVIDER
    }


@pytest.mark.feature("KMSv2")
def test_secrets_are_stored_through_the_kms_v2_provider(kube: Kube) -> None:
    """KEP-3299: with a KMS v2 provider in the EncryptionConfiguration, a Secret reads back in
    plain text through the API while etcd holds it as ``k8s:enc:kms:v2:<provider name>:``
    followed by ciphertext (the DEK encrypted by the plugin, the data by the DEK).

    The write is encrypted under the key id the plugin's Status reported: the apiserver counts
    each encryption per provider and key id (apiserver_envelope_encryption_key_id_hash_total,
    transformation_type to_storage, the key id as "sha256:<hex>"), and that counter grows across
    the create, for the key id hash its Status polls recorded (..._key_id_hash_status_last_
    timestamp_seconds) - KEP-3299's rotation detection compares exactly these two."""
    before = _key_id_uses(kube)
    kube.cluster.core.create_namespaced_secret(
        kube.namespace, {"metadata": {"name": "sealed"}, "stringData": {"key": SECRET_VALUE}}
    )
    after = _key_id_uses(kube)
    grown = {key: n for key, n in after.items() if n >= before.get(key, 0.0) + 1}
    assert grown, f"no KMS v2 key id counted for the write: before {before}, after {after}"
    metrics = parse_exposition(kube.cluster.raw_get("/metrics"))
    from_status = {
        s.labels["key_id_hash"]
        for s in metrics.samples
        if s.name == "apiserver_envelope_encryption_key_id_hash_status_last_timestamp_seconds"
        and s.labels.get("provider_name") == PROVIDER
    }
    assert set(grown) <= from_status, (grown, from_status)
    assert all(re.fullmatch(r"sha256:[0-9a-f]{64}", key) for key in grown), grown
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
    ``ok`` healthz and a key id. kube-apiserver 1.28 accepts only a plugin whose Status says
    KMS API ``v2beta1`` (KMSv2 was beta) and 1.29+ only ``v2``: the test plugin reports the
    version of its release (hack/build-kms-plugin.sh), so a passing check is the apiserver
    accepting that version - the plugin's own statement of it is not read back."""
    verbose = kube.cluster.raw_get("/healthz", query=[("verbose", "true")])
    checks = {
        name: sign for sign, name in re.findall(r"^\[([+-])\](kms-provider\S*) ", verbose, re.M)
    }
    assert checks, f"no kms-provider check in /healthz?verbose:\n{verbose}"
    assert set(checks.values()) == {"+"}, verbose
    name = sorted(checks)[0]
    assert kube.cluster.raw_get(f"/healthz/{name}").strip() == "ok"
