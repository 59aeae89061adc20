"""The run's event log: one JSON line per cluster event, appended by any process of the run.

Workers create clusters, the controller prints; the file is how the controller learns what the
workers did (it tails it while tests run) and what the report's cluster timings are.
"""

from __future__ import annotations

import json
import threading
from dataclasses import asdict, dataclass
from pathlib import Path


@dataclass
class Event:
    event: str
    name: str
    profile: str
    seconds: float | None = None
    detail: str = ""

    def line(self) -> str:
        if self.event == "warning":
            return f"kconformance: warning: {self.detail}"
        if self.event == "note":
            return f"kconformance: {self.detail}"
        took = f" in {self.seconds:.1f}s" if self.seconds is not None else ""
        detail = f" ({self.detail})" if self.detail else ""
        return f"kconformance: cluster {self.name} [{self.profile}] {self.event}{took}{detail}"


def _parse(line: str) -> Event | None:
    try:
        return Event(**json.loads(line))
    except (ValueError, TypeError):
        return None  # a line cut short by a killed writer: skip it, keep the others


class EventLog:
    """Append-only JSON lines; readers skip a torn last line instead of failing."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._seen = 0
        self._lock = threading.Lock()

    def append(self, event: Event) -> None:
        # The run directory may have been removed (or never made) by the time a warning comes.
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "a") as handle:
            handle.write(json.dumps(asdict(event)) + "\n")

    def read(self) -> list[Event]:
        try:
            lines = self.path.read_text().splitlines()
        except OSError:
            return []
        return [e for line in lines if (e := _parse(line))]

    def unseen(self) -> list[Event]:
        """Events appended since the last call (complete lines only), for the controller's tail."""
        with self._lock:
            try:
                text = self.path.read_text()
            except OSError:
                return []
            complete = text[: text.rfind("\n") + 1]
            lines = complete.splitlines()
            new = lines[self._seen :]
            self._seen = len(lines)
        return [e for line in new if (e := _parse(line))]
