"""Stamping freshly computed conditions for writing to a status subresource."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from xeem.api.base import Condition, ConditionStatus


def condition(type_: str, status: ConditionStatus, reason: str, message: str) -> Condition:
    """A condition without times; :func:`stamp_conditions` adds them."""
    return Condition(type=type_, status=status, reason=reason, message=message)


def true_if(value: bool) -> ConditionStatus:
    """``True`` or ``False`` as a condition status."""
    return ConditionStatus.TRUE if value else ConditionStatus.FALSE


def stamp_conditions(
    current: Sequence[Condition],
    previous: Sequence[Condition],
    *,
    now: datetime,
    generation: int | None,
) -> list[Condition]:
    """``current`` with ``lastTransitionTime`` kept from ``previous`` when a condition of
    the same type had the same status, else ``now``; ``observedGeneration`` is
    ``generation``. Conditions only in ``previous`` are dropped.
    """
    before = {c.type: c for c in previous}
    stamped = []
    for cond in current:
        old = before.get(cond.type)
        unchanged = old is not None and old.status == cond.status
        since = old.last_transition_time if old is not None and unchanged else None
        stamped.append(
            cond.model_copy(
                update={"last_transition_time": since or now, "observed_generation": generation}
            )
        )
    return stamped
