"""Structural OpenAPI v3 schemas for CRDs, generated from pydantic models.

Contract: ``crd_schema(Model)`` returns the ``openAPIV3Schema`` of a CRD version for any
``ApiModel`` kind: ``$ref``s inlined, ``Optional`` unions collapsed, every node typed,
``dict[str, Any]`` kept as ``x-kubernetes-preserve-unknown-fields``, ``int | str`` as
``x-kubernetes-int-or-string``, pydantic-only keywords (title, default,
``additionalProperties: false``) dropped, ``Field(description=...)`` and docstrings kept for
``kubectl explain``, and ``json_schema_extra`` (``x-kubernetes-validations``, list types,
``maxItems``) carried through. A top-level ``metadata`` becomes ``{type: object}`` because
the apiserver owns ObjectMeta. Unions other than those raise ``ValueError``.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

_DROPPED = frozenset({"title", "default", "$defs"})
_INT_OR_STRING = [{"type": "integer"}, {"type": "string"}]


def crd_schema(model: type[BaseModel]) -> dict[str, Any]:
    """The structural openAPIV3Schema of ``model`` (serialised by alias)."""
    raw = model.model_json_schema(by_alias=True, ref_template="{model}")
    schema = _convert(raw, raw.get("$defs", {}))
    props = schema.get("properties", {})
    if "metadata" in props:
        props["metadata"] = {"type": "object"}
    return schema


def _convert(node: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any]:
    """Convert one JSON-schema node (and its children) to its structural form."""
    node = _collapse(node, defs)
    out: dict[str, Any] = {}
    for key, val in node.items():
        if key in _DROPPED:
            continue
        if key == "properties":
            out[key] = {name: _convert(sub, defs) for name, sub in val.items()}
        elif key == "items":
            out[key] = _convert(val, defs)
        elif key == "additionalProperties":
            if val is True:
                out["x-kubernetes-preserve-unknown-fields"] = True
            elif isinstance(val, dict):
                out[key] = _convert(val, defs)
        else:
            out[key] = val
    if "type" not in out and not _untyped_allowed(out):
        out["type"] = "object"
    return out


def _collapse(node: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any]:
    """Inline a ``$ref`` and fold an ``Optional``/int-or-string union into its node."""
    rest = {k: v for k, v in node.items() if k not in ("$ref", "anyOf", "allOf")}
    if "$ref" in node:
        return {**_collapse(defs[node["$ref"]], defs), **rest}
    branches = node.get("anyOf") or node.get("allOf")
    if branches is None:
        return node
    kept = [b for b in branches if b.get("type") != "null"]
    if kept == _INT_OR_STRING:
        return {"x-kubernetes-int-or-string": True, **rest}
    if len(kept) != 1:
        raise ValueError(f"unsupported union in CRD schema: {branches}")
    return {**_collapse(kept[0], defs), **rest}


def _untyped_allowed(node: dict[str, Any]) -> bool:
    """Structural schemas allow a missing type only on these escape hatches."""
    return bool(
        node.get("x-kubernetes-int-or-string") or node.get("x-kubernetes-preserve-unknown-fields")
    )
