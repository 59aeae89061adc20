"""The framework's own tests never touch real clusters or the user's cluster registry.

Every test gets its own KCONFORMANCE_CACHE (registry, run directories, built releases), so code
under test that reaches for the cache finds an empty one, never ~/.cache/kconformance.
"""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def _private_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch):
    cache: Path = tmp_path_factory.mktemp("kconformance-cache")
    monkeypatch.setenv("KCONFORMANCE_CACHE", str(cache))
    yield cache
