"""The kind CLI, driven as a subprocess (kind's own Cmder seam, in Python).

Only this module knows kind's command line. Its errors carry kind's own output, because kind
says precisely why a node did not come up and paraphrasing would lose that.
"""

from __future__ import annotations

from pathlib import Path

from kconformance import process
from kconformance.errors import CommandError


class KindCLI:
    def __init__(self, binary: str) -> None:
        self.binary = binary

    def _run(self, *args: str, timeout: float | None = None) -> str:
        return process.run([self.binary, *args], timeout=timeout).stdout

    def version(self) -> str:
        return self._run("version", timeout=30).strip()

    def clusters(self) -> list[str]:
        out = self._run("get", "clusters", timeout=60)
        return [line.strip() for line in out.splitlines() if line.strip() and " " not in line]

    def create(
        self,
        name: str,
        config: Path,
        image: str,
        kubeconfig: Path,
        wait: str = "5m",
        timeout: float = 900,
    ) -> str:
        return self._run(
            "create",
            "cluster",
            "--name",
            name,
            "--config",
            str(config),
            "--image",
            image,
            "--kubeconfig",
            str(kubeconfig),
            "--wait",
            wait,
            "--retain",  # on failure keep the nodes so their logs can be exported, then delete
            timeout=timeout,
        )

    def delete(self, name: str) -> None:
        self._run("delete", "cluster", "--name", name, timeout=300)

    def export_logs(self, name: str, dest: Path) -> None:
        self._run("export", "logs", str(dest), "--name", name, timeout=300)

    def load_image(self, name: str, image: str) -> None:
        self._run("load", "docker-image", image, "--name", name, timeout=600)


__all__ = ["KindCLI", "CommandError"]
