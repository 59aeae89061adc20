"""sig-scheduling: kube-scheduler command-line changes of the article's "Other changes", shown
by the release's own kube-scheduler binary. Not gated: ``--profile baseline`` passes too."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from kconformance.testing import Kube
from suites.binaries import release_binary, run_binary

GROUP = "kubescheduler.config.k8s.io"


def _write_config(folder: Path, version: str, kubeconfig: Path) -> Path:
    path = folder / f"scheduler-{version}.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "apiVersion": f"{GROUP}/{version}",
                "kind": "KubeSchedulerConfiguration",
                "clientConnection": {"kubeconfig": str(kubeconfig)},
            }
        )
    )
    return path


@pytest.mark.feature("KubeSchedulerConfigurationV1beta2Removed")
def test_scheduler_configuration_v1beta2_is_refused_and_v1_accepted(
    kube: Kube, tmp_path: Path
) -> None:
    """ "KubeSchedulerConfiguration: v1beta2 ➜ v1": kube-scheduler refuses a v1beta2
    configuration file ('no kind "KubeSchedulerConfiguration" is registered for version
    "kubescheduler.config.k8s.io/v1beta2"') and accepts v1, which --write-config-to writes back
    defaulted, as v1, before exiting. The cluster's kubeconfig is only named, never used."""
    scheduler = release_binary(kube, "kube-scheduler")
    old = _write_config(tmp_path, "v1beta2", kube.cluster.kubeconfig)
    code, out = run_binary(scheduler, "--config", str(old), "--write-config-to", "/dev/null")
    assert code != 0
    assert (
        f'no kind \\"KubeSchedulerConfiguration\\" is registered for version \\"{GROUP}/v1beta2\\"'
    ) in out, out[-800:]

    new = _write_config(tmp_path, "v1", kube.cluster.kubeconfig)
    written = tmp_path / "written.yaml"
    code, out = run_binary(scheduler, "--config", str(new), "--write-config-to", str(written))
    assert code == 0, out[-800:]
    config = yaml.safe_load(written.read_text())
    assert (config["apiVersion"], config["kind"]) == (f"{GROUP}/v1", "KubeSchedulerConfiguration")
    assert config["profiles"][0]["schedulerName"] == "default-scheduler"


@pytest.mark.feature("SchedulerLockObjectFlagsRemoved")
def test_scheduler_lock_object_flags_are_refused(kube: Kube) -> None:
    """ "kube-scheduler: --lock-object-namespace and --lock-object-name ➜
    --leader-elect-resource-namespace and --leader-elect-resource-name": the old flags are
    unknown to kube-scheduler ("Error: unknown flag: --lock-object-namespace"); the new ones
    are parsed (the run then stops at --version)."""
    scheduler = release_binary(kube, "kube-scheduler")
    for flag in ("--lock-object-namespace", "--lock-object-name"):
        code, out = run_binary(scheduler, f"{flag}=kube-system", "--version")
        assert code != 0 and f"Error: unknown flag: {flag}" in out, out[-400:]
    code, out = run_binary(
        scheduler,
        "--leader-elect-resource-namespace=kube-system",
        "--leader-elect-resource-name=kube-scheduler",
        "--version",
    )
    assert code == 0 and out.strip().startswith("Kubernetes v"), out[-400:]
