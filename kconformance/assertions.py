"""Partial-object assertions whose failures show only the paths that differ."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

# Filled in by the server on every object; never part of what a test means to compare.
NOISE = frozenset({"managedFields", "resourceVersion", "uid", "creationTimestamp", "generation"})


def mismatches(actual: Any, expected: Any, path: str = "") -> list[str]:
    """Paths where ``actual`` does not contain ``expected`` (mappings compared as subsets)."""
    if isinstance(expected, Mapping):
        if not isinstance(actual, Mapping):
            return [f"{path or '.'}: expected a mapping, got {_short(actual)}"]
        found: list[str] = []
        for key, value in expected.items():
            if key in NOISE:
                continue
            where = f"{path}.{key}" if path else str(key)
            if key not in actual:
                found.append(f"{where}: missing (expected {_short(value)})")
            else:
                found.extend(mismatches(actual[key], value, where))
        return found
    if isinstance(expected, Sequence) and not isinstance(expected, (str, bytes)):
        if not isinstance(actual, Sequence) or isinstance(actual, (str, bytes)):
            return [f"{path}: expected a list, got {_short(actual)}"]
        if len(actual) != len(expected):
            return [f"{path}: expected {len(expected)} items, got {len(actual)}: {_short(actual)}"]
        found = []
        for index, (a, e) in enumerate(zip(actual, expected, strict=True)):
            found.extend(mismatches(a, e, f"{path}[{index}]"))
        return found
    if actual != expected:
        return [f"{path}: expected {_short(expected)}, got {_short(actual)}"]
    return []


def assert_matches(actual: Any, expected: Any) -> None:
    """Assert ``actual`` contains ``expected``; the message lists each differing path, nothing else."""
    found = mismatches(actual, expected)
    if found:
        raise AssertionError("object does not match:\n  " + "\n  ".join(found))


def _short(value: Any, limit: int = 200) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
