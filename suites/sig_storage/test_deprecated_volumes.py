"""sig-storage: in-tree CephFS and RBD volume plugins deprecated (article "Other changes")."""

from __future__ import annotations

import pytest
import yaml

from kconformance.testing import Kube


@pytest.mark.feature("InTreeCephRBDDeprecated")
def test_cephfs_and_rbd_volumes_draw_a_deprecation_warning(kube: Kube) -> None:
    """ "CephFS in-tree volume plugin: Use the CephFS CSI driver ... RBD in-tree volume plugin:
    Use the RBD CSI driver": a pod using them is still admitted (server-side dry run) with one
    API warning per volume, "spec.volumes[0].cephfs: deprecated in v1.28, non-functional in
    v1.31+" and the same for rbd (pkg/api/pod/warnings.go, 1.28 and 1.36). The API fields
    remain in 1.36 although the plugins are gone. Not gated: baseline warns too."""
    (pod,) = kube.render("sig_storage/ceph-volumes-pod.yaml")
    out = kube.kubectl(
        "create",
        "--dry-run=server",
        "-n",
        kube.namespace,
        "-f",
        "-",
        input_text=yaml.safe_dump(pod),
    ).stdout
    assert "Warning: spec.volumes[0].cephfs: deprecated in v1.28, non-functional in v1.31+" in out
    assert "Warning: spec.volumes[1].rbd: deprecated in v1.28, non-functional in v1.31+" in out
    assert "pod/ceph-volumes created (server dry run)" in out
