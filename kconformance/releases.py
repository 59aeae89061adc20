"""Kubernetes releases and gate stages: how a release is written, how releases order, and how
a release-keyed value applies.

The catalog keys much of its data by release ("from this release on"); these rules are the one
place that reads such keys, below the catalog's models so that the models can use them too.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, WithJsonSchema

from kconformance.errors import CatalogError


class Stage(enum.Enum):
    """Maturity of a gate in one release, as kube_features.go declares it."""

    ALPHA = "A"
    BETA_OFF = "B-"
    BETA_ON = "B+"
    GA = "G"
    GA_LOCKED = "GL"
    DEPRECATED_ON = "D+"
    DEPRECATED_OFF = "D-"
    ABSENT = "X"

    @property
    def exists(self) -> bool:
        return self is not Stage.ABSENT

    @property
    def default(self) -> bool:
        return self in (Stage.BETA_ON, Stage.GA, Stage.GA_LOCKED, Stage.DEPRECATED_ON)

    @property
    def locked(self) -> bool:
        return self is Stage.GA_LOCKED

    @property
    def label(self) -> str:
        return {
            Stage.ALPHA: "alpha (default off)",
            Stage.BETA_OFF: "beta (default off)",
            Stage.BETA_ON: "beta (default on)",
            Stage.GA: "GA (default on)",
            Stage.GA_LOCKED: "GA (locked on)",
            Stage.DEPRECATED_ON: "deprecated (default on)",
            Stage.DEPRECATED_OFF: "deprecated (default off)",
            Stage.ABSENT: "not a gate",
        }[self]


# The key a plain (not release-keyed) value gets: "from release 0.0 on", i.e. in every release.
EVERY_RELEASE = "0.0"


def _release_text(value: Any) -> Any:
    if isinstance(value, int | float) and not isinstance(value, bool):
        raise ValueError(f'YAML reads {value} as a number: write the release in quotes, "1.30"')
    return value


def _release_form(value: str) -> str:
    if not re.fullmatch(r"\d+\.\d+", value):
        raise ValueError(f'{value!r} is not a release: write it like "1.28"')
    return value


# A release as the catalog writes it, "1.28" (a string: YAML reads an unquoted 1.30 as 1.3).
ReleaseName = Annotated[
    str,
    BeforeValidator(_release_text),
    AfterValidator(_release_form),
    WithJsonSchema({"type": "string", "pattern": r"^\d+\.\d+$"}),
]


def _every_release(value: Any) -> Any:
    """A plain name holds in every release: it is keyed "from release 0.0 on"."""
    if value is None:
        return {}
    return {EVERY_RELEASE: value} if isinstance(value, str) else value


# A name (a gate, an environment variable) needed from a release on, keyed by that release; a
# plain name is needed in every release, and null means none is needed.
NameByRelease = Annotated[
    Mapping[ReleaseName, str | None],
    BeforeValidator(_every_release, json_schema_input_type=str | dict[ReleaseName, str | None]),
]


def release_key(release: str) -> tuple[int, int]:
    """Order "1.9" before "1.28": releases compare as numbers, not strings."""
    major, minor = release.split(".")[:2]
    return int(major), int(minor)


def from_release(keyed: Mapping[str, Any], release: str) -> Any:
    """The value of a release-keyed map in force for ``release``: each key means "from this
    release on", so {"1.28": a, "1.30": b} gives a for 1.29 and b for 1.36; None before all."""
    applicable = [r for r in keyed if release_key(r) <= release_key(release)]
    if not applicable:
        return None
    return keyed[max(applicable, key=release_key)]


def normalize_release(value: str) -> str:
    """Accept "1.28", "v1.28" and "v1.28.15" alike: releases are identified by minor version."""
    text = value.strip().lstrip("v")
    parts = text.split(".")
    if len(parts) < 2 or not all(p.isdigit() for p in parts[:2]):
        raise CatalogError(
            f"cannot read {value!r} as a Kubernetes release: write it like 1.28 or v1.28.15"
        )
    return f"{int(parts[0])}.{int(parts[1])}"
