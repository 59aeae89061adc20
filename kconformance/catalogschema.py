"""The catalog's JSON Schema: generated from the catalog's models and shipped next to the catalog.

An editor that knows the schema (catalog.yaml names it on its first line, for the YAML language
server) completes keys, shows each field's description and marks a wrong stage code or a
misspelt key while the file is written, before kconformance reads it. The shipped copy is
generated, never edited: ``python -m kconformance schema --check`` fails when it is stale.
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

from pydantic.json_schema import GenerateJsonSchema, JsonSchemaMode, JsonSchemaValue
from pydantic_core import CoreSchema, core_schema

from kconformance.catalog import Catalog

# Where the schema is shipped, inside the package (pyproject.toml's package-data lists it).
SCHEMA_FILE = "data/catalog.schema.json"


class _CatalogSchema(GenerateJsonSchema):
    """pydantic's generator, without the titles it derives from each key ("Node Image"), which
    only repeat the key; with the dialect named, so that editors pick the right draft; and
    release-keyed mappings closed to other keys."""

    def field_title_should_be_set(self, schema: Any) -> bool:
        return False

    def generate(self, schema: CoreSchema, mode: JsonSchemaMode = "validation") -> JsonSchemaValue:
        return {"$schema": self.schema_dialect, **super().generate(schema, mode)}

    def dict_schema(self, schema: core_schema.DictSchema) -> JsonSchemaValue:
        """A mapping keyed by release takes no other key (a release key has a pattern)."""
        out = super().dict_schema(schema)
        if "patternProperties" in out:
            out["additionalProperties"] = False
        return out


def schema_text() -> str:
    """The catalog's JSON Schema as the shipped file holds it."""
    schema = Catalog.model_json_schema(schema_generator=_CatalogSchema)
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"


def shipped_schema_text() -> str:
    return resources.files("kconformance").joinpath(SCHEMA_FILE).read_text("utf-8")
