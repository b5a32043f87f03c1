"""Recent Warning events as an explanation of what blocks a workload.

Contract: events are core/v1 Event or events.k8s.io/v1 Event JSON dicts, about the
workload, its ReplicaSets and its pods, already selected by the caller. The result does not
depend on the order of the input lists.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from xeem.status.finding import Finding, describe, latest
from xeem.status.objects import Obj, count, field, mapping, name, text, timestamp
from xeem.status.pods import is_live

TIME_FIELDS = (
    ("series", "lastObservedTime"),
    ("lastTimestamp",),
    ("deprecatedLastTimestamp",),
    ("eventTime",),
    ("firstTimestamp",),
    ("metadata", "creationTimestamp"),
)
"""Where an event's last occurrence is recorded, most precise first, across both APIs."""


def last_seen(event: Obj) -> datetime | None:
    """When the event last occurred."""
    stamps = (timestamp(field(event, *path)) for path in TIME_FIELDS)
    return next((t for t in stamps if t is not None), None)


def occurrences(event: Obj) -> int:
    """How many times the event occurred (at least 1)."""
    return max(
        count(event, "series", "count"), count(event, "count"), count(event, "deprecatedCount"), 1
    )


def _about(event: Obj) -> Obj | None:
    """The object the event is about: ``involvedObject`` (core/v1) or ``regarding``."""
    return mapping(event, "involvedObject") or mapping(event, "regarding")


def _is_current(event: Obj, pods: dict[str, Obj], since: datetime | None) -> bool:
    """Whether a Warning event still explains something now.

    An event about a pod counts only while that pod is live (listed, not terminating, not
    finished), and FailedScheduling only while the pod has no node.
    """
    if text(event, "type") != "Warning":
        return False
    if since is not None and (last_seen(event) or since) < since:
        return False
    about = _about(event)
    if text(about, "kind") != "Pod":
        return True
    pod = pods.get(text(about, "name"))
    if pod is None or not is_live(pod):
        return False
    return text(event, "reason") != "FailedScheduling" or not text(pod, "spec", "nodeName")


def _finding(event: Obj) -> Finding:
    about = _about(event)
    reason = text(event, "reason") or "Warning"
    times = occurrences(event)
    message = describe(
        f"{text(about, 'kind').lower()} {text(about, 'name')}",
        reason,
        text(event, "message") or text(event, "note"),
    )
    return Finding(
        reason=reason,
        message=message + (f" (x{times})" if times > 1 else ""),
        at=last_seen(event),
    )


def event_blocker(
    events: Sequence[Obj], pods: Sequence[Obj], since: datetime | None = None
) -> Finding | None:
    """The most recent current Warning event (see :func:`_is_current`) seen at or after
    ``since`` (None: any time), e.g. FailedScheduling on a pod or FailedCreate on a ReplicaSet.
    """
    by_name = {name(pod): pod for pod in pods}
    return latest([_finding(e) for e in events if _is_current(e, by_name, since)])
