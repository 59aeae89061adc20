"""sig-node: the kubelet's --azure-container-registry-config deprecated in 1.28 (PR #118596),
shown by the release's own kubelet binary. Not gated: ``--profile baseline`` passes too."""

from __future__ import annotations

import pytest

from kconformance.catalog import release_key
from kconformance.testing import Kube
from suites.binaries import release_binary, run_binary

FLAG = "--azure-container-registry-config"


@pytest.mark.feature("KubeletAzureRegistryFlagDeprecated")
def test_azure_registry_flag_is_deprecated_then_gone(kube: Kube) -> None:
    """ "Kubelet: --azure-container-registry-config ➜ --image-credential-provider-config and
    --image-credential-provider-bin-dir": the 1.28 kubelet accepts it and prints "Flag
    --azure-container-registry-config has been deprecated, Use --image-credential-provider-config
    and --image-credential-provider-bin-dir to setup acr credential provider instead. Will be
    removed in a future release." (1.29 too); from 1.30 the kubelet no longer knows it."""
    kubelet = release_binary(kube, "kubelet")
    code, out = run_binary(kubelet, f"{FLAG}=/nonexistent/azure.json", "--version")
    if release_key(kube.release) < (1, 30):
        assert code == 0, out[-400:]
        assert (
            f"Flag {FLAG} has been deprecated, Use --image-credential-provider-config and "
            "--image-credential-provider-bin-dir to setup acr credential provider instead. "
            "Will be removed in a future release." in out
        ), out[-400:]
    else:
        assert code != 0 and f"unknown flag: {FLAG}" in out, out[-400:]
