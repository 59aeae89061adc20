"""The release's own component binaries, as hack/build.sh built them next to its kubectl.

Some changes of a release live in a component's command line (a flag removed or deprecated, a
configuration version dropped) and show before the component reaches a cluster; the tests run
the binary built for the cluster's release with arguments that make it exit at once.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from kconformance.process import run
from kconformance.testing import Kube


def release_binary(kube: Kube, name: str) -> Path:
    """``name`` (e.g. kube-scheduler) of the cluster's release, beside its built kubectl."""
    path = Path(kube.cluster.kubectl_bin).with_name(name)
    if not path.is_file():
        pytest.skip(
            f"needs {name} of Kubernetes {kube.release} beside kubectl "
            f"({kube.cluster.kubectl_bin}): run hack/build.sh {kube.release}"
        )
    return path


def run_binary(path: Path, *args: str, timeout: float = 30) -> tuple[int, str]:
    """Exit code and merged output of a component run that must end by itself."""
    proc = run([str(path), *args], timeout=timeout, check=False)
    return proc.returncode, proc.stdout
