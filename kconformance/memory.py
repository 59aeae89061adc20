"""The machine's peak used memory while something runs (kind nodes included).

Used memory is MemTotal - MemAvailable, sampled once a second: kind nodes are containers, so
their memory shows only machine-wide, and a release's clusters must fit the machine's RAM.
"""

from __future__ import annotations

import threading
from pathlib import Path
from types import TracebackType


def used_kib(meminfo: Path = Path("/proc/meminfo")) -> int:
    info = dict(line.split(":", 1) for line in meminfo.read_text().splitlines() if ":" in line)
    return int(info["MemTotal"].split()[0]) - int(info["MemAvailable"].split()[0])


class PeakMemory(threading.Thread):
    """``with PeakMemory() as peak: ...`` then ``peak.gib``."""

    def __init__(self, every: float = 1.0) -> None:
        super().__init__(daemon=True, name="kconformance-peak-memory")
        self.every = every
        self.peak_kib = 0
        self._stop_sampling = threading.Event()

    @property
    def gib(self) -> float:
        return round(self.peak_kib / 1048576, 2)

    def run(self) -> None:
        while True:
            self.peak_kib = max(self.peak_kib, used_kib())
            if self._stop_sampling.wait(self.every):
                return

    def __enter__(self) -> PeakMemory:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stop_sampling.set()
        self.join()
