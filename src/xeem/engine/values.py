"""Views of a typed input value for the places that consume it.

Contract: ``env_text`` is what ``XEEM_INPUT_<NAME>`` carries (``None`` for an xMount, which
is a volume, not an env var); ``substitution_text`` is what ``$(inputs.<name>)`` expands to
(an xMount's mountPath); ``cel_value`` is the value the exit expression sees (an xMount as
a map with its wire field names). Bools are written ``true``/``false``.
"""

from __future__ import annotations

from typing import Any

from xeem.api.inputs import InputValue


def env_text(value: InputValue) -> str | None:
    """The env-var text of a scalar, ``None`` for an xMount."""
    if value.string is not None:
        return value.string
    if value.integer is not None:
        return str(value.integer)
    if value.bool is not None:
        return "true" if value.bool else "false"
    return None


def substitution_text(value: InputValue) -> str:
    """What ``$(inputs.<name>)`` expands to."""
    if value.x_mount is not None:
        return value.x_mount.mount_path
    return env_text(value) or ""


def cel_value(value: InputValue) -> Any:
    """The value seen by CEL: str, int, bool, or the xMount as a map."""
    if value.x_mount is not None:
        return value.x_mount.model_dump(by_alias=True, exclude_none=True)
    if value.string is not None:
        return value.string
    if value.integer is not None:
        return value.integer
    return value.bool
