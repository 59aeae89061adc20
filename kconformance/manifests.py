"""Manifests from manifests/: load, fill in names and images, server-side apply.

Placeholders are ``{{name}}``: ``{{namespace}}``, ``{{image.busybox}}`` (from the image map, so
air-gapped users can point at a mirror) and whatever a test passes. Anything wrong is reported
with the file and the field, because "invalid object" alone sends people hunting.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from kubernetes.client.exceptions import ApiException
from kubernetes.dynamic.exceptions import ResourceNotFoundError
from tenacity import retry, retry_if_exception_type, stop_after_delay, wait_fixed

from kconformance.client import Cluster
from kconformance.errors import ManifestError
from kconformance.transient import transient_retry

FIELD_MANAGER = "kconformance"
_PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][\w.\-]*)\s*\}\}")


class FieldsDropped(ManifestError):
    """The API server accepted an object but silently left out fields the manifest set.

    That is what an API server does with a field whose feature gate is off (its strategy's
    ``dropDisabledFields``) or that the served version does not know: the object is stored, the
    feature is not there. Raised at apply time so a test of an off feature fails in a second,
    naming the field, instead of waiting for behaviour that can never come.
    """

    def __init__(self, source: str, obj: Mapping[str, Any], paths: list[str]) -> None:
        self.paths = paths
        kind = obj.get("kind", "?")
        name = obj.get("metadata", {}).get("name", "?")
        super().__init__(
            f"{source}: {kind} {name!r} was stored without {', '.join(paths)}: the API server "
            "dropped these fields (their feature gate is off, or this API version lacks them)"
        )


# Fields the API server converts on write, so they never read back as sent.
_WRITE_ONLY = {("Secret", "stringData")}


def dropped_paths(sent: Any, stored: Any, path: str = "") -> list[str]:
    """Paths set (non-empty) in ``sent`` that are missing from ``stored``.

    Values are not compared (defaulting and normalization change them: "1000m" reads back as
    "1"); only presence. List elements are compared by position, which apply preserves.
    """
    if isinstance(sent, Mapping):
        if not isinstance(stored, Mapping):
            return [path or "."]
        missing: list[str] = []
        for key, value in sent.items():
            if value is None or value == {} or value == [] or (not path and key == "status"):
                continue
            child = f"{path}.{key}" if path else str(key)
            if key not in stored:
                missing.append(child)
            else:
                missing += dropped_paths(value, stored[key], child)
        return missing
    if isinstance(sent, list) and isinstance(stored, list):
        missing = []
        for index, value in enumerate(sent):
            child = f"{path}[{index}]"
            if index >= len(stored):
                missing.append(child)
            else:
                missing += dropped_paths(value, stored[index], child)
        return missing
    return []


def _check_kept(source: str, sent: Mapping[str, Any], stored: Mapping[str, Any]) -> None:
    kind = str(sent.get("kind", ""))
    trimmed = {k: v for k, v in sent.items() if (kind, k) not in _WRITE_ONLY}
    missing = dropped_paths(trimmed, stored)
    if missing:
        raise FieldsDropped(source, sent, missing)


class NotServed(ManifestError):
    """The cluster does not serve the manifest's apiVersion and kind (an API group whose
    runtime-config or gate is off, or a version this release no longer has)."""


class ApiRejection(ManifestError):
    """The API server refused an object; keeps the Status so tests can assert on it."""

    def __init__(self, source: str, obj: Mapping[str, Any], exc: ApiException) -> None:
        self.code = exc.status
        try:
            self.status: dict[str, Any] = json.loads(exc.body or "{}")
        except ValueError:
            self.status = {"message": str(exc.body)}
        self.reason = str(self.status.get("reason", ""))
        self.message = str(self.status.get("message", exc.reason))
        self.causes: list[dict[str, Any]] = list(
            (self.status.get("details") or {}).get("causes") or []
        )
        kind = obj.get("kind", "?")
        name = obj.get("metadata", {}).get("name", "?")
        fields = ", ".join(str(c.get("field")) for c in self.causes if c.get("field"))
        where = f" (fields: {fields})" if fields else ""
        super().__init__(f"{source}: {kind} {name!r} rejected ({self.code}): {self.message}{where}")

    def cause_fields(self) -> list[str]:
        return [str(c.get("field", "")) for c in self.causes]


@dataclass
class ManifestSet:
    """Where manifests live and what placeholders mean for one cluster."""

    root: Path
    images: Mapping[str, str] = field(default_factory=dict)

    def path(self, relative: str) -> Path:
        path = (self.root / relative).resolve()
        if not path.is_file():
            raise ManifestError(f"manifest {relative} not found under {self.root}")
        return path

    def render(self, relative: str, **values: Any) -> list[dict[str, Any]]:
        """The manifest's documents as dicts, placeholders filled, each checked for identity."""
        path = self.path(relative)
        text = path.read_text()
        lookup: dict[str, Any] = {f"image.{k}": v for k, v in self.images.items()}
        lookup.update(values)

        def fill(match: re.Match[str]) -> str:
            key = match.group(1)
            if key not in lookup:
                line = text.count("\n", 0, match.start()) + 1
                raise ManifestError(
                    f"{relative}:{line}: placeholder {{{{{key}}}}} has no value; pass {key}=... "
                    "to apply() or add the image to the image map"
                )
            return str(lookup[key])

        rendered = _PLACEHOLDER.sub(fill, text)
        try:
            docs = [d for d in yaml.safe_load_all(rendered) if d is not None]
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            at = f":{mark.line + 1}" if mark else ""
            raise ManifestError(f"{relative}{at}: not valid YAML: {exc}") from None
        for index, doc in enumerate(docs):
            check_identity(doc, f"{relative} (document {index + 1})")
        return docs


