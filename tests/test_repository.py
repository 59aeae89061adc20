"""Dead code stays dead: hack/go/crictl-mini was never built here (crictl comes from
sigs.k8s.io/cri-tools on the module proxy) and nothing may fall back to it."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_no_crictl_mini_fallback():
    assert not (ROOT / "hack" / "go" / "crictl-mini").exists()
    assert "crictl-mini" not in (ROOT / "hack" / "build-go.sh").read_text()


def test_no_preexec_fn_in_the_package():
    """preexec_fn is unsafe while threads start subprocesses (prefetch does)."""
    for path in (ROOT / "kconformance").rglob("*.py"):
        assert "preexec_fn=" not in path.read_text(), path


def test_no_test_switch_in_production_code():
    """The framework's own tests drive fake executables and a fake API server
    (tests/fakes/), never a switch inside the package."""
    for path in (ROOT / "kconformance").rglob("*.py"):
        assert "KCONFORMANCE_FAKE" not in path.read_text(), path


def test_one_way_to_delete_a_registered_cluster_and_to_ask_for_a_local_image():
    """``kind delete`` of a registered cluster is called only by kconformance.deletion (the kind
    driver of providers.py and the commands' LazyKind of commands/machine.py are what it calls);
    ``docker image inspect`` only by kconformance.preflight.image_is_local."""
    deleting, inspecting = set(), set()
    for path in (ROOT / "kconformance").rglob("*.py"):
        text = path.read_text()
        if re.search(r"\b(kind|driver|cli\(\)|_kind\(\))\.delete\(", text):
            deleting.add(path.name)
        if '"docker", "image", "inspect"' in text:
            inspecting.add(path.name)
    assert deleting <= {"deletion.py", "providers.py", "machine.py"}, deleting
    assert inspecting == {"preflight.py"}, inspecting
