"""The catalog's JSON Schema is generated from its models, shipped up to date, and accepts the
packaged catalog, so that what an editor marks is what kconformance refuses."""

from __future__ import annotations

import json
from importlib import resources

import jsonschema
import pytest
import yaml

from kconformance.__main__ import main
from kconformance.catalogschema import schema_text, shipped_schema_text
from kconformance.commands import schema as schema_command


def _packaged(name: str) -> str:
    return resources.files("kconformance").joinpath(name).read_text("utf-8")


@pytest.fixture(scope="module")
def validator() -> jsonschema.Draft202012Validator:
    schema = json.loads(shipped_schema_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def _problems(validator: jsonschema.Draft202012Validator, document: object) -> list[str]:
    return [
        f"{'.'.join(map(str, error.path))}: {error.message}"
        for error in validator.iter_errors(document)
    ]


def test_the_shipped_schema_is_the_one_the_models_generate():
    assert shipped_schema_text() == schema_text(), (
        "kconformance/data/catalog.schema.json is stale: "
        "python -m kconformance schema > kconformance/data/catalog.schema.json"
    )


def test_the_packaged_catalog_is_valid_under_the_shipped_schema(validator):
    assert _problems(validator, yaml.safe_load(_packaged("data/catalog.yaml"))) == []


def test_the_schema_marks_a_wrong_stage_a_misspelt_key_and_a_missing_behaviour_in(validator):
    catalog = yaml.safe_load(_packaged("data/catalog.yaml"))
    catalog["gates"]["SidecarContainers"]["stages"]["1.29"] = "B"
    sidecars = catalog["features"]["SidecarContainers"]
    sidecars["behavior_in"] = sidecars.pop("behaviour_in")
    problems = _problems(validator, catalog)
    assert any(
        p.startswith("gates.SidecarContainers.stages.1.29: 'B' is not one of") for p in problems
    )
    assert "features.SidecarContainers: 'behaviour_in' is a required property" in problems
    assert any("'behavior_in' was unexpected" in p for p in problems)


def test_the_catalog_names_its_schema_for_editors():
    first_line = _packaged("data/catalog.yaml").splitlines()[0]
    assert first_line == "# yaml-language-server: $schema=catalog.schema.json"


def test_the_schema_command_prints_the_schema(capsys):
    assert main(["schema"]) == 0
    assert capsys.readouterr().out == schema_text()


def test_the_schema_check_fails_on_a_stale_shipped_file(monkeypatch, capsys):
    assert main(["schema", "--check"]) == 0
    monkeypatch.setattr(schema_command, "shipped_schema_text", lambda: "{}\n")
    assert main(["schema", "--check"]) == 1
    assert "run: python -m kconformance schema > kconformance/data/catalog.schema.json" in (
        capsys.readouterr().err
    )
