"""Validation problems.

Contract: a ``Problem`` names where (a dotted path whose named-list items are written
``[name]``, e.g. ``spec.nodes[train].inputs[dataset].valueFrom.inputRef``) and what, in
plain words. ``str(problem)`` is ``"<path>: <message>"``.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Problem:
    """One reason a workflow spec cannot run."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"
