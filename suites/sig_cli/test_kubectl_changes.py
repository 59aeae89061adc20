"""sig-cli: kubectl changes of the article's "Other changes", with the release's own kubectl
(the one hack/build.sh built, or --kubectl-bin). They are changes of the binary: no gate or
profile brings the old behaviour back, so ``--profile baseline`` passes too."""

from __future__ import annotations

import re

import pytest

from kconformance.testing import Kube


@pytest.mark.feature("KubectlVersionShortRemoved")
def test_version_short_flag_is_refused_and_short_output_is_the_default(kube: Kube) -> None:
    """ "kubectl version now returns kubectl version --short, --short flag is removed":
    `kubectl version --short` exits non-zero with "error: unknown flag: --short", and plain
    `kubectl version` prints the three short lines: client, kustomize and server version."""
    refused = kube.kubectl("version", "--short", check=False)
    assert refused.returncode != 0
    assert "error: unknown flag: --short" in refused.stdout, refused.stdout

    lines = kube.kubectl("version").stdout.strip().splitlines()
    server = kube.cluster.server_version()
    assert [line.split(":")[0] for line in lines] == [
        "Client Version",
        "Kustomize Version",
        "Server Version",
    ], lines
    assert re.fullmatch(r"Client Version: v1\.\d+\.\d+.*", lines[0]), lines[0]
    assert lines[2] == f"Server Version: {server}"


@pytest.mark.feature("KubectlExplainOpenAPIV3EnvRemoved")
def test_explain_uses_openapi_v3_whatever_the_old_variable_says(kube: Kube) -> None:
    """ "Remove KUBECTL_EXPLAIN_OPENAPIV3": with KUBECTL_EXPLAIN_OPENAPIV3=false, kubectl explain
    still renders from OpenAPI v3 (its template prints "GROUP:      apps" and
    "VERSION:    v1"); the OpenAPI v2 rendering ("VERSION:  apps/v1", no GROUP line) is only
    reachable with --output=plaintext-openapiv2."""
    v3 = kube.kubectl(
        "explain", "deployments", env={"KUBECTL_EXPLAIN_OPENAPIV3": "false"}
    ).stdout.splitlines()
    assert v3[:3] == ["GROUP:      apps", "KIND:       Deployment", "VERSION:    v1"], v3[:3]
    v2 = kube.kubectl("explain", "deployments", "--output=plaintext-openapiv2").stdout
    assert "GROUP:" not in v2
    assert re.search(r"^VERSION:\s+apps/v1$", v2, re.MULTILINE), v2[:300]
