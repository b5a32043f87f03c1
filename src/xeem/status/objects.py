"""Read access to Kubernetes API objects given as plain JSON dicts (camelCase, as served).

Contract: every helper tolerates missing or null fields and never raises on a well-formed
API object; absent values come back as ``None``, ``0``, ``""`` or an empty list.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

Obj = Mapping[str, Any]
"""A Kubernetes API object or sub-object as decoded JSON."""

MESSAGE_LIMIT = 300
"""Longest piece of foreign text (termination or event message) kept in a status message."""


def field(obj: Obj | None, *path: str) -> Any:
    """The value at ``path`` inside ``obj``, or None when any step is missing or null."""
    value: Any = obj
    for key in path:
        if not isinstance(value, Mapping):
            return None
        value = value.get(key)
    return value


def mapping(obj: Obj | None, *path: str) -> Obj | None:
    """The object at ``path``, or None when it is missing or not an object."""
    value = field(obj, *path)
    return value if isinstance(value, Mapping) else None


def items(obj: Obj | None, *path: str) -> list[Obj]:
    """The list of objects at ``path``, or an empty list."""
    value = field(obj, *path)
    return [item for item in value if isinstance(item, Mapping)] if isinstance(value, list) else []


def count(obj: Obj | None, *path: str) -> int:
    """The integer at ``path``, or 0."""
    value = field(obj, *path)
    return value if isinstance(value, int) else 0


def text(obj: Obj | None, *path: str) -> str:
    """The string at ``path``, or ""."""
    value = field(obj, *path)
    return value if isinstance(value, str) else ""


def name(obj: Obj | None) -> str:
    """``metadata.name`` of an object."""
    return text(obj, "metadata", "name")


def condition(obj: Obj | None, type_: str) -> Obj | None:
    """The ``status.conditions`` entry of the given type, or None."""
    return next((c for c in items(obj, "status", "conditions") if c.get("type") == type_), None)


def has_condition(obj: Obj | None, type_: str, status: str = "True") -> bool:
    """Whether ``obj`` has a condition of the given type with the given status."""
    return text(condition(obj, type_), "status") == status


def timestamp(value: object) -> datetime | None:
    """A Kubernetes Time or MicroTime string (RFC 3339) as an aware datetime, else None."""
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


def shorten(message: str, limit: int = MESSAGE_LIMIT) -> str:
    """``message`` on one line with runs of whitespace collapsed, cut to ``limit`` characters."""
    flat = " ".join(message.split())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."
