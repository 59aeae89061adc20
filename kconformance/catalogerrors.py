"""A catalog the models refuse, in one line: the file, the path in the document, what is allowed.

pydantic reports every problem with its location. Someone fixing a catalog wants the first one,
named as the YAML spells it (``features.SidecarContainers.stages.1.29``), not a traceback or the
thirty follow-on complaints one wrong indentation causes.
"""

from __future__ import annotations

import types
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError
from pydantic.json_schema import SkipJsonSchema
from pydantic_core import ErrorDetails, PydanticCustomError

# The error type of a reference the Catalog's validators refuse; its ctx carries the path below
# the model that raised it (a model validator's own location is the model).
REFERENCE = "catalog_reference"


def refused(path: tuple[str | int, ...], message: str) -> PydanticCustomError:
    """The error a Catalog validator raises for the entry at ``path`` (from the document root)."""
    return PydanticCustomError(REFERENCE, "{message}", {"message": message, "path": path})


def one_line(error: ValidationError, root: type[BaseModel]) -> str:
    """The first problem of ``error``, as ``path: what is wrong and what is allowed``."""
    detail = error.errors(include_url=False)[0]
    ctx = detail.get("ctx") or {}
    loc = (*detail["loc"], *ctx.get("path", ()))
    kind = detail["type"]
    if kind == "missing" and len(loc) == 1:
        return f"missing top-level key {loc[0]!r}"
    if kind == "missing":
        return _at(loc[:-1], f"missing {loc[-1]}")
    if kind == "extra_forbidden":
        allowed = ", ".join(_keys_at(root, loc[:-1])) or "none"
        return _at(loc[:-1], f"unknown key {loc[-1]!r}; allowed: {allowed}")
    if kind in ("literal_error", "enum"):
        return _at(loc, f"{detail['input']!r} is not one of {ctx['expected']}")
    if kind == "value_error":
        return _at(loc, str(ctx["error"]))
    if kind == REFERENCE:
        return _at(loc, detail["msg"])
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        return _at(loc, f"should be a mapping of keys, got {_short(detail)}")
    if kind in ("tuple_type", "list_type"):
        return _at(loc, f"should be a list, got {_short(detail)}")
    if kind == "too_short":
        return _at(loc, f"needs at least {ctx['min_length']} entry, got {_short(detail)}")
    message = detail["msg"]
    return _at(loc, f"{message[:1].lower()}{message[1:]}, got {_short(detail)}")


def _at(loc: tuple[Any, ...], message: str) -> str:
    """``a.b.c: message``; a problem with a mapping's key says so ("key 1.3 of a.b")."""
    if "[key]" in loc:
        where = loc[: loc.index("[key]")]
        return f"key {where[-1]} of {_path(where[:-1]) or 'the catalog'}: {message}"
    return f"{_path(loc)}: {message}" if loc else message


def _path(loc: tuple[Any, ...]) -> str:
    return ".".join(str(part) for part in loc)


def _short(detail: ErrorDetails) -> str:
    text = repr(detail["input"])
    return text if len(text) <= 60 else f"{text[:57]}..."


def _keys_at(root: type[BaseModel], loc: tuple[Any, ...]) -> list[str]:
    """The keys the model at ``loc`` takes (as the document spells them), or none if not one."""
    annotation: Any = root
    for part in loc:
        model = _model_in(annotation)
        if model is not None:
            fields = {info.alias or name: info for name, info in model.model_fields.items()}
            if part not in fields:
                return []
            annotation = fields[part].annotation
            continue
        # a mapping's value type, or a tuple's item type
        args = [a for a in get_args(_unwrapped(annotation)) if a is not Ellipsis]
        annotation = args[-1] if args else None
    model = _model_in(annotation)
    if model is None:
        return []
    return [
        info.alias or name
        for name, info in model.model_fields.items()
        if not any(isinstance(m, SkipJsonSchema) for m in info.metadata)
    ]


def _unwrapped(annotation: Any) -> Any:
    """The type inside Annotated[...] and X | None."""
    while True:
        origin = get_origin(annotation)
        if origin is Annotated:
            annotation = get_args(annotation)[0]
        elif origin in (Union, types.UnionType):
            inner = [a for a in get_args(annotation) if a is not type(None)]
            annotation = inner[0]
        else:
            return annotation


def _model_in(annotation: Any) -> type[BaseModel] | None:
    inner = _unwrapped(annotation)
    if isinstance(inner, type) and issubclass(inner, BaseModel):
        return inner
    return None
