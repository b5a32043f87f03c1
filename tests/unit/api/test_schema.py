"""crd_schema: a structural schema with the CEL rules and explain texts the design asks for."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import cel
import pytest
from pydantic import BaseModel, Field

from xeem.api.base import ApiModel
from xeem.api.schema import crd_schema
from xeem.api.workflow import Workflow

pytestmark = pytest.mark.unit

FORBIDDEN = {"$ref", "$defs", "anyOf", "allOf", "oneOf", "not", "title", "default", "const"}


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    return crd_schema(Workflow)


def walk(node: dict[str, Any], path: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    yield path, node
    for name, sub in node.get("properties", {}).items():
        yield from walk(sub, f"{path}.{name}")
    if "items" in node:
        yield from walk(node["items"], f"{path}[]")
    if isinstance(node.get("additionalProperties"), dict):
        yield from walk(node["additionalProperties"], f"{path}{{}}")


def at(schema: dict[str, Any], path: str) -> dict[str, Any]:
    """The node at a kubectl-explain style path (lists are stepped through)."""
    node = schema
    for part in path.split("."):
        while node.get("type") == "array":
            node = node["items"]
        node = node["properties"][part]
    while node.get("type") == "array":
        node = node["items"]
    return node


def test_schema_is_structural(schema: dict[str, Any]) -> None:
    for path, node in walk(schema):
        assert not FORBIDDEN & node.keys(), path
        assert node.get("additionalProperties") is not False, path
        assert not ("properties" in node and "additionalProperties" in node), path
        escape = node.get("x-kubernetes-preserve-unknown-fields") or node.get(
            "x-kubernetes-int-or-string"
        )
        assert "type" in node or escape, path
        if node.get("x-kubernetes-list-type") == "map":
            for key in node["x-kubernetes-list-map-keys"]:
                assert key in node["items"]["required"], path
    assert schema["properties"]["metadata"] == {"type": "object"}


def test_kubectl_explain_of_input_value(schema: dict[str, Any]) -> None:
    value = at(schema, "spec.nodes.inputs.value")
    assert value["description"] == "A static value."
    props = value["properties"]
    assert list(props) == ["string", "integer", "bool", "xMount"]
    assert [props[k]["type"] for k in ("string", "integer", "bool", "xMount")] == [
        "string",
        "integer",
        "boolean",
        "object",
    ]
    assert all(props[k]["description"] for k in props)
    assert set(props["xMount"]["properties"]) == {
        "serverAddr",
        "mountID",
        "mountPath",
        "readOnly",
        "subPath",
    }


def test_embedded_kubernetes_specs_are_preserved(schema: dict[str, Any]) -> None:
    wt = at(schema, "spec.nodes.workloadTemplate")
    for kind in ("job", "deployment"):
        assert wt["properties"][kind]["x-kubernetes-preserve-unknown-fields"] is True
        assert wt["properties"][kind]["type"] == "object"
    assert at(schema, "spec.nodes.workloadTemplate.service.ports")[
        "x-kubernetes-preserve-unknown-fields"
    ]


def test_list_types(schema: dict[str, Any]) -> None:
    for path in ("spec.nodes", "spec.inputs", "spec.xvmgTemplates", "status.nodes"):
        node = schema
        for part in path.split("."):
            node = node["properties"][part]
        assert node["x-kubernetes-list-type"] == "map", path
        assert node["x-kubernetes-list-map-keys"] == ["name"], path
    assert schema["properties"]["spec"]["properties"]["nodes"]["maxItems"] == 5000
    assert at(schema, "spec.nodes")["properties"]["inputs"]["x-kubernetes-list-type"] == "map"
    assert at(schema, "spec.nodes")["properties"]["depends"]["x-kubernetes-list-type"] == "set"


def test_name_formats(schema: dict[str, Any]) -> None:
    name = at(schema, "spec.nodes.name")
    assert name["pattern"] == "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
    assert name["maxLength"] == 63
    assert at(schema, "spec.xvmgTemplates.name")["pattern"] == name["pattern"]
    assert at(schema, "spec.nodes.inputs.name")["pattern"]


def rules(node: dict[str, Any]) -> list[str]:
    return [r["rule"] for r in node["x-kubernetes-validations"]]


def holds(rule: str, obj: dict[str, Any]) -> bool:
    result = cel.compile(rule).execute({"self": obj})
    assert isinstance(result, bool)
    return result


@pytest.mark.parametrize(
    ("path", "obj", "ok"),
    [
        ("spec.nodes.inputs.value", {"string": "a"}, True),
        ("spec.nodes.inputs.value", {"xMount": {}}, True),
        ("spec.nodes.inputs.value", {"string": "a", "integer": 1}, False),
        ("spec.nodes.inputs.value", {}, False),
        ("spec.nodes.inputs", {"name": "a", "value": {}}, True),
        ("spec.nodes.inputs", {"name": "a", "valueFrom": {}}, True),
        ("spec.nodes.inputs", {"name": "a", "value": {}, "valueFrom": {}}, False),
        ("spec.nodes.inputs", {"name": "a"}, False),
        ("spec.nodes.workloadTemplate", {"job": {}}, True),
        ("spec.nodes.workloadTemplate", {"deployment": {}, "service": {}}, True),
        ("spec.nodes.workloadTemplate", {"job": {}, "deployment": {}}, False),
        ("spec.nodes.workloadTemplate", {}, False),
        ("spec.nodes.workloadTemplate", {"job": {}, "service": {}}, False),
        ("spec.xvmgTemplates", {"minSize": 2, "maxSize": 2}, True),
        ("spec.xvmgTemplates", {"minSize": 2, "maxSize": 3}, False),
    ],
)
def test_cel_rules(schema: dict[str, Any], path: str, obj: dict[str, Any], ok: bool) -> None:
    node = at(schema, path)
    assert node["x-kubernetes-validations"]
    assert all(r["message"] for r in node["x-kubernetes-validations"])
    assert all(holds(rule, obj) for rule in rules(node)) is ok


class _Leaf(ApiModel):
    """A leaf."""

    port: int | str = Field(description="A port.")
    extra: dict[str, Any] = Field(default_factory=dict)


class _Root(ApiModel):
    leaf: _Leaf | None = None
    leaves: list[_Leaf] = Field(default_factory=list)
    tags: dict[str, int] = Field(default_factory=dict)


def test_generic_models() -> None:
    out = crd_schema(_Root)
    leaf = out["properties"]["leaf"]
    assert leaf["description"] == "A leaf."
    assert leaf["properties"]["port"] == {
        "description": "A port.",
        "x-kubernetes-int-or-string": True,
    }
    assert leaf["properties"]["extra"] == {
        "type": "object",
        "x-kubernetes-preserve-unknown-fields": True,
    }
    assert out["properties"]["leaves"]["items"] == leaf
    assert out["properties"]["tags"] == {
        "type": "object",
        "additionalProperties": {"type": "integer"},
    }


class _A(BaseModel):
    a: int


class _B(BaseModel):
    b: int


class _Union(BaseModel):
    either: _A | _B


def test_unsupported_unions_raise() -> None:
    with pytest.raises(ValueError, match="unsupported union"):
        crd_schema(_Union)