def check_identity(doc: Any, source: str) -> None:
    if not isinstance(doc, dict):
        raise ManifestError(f"{source}: expected a mapping, got {type(doc).__name__}")
    for key in ("apiVersion", "kind"):
        if not doc.get(key):
            raise ManifestError(f"{source}: missing field {key}")
    if not (doc.get("metadata") or {}).get("name"):
        raise ManifestError(f"{source}: missing field metadata.name")


def apply_object(
    cluster: Cluster, obj: dict[str, Any], namespace: str | None, source: str = "<object>"
) -> dict[str, Any]:
    """Server-side apply one object (field manager kconformance) and return what the server holds.

    Raises:
        NotServed: the cluster does not serve the object's apiVersion and kind.
        ApiRejection: the server refused the object.
        FieldsDropped: the server stored it without some of its fields (a gated field whose
            feature is off).
    """
    check_identity(obj, source)
    try:
        resource = _served(cluster, obj["kind"], obj["apiVersion"])
    except Exception as exc:
        raise NotServed(
            f"{source}: the cluster does not serve {obj['apiVersion']} {obj['kind']} ({exc})"
        ) from None
    ns = None
    if resource.namespaced:
        ns = obj.get("metadata", {}).get("namespace") or namespace
        obj.setdefault("metadata", {})["namespace"] = ns

    @transient_retry
    def send() -> Any:
        return resource.server_side_apply(
            body=obj,
            name=obj["metadata"]["name"],
            namespace=ns,
            field_manager=FIELD_MANAGER,
            force_conflicts=True,
        )

    try:
        result = send()
    except ApiException as exc:
        raise ApiRejection(source, obj, exc) from None
    stored = dict(result.to_dict())
    _check_kept(source, obj, stored)
    return stored


@retry(
    retry=retry_if_exception_type(ResourceNotFoundError),
    wait=wait_fixed(0.5),
    stop=stop_after_delay(15),
    reraise=True,
)
def _served(cluster: Cluster, kind: str, api_version: str) -> Any:
    """Look a kind up; a CRD's kind reaches discovery a moment after it is Established."""
    return cluster.resource(kind, api_version)
