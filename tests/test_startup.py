"""What every pytest process pays before it does anything: the plugin's imports."""

from __future__ import annotations

import subprocess
import sys


def test_the_plugin_leaves_the_kubernetes_client_to_code_that_uses_a_cluster():
    """Importing kubernetes takes ~0.3 s of CPU. An xdist controller, a collection, a usage
    error or a run without cluster tests never talks to a cluster, so loading the plugin
    (which every pytest process does) must not import it."""
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, kconformance.plugin; print(sorted(m for m in sys.modules"
            " if m.split('.')[0] == 'kubernetes'))",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert out.strip() == "[]"
