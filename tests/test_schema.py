"""The shipped JSON Schema is the report's contract: reports from real runs validate against it,
and a field added to the report without a schema change fails here."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import jsonschema
import pytest
from conftest import ConstantEmbedder
from fake_reports import audit_report

from tecurate.reporting import SCHEMA_VERSION, schema


@pytest.fixture(scope="module", params=["informative", "collapsed"])
def report(request, tmp_path_factory):
    embedder = ConstantEmbedder if request.param == "collapsed" else None
    folder = tmp_path_factory.mktemp("schema")
    return audit_report(folder, **({"embedder": embedder} if embedder else {}))


def _resolve(node: dict[str, Any], root: dict[str, Any], value: Any) -> dict[str, Any]:
    """Follow $ref, and pick the oneOf/anyOf branch that ``value`` validates against."""
    while True:
        if "$ref" in node:
            node = root["$defs"][node["$ref"].rsplit("/", 1)[-1]]
        elif "oneOf" in node or "anyOf" in node:
            branches = node.get("oneOf", node.get("anyOf"))
            node = next(b for b in branches if jsonschema.Draft202012Validator(
                {**b, "$defs": root["$defs"]}).is_valid(value))
        else:
            return node


def undeclared(value: Any, node: dict[str, Any], root: dict[str, Any], path: str = "$") -> Iterator[str]:
    """Every key path in ``value`` that the schema does not name, or covers by a schema of its own."""
    node = _resolve(node, root, value)
    if isinstance(value, dict):
        properties = node.get("properties", {})
        extra = node.get("additionalProperties")
        for key, item in value.items():
            if key in properties:
                yield from undeclared(item, properties[key], root, f"{path}.{key}")
            elif isinstance(extra, dict):
                yield from undeclared(item, extra, root, f"{path}.{key}")
            else:
                yield f"{path}.{key}"
    elif isinstance(value, list):
        for i, item in enumerate(value):
            if "items" in node:
                yield from undeclared(item, node["items"], root, f"{path}[{i}]")
            elif isinstance(item, (dict, list)):
                yield f"{path}[{i}]"


def _object_schemas(node: Any, path: str = "#") -> Iterator[tuple[str, dict[str, Any]]]:
    if isinstance(node, dict):
        if node.get("type") == "object" or "properties" in node:
            yield path, node
        for key, child in node.items():
            yield from _object_schemas(child, f"{path}/{key}")
    elif isinstance(node, list):
        for i, child in enumerate(node):
            yield from _object_schemas(child, f"{path}/{i}")


def test_reports_from_real_runs_validate(report):
    jsonschema.validate(report, schema())
    assert report["schema_version"] == SCHEMA_VERSION == schema()["properties"]["schema_version"]["const"]


def test_every_field_of_a_report_is_declared_in_the_schema(report):
    root = schema()
    assert list(undeclared(report, root, root)) == []


def test_a_new_field_without_a_schema_change_fails():
    root = schema()
    sneaky = {"config": {"target": "y", "seed": 0, "brand_new_setting": 1}}
    assert "$.config.brand_new_setting" in list(undeclared(sneaky, root, root))
    assert "$.brand_new_section" in list(undeclared({"brand_new_section": {}}, root, root))


def test_every_object_in_the_schema_is_closed():
    """additionalProperties false (or a schema for map-like objects), so validation catches new keys."""
    open_objects = [path for path, node in _object_schemas(schema())
                    if node.get("additionalProperties", True) is True]
    assert open_objects == []
