from __future__ import annotations

from kconformance.errors import CommandError


def test_command_error_leads_with_the_error_line_and_keeps_the_tail():
    output = (
        "Creating cluster ...\nERROR: failed to create cluster: failed to join node\nStack:\n"
        + "\n".join(f"  frame {i}" for i in range(60))
    )
    text = str(CommandError(["kind", "create", "cluster", "--name", "a b"], 1, output))
    first, second = text.splitlines()[:2]
    assert first == "command failed (exit 1): kind create cluster --name 'a b'"
    assert second == "ERROR: failed to create cluster: failed to join node"
    assert text.rstrip().endswith("frame 59")
