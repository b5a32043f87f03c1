"""What the status logic found wrong with a workload, as a reason plus a human message."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from xeem.status.objects import shorten

NEVER = datetime.min.replace(tzinfo=UTC)
"""Sort key for findings without a time: older than anything observed."""


@dataclass(frozen=True)
class Finding:
    """One explanation: ``reason`` is CamelCase, ``message`` names the object it is about.

    ``exit_code`` is set for container terminations; ``at`` is when it happened, if known.
    """

    reason: str
    message: str
    exit_code: int | None = None
    at: datetime | None = None


def describe(subject: str, reason: str, detail: str = "") -> str:
    """``subject: reason: detail`` with the detail shortened and empty parts left out."""
    return ": ".join(part for part in (subject, reason, shorten(detail)) if part)


def latest(findings: list[Finding]) -> Finding | None:
    """The most recent finding; ties go to the greatest message, so the pick is deterministic."""
    return max(findings, key=lambda f: (f.at or NEVER, f.message), default=None)
