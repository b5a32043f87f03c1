"""kubectl-based helpers for tests that must run unchanged on any cluster (kind included)."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

import yaml

Kubectl = Callable[..., Awaitable[tuple[int, str, str]]]
"""``await kubectl(*args, input=None) -> (exit code, stdout, stderr)``."""


async def apply(kubectl: Kubectl, namespace: str, *objects: dict[str, Any]) -> None:
    """``kubectl apply`` the objects into ``namespace``; fails the test on error."""
    code, _, err = await kubectl(
        "apply", "-n", namespace, "-f", "-", input=yaml.safe_dump_all(objects)
    )
    assert code == 0, err


async def get_json(kubectl: Kubectl, namespace: str, *what: str) -> Any:
    """``kubectl get -o json`` in ``namespace``; fails the test on error."""
    code, out, err = await kubectl("get", "-n", namespace, *what, "-o", "json")
    assert code == 0, err
    return json.loads(out)
