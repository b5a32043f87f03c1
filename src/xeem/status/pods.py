"""Pod inspection shared by Tasks and Services: failed containers and what blocks a pod.

Contract: pure functions of pods given as core/v1 Pod JSON dicts; results do not depend on
the order of the input list.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from xeem.status.finding import Finding, describe, latest
from xeem.status.objects import (
    Obj,
    condition,
    count,
    field,
    items,
    mapping,
    name,
    text,
    timestamp,
)

BLOCKING_WAITING_REASONS = frozenset(
    {
        "ImagePullBackOff",
        "ErrImagePull",
        "InvalidImageName",
        "CrashLoopBackOff",
        "CreateContainerConfigError",
        "CreateContainerError",
        "RunContainerError",
    }
)
"""Container waiting reasons that keep a pod from running until something changes."""

TERMINAL_POD_PHASES = frozenset({"Succeeded", "Failed"})


def container_statuses(pod: Obj) -> Sequence[Obj]:
    """Init container statuses followed by app container statuses."""
    return items(pod, "status", "initContainerStatuses") + items(pod, "status", "containerStatuses")


def is_live(pod: Obj) -> bool:
    """Whether the pod is neither being deleted nor finished."""
    return field(pod, "metadata", "deletionTimestamp") is None and (
        text(pod, "status", "phase") not in TERMINAL_POD_PHASES
    )


def has_started(pod: Obj) -> bool:
    """Whether the pod got past Pending: it runs or ran to an end."""
    return text(pod, "status", "phase") in {"Running", *TERMINAL_POD_PHASES}


def _exit(terminated: Obj) -> str:
    """``Reason (exit code N)`` of a ContainerStateTerminated."""
    return f"{text(terminated, 'reason') or 'Error'} (exit code {count(terminated, 'exitCode')})"


def _failed_termination(status: Obj) -> Obj | None:
    """The current, else the previous, termination of a container if it exited non-zero."""
    for state in ("state", "lastState"):
        terminated = mapping(status, state, "terminated")
        if terminated is not None and count(terminated, "exitCode") != 0:
            return terminated
    return None


def _pod_failures(pod: Obj) -> list[Finding]:
    """Every non-zero container exit of the pod, or the pod's own failure if it has none."""
    failures = []
    for status in container_statuses(pod):
        terminated = _failed_termination(status)
        if terminated is not None:
            subject = f"pod {name(pod)} container {text(status, 'name')}"
            failures.append(
                Finding(
                    reason=text(terminated, "reason") or "Error",
                    message=describe(subject, _exit(terminated), text(terminated, "message")),
                    exit_code=count(terminated, "exitCode"),
                    at=timestamp(field(terminated, "finishedAt")),
                )
            )
    if failures or text(pod, "status", "phase") != "Failed":
        return failures
    reason = text(pod, "status", "reason") or "Failed"
    return [
        Finding(
            reason=reason,
            message=describe(f"pod {name(pod)}", reason, text(pod, "status", "message")),
            at=_last_transition(pod),
        )
    ]


def _last_transition(pod: Obj) -> datetime | None:
    """The latest lastTransitionTime among the pod's conditions."""
    times = [timestamp(c.get("lastTransitionTime")) for c in items(pod, "status", "conditions")]
    return max((t for t in times if t is not None), default=None)


def last_failure(pods: Sequence[Obj]) -> Finding | None:
    """The most recent failure among the pods: a container that exited non-zero (now or
    before its last restart), or a failed pod without one (e.g. Evicted). Carries the exit
    code, the termination reason (OOMKilled, Error, ...) and the termination message.
    """
    return latest([failure for pod in pods for failure in _pod_failures(pod)])


def _pod_blocker(pod: Obj) -> Finding | None:
    """Why this pod cannot run: a blocking container waiting reason, else Unschedulable."""
    for status in container_statuses(pod):
        reason = text(status, "state", "waiting", "reason")
        if reason in BLOCKING_WAITING_REASONS:
            subject = f"pod {name(pod)} container {text(status, 'name')}"
            message = describe(subject, reason, text(status, "state", "waiting", "message"))
            last = mapping(status, "lastState", "terminated")
            if last is not None:
                message += "; " + describe("last terminated", _exit(last), text(last, "message"))
            return Finding(reason=reason, message=message)
    scheduled = condition(pod, "PodScheduled")
    if text(scheduled, "status") == "False" and text(scheduled, "reason") == "Unschedulable":
        detail = text(scheduled, "message")
        return Finding("FailedScheduling", describe(f"pod {name(pod)}", "FailedScheduling", detail))
    return None


def pod_blocker(pods: Sequence[Obj]) -> Finding | None:
    """What keeps a live pod from running: container waiting reasons (ImagePullBackOff,
    CrashLoopBackOff, ...) or PodScheduled=False/Unschedulable (reported as FailedScheduling).
    Terminating and finished pods are ignored; the first blocked pod by name wins.
    """
    live = (p for p in sorted(pods, key=name) if is_live(p))
    return next((b for b in map(_pod_blocker, live) if b is not None), None)
