"""What hack/build.sh produced on this machine: node images, kind and kubectl per release.

The build writes ``$KCONFORMANCE_CACHE/releases/<release>.json``; reading it lets the suite
default to the newest release actually built here and use the kind CLI that matches it.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from kconformance.catalog import release_key


def cache_dir() -> Path:
    return Path(os.environ.get("KCONFORMANCE_CACHE", Path.home() / ".cache" / "kconformance"))


@dataclass(frozen=True)
class BuiltRelease:
    release: str
    kubernetes_version: str
    node_image: str
    kind: str | None = None
    kubectl: str | None = None
    images: dict[str, str] = field(default_factory=dict)


def built_releases(root: Path | None = None) -> dict[str, BuiltRelease]:
    folder = (root or cache_dir()) / "releases"
    found: dict[str, BuiltRelease] = {}
    if not folder.is_dir():
        return found
    for path in folder.glob("*.json"):
        if not path.stem.replace(".", "").isdigit():
            continue  # e.g. 1.28-go.json: a partial build record
        try:
            data = json.loads(path.read_text())
            found[data["release"]] = BuiltRelease(
                release=data["release"],
                kubernetes_version=data["kubernetes_version"],
                node_image=data["node_image"],
                kind=data.get("kind"),
                kubectl=data.get("kubectl"),
                images=dict(data.get("images") or {}),
            )
        except (ValueError, KeyError):
            continue
    return found


def newest(releases: dict[str, BuiltRelease]) -> str | None:
    return max(releases, key=release_key) if releases else None
