"""Dead code stays dead: hack/go/crictl-mini was never built here (crictl comes from
sigs.k8s.io/cri-tools on the module proxy) and nothing may fall back to it."""

from __future__ import annotations

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
