"""sig-storage: kube-controller-manager's volume-host flags deprecated in 1.28 (PR #118128),
shown by the release's own binary. Not gated: ``--profile baseline`` passes too."""

from __future__ import annotations

import pytest

from kconformance.catalog import release_key
from kconformance.testing import Kube
from suites.binaries import release_binary, run_binary

FLAGS = ("--volume-host-cidr-denylist=192.0.2.0/24", "--volume-host-allow-local-loopback=false")


@pytest.mark.feature("VolumeHostFlagsDeprecated")
def test_volume_host_flags_are_deprecated_then_gone(kube: Kube) -> None:
    """ "kube-controller-manager: --volume-host-cidr-denylist and
    --volume-host-allow-local-loopback flags" will stop working: 1.28 still accepts each and
    prints "Flag --<name> has been deprecated, This flag is currently no-op and will be
    deleted." (through 1.30); from 1.31 it no longer knows them ("unknown flag")."""
    kcm = release_binary(kube, "kube-controller-manager")
    for flag in FLAGS:
        name = flag.split("=")[0]
        code, out = run_binary(kcm, flag, "--version")
        if release_key(kube.release) < (1, 31):
            assert code == 0, out[-400:]
            assert (
                f"Flag {name} has been deprecated, This flag is currently no-op and will be "
                "deleted." in out
            ), out[-400:]
        else:
            assert code != 0 and f"unknown flag: {name}" in out, out[-400:]
