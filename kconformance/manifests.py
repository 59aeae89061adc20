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
from kconformance.waits import transient_retry

FIELD_MANAGER = "kconformance"
_PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][\w.\-]*)\s*\}\}")


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
    """Server-side apply one object (field manager kconformance) and return what the server holds."""
    check_identity(obj, source)
    try:
        resource = _served(cluster, obj["kind"], obj["apiVersion"])
    except Exception as exc:
        raise ManifestError(
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
    return dict(result.to_dict())


@retry(
    retry=retry_if_exception_type(ResourceNotFoundError),
    wait=wait_fixed(0.5),
    stop=stop_after_delay(15),
    reraise=True,
)
def _served(cluster: Cluster, kind: str, api_version: str) -> Any:
    """Look a kind up; a CRD's kind reaches discovery a moment after it is Established."""
    return cluster.resource(kind, api_version)


def is_cluster_scoped(cluster: Cluster, obj: Mapping[str, Any]) -> bool:
    return not cluster.resource(obj["kind"], obj["apiVersion"]).namespaced
