"""Read Prometheus text exposition, as Kubernetes components serve it on /metrics.

Components put a metric's stability level and deprecation into its HELP text
(``# HELP name [BETA] (Deprecated since 1.28.0) ...``, k8s.io/component-base/metrics), so
tests need both the HELP lines and the samples. Counters on a component have no watch: the
only way to see one grow is to read it again, which ``wait_until`` does at a fixed, short
interval until a predicate holds or a deadline passes (also for other state that has no watch,
such as a node's iptables).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from kconformance.errors import WaitTimeout

T = TypeVar("T")

_SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)")
_LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')
_HELP = re.compile(r"^# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) ?(.*)$")


@dataclass(frozen=True)
class Sample:
    name: str
    labels: dict[str, str]
    value: float


@dataclass(frozen=True)
class Exposition:
    helps: dict[str, str]
    samples: tuple[Sample, ...]

    def help(self, name: str) -> str | None:
        """The HELP text of ``name``, None when the metric is not exposed at all."""
        return self.helps.get(name)

    def values(self, metric: str, /, **labels: str) -> list[float]:
        """Values of the series of ``metric`` whose labels include ``labels`` (a label may be
        called ``name``, hence the positional-only metric)."""
        return [
            s.value
            for s in self.samples
            if s.name == metric and all(s.labels.get(k) == v for k, v in labels.items())
        ]

    def total(self, metric: str, /, **labels: str) -> float:
        """Sum over every series of ``metric`` matching ``labels`` (e.g. over ip_family)."""
        return sum(self.values(metric, **labels))

    def names(self) -> set[str]:
        return {s.name for s in self.samples} | set(self.helps)


def parse_exposition(text: str) -> Exposition:
    helps: dict[str, str] = {}
    samples: list[Sample] = []
    for line in text.splitlines():
        if line.startswith("#"):
            match = _HELP.match(line)
            if match:
                helps[match.group(1)] = match.group(2)
            continue
        match = _SAMPLE.match(line)
        if not match:
            continue
        name, labels, raw = match.groups()
        try:
            value = float(raw)
        except ValueError:
            continue
        samples.append(Sample(name, dict(_LABEL.findall(labels or "")), value))
    return Exposition(helps, tuple(samples))


def wait_until(
    read: Callable[[], T],
    predicate: Callable[[T], bool],
    *,
    timeout: float = 60,
    interval: float = 0.5,
    description: str = "a metric",
) -> T:
    """Read again (a metrics endpoint, a command's output) until ``predicate`` holds.

    Raises:
        WaitTimeout: naming ``description``, when ``timeout`` seconds pass.
    """
    deadline = time.monotonic() + timeout
    while True:
        current = read()
        if predicate(current):
            return current
        if time.monotonic() >= deadline:
            raise WaitTimeout(f"timed out after {timeout:.0f}s waiting for {description}")
        time.sleep(interval)
