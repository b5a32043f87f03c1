"""Builders of Kubernetes API JSON (camelCase, as the API server serves it) for status tests.

Times are minutes after ``T0``; every builder returns a fresh dict.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

Obj = dict[str, Any]

T0 = datetime(2024, 5, 1, 10, 0, tzinfo=UTC)


def at(minute: float) -> datetime:
    """``T0`` plus ``minute`` minutes."""
    return T0 + timedelta(minutes=minute)


def ts(minute: float) -> str:
    """An RFC 3339 API timestamp ``minute`` minutes after ``T0``."""
    return at(minute).isoformat().replace("+00:00", "Z")


def cond(
    type_: str, status: str = "True", reason: str = "", message: str = "", minute: float = 0
) -> Obj:
    """A condition entry as found in status.conditions of Jobs, Deployments and Pods."""
    return {
        "type": type_,
        "status": status,
        "reason": reason,
        "message": message,
        "lastTransitionTime": ts(minute),
    }


def terminated(exit_code: int, reason: str = "Error", message: str = "", minute: float = 0) -> Obj:
    """A ContainerState with ``terminated`` set."""
    state: Obj = {
        "exitCode": exit_code,
        "reason": reason,
        "startedAt": ts(minute - 1),
        "finishedAt": ts(minute),
    }
    if message:
        state["message"] = message
    return {"terminated": state}


def waiting(reason: str, message: str = "") -> Obj:
    """A ContainerState with ``waiting`` set."""
    return {"waiting": {"reason": reason, "message": message}}


def running(minute: float = 0) -> Obj:
    """A ContainerState with ``running`` set."""
    return {"running": {"startedAt": ts(minute)}}


def container(name: str = "main", state: Obj | None = None, last: Obj | None = None) -> Obj:
    """A ContainerStatus."""
    status: Obj = {"name": name, "image": "busybox", "ready": False, "restartCount": 0}
    status["state"] = state if state is not None else waiting("ContainerCreating")
    if last is not None:
        status["lastState"] = last
        status["restartCount"] = 1
    return status


def pod(
    name: str,
    phase: str = "Pending",
    containers: list[Obj] | None = None,
    init: list[Obj] | None = None,
    conditions: list[Obj] | None = None,
    node: str | None = None,
    deleting: bool = False,
    reason: str = "",
    message: str = "",
) -> Obj:
    """A core/v1 Pod with the given status."""
    metadata: Obj = {"name": name, "namespace": "default", "uid": f"uid-{name}"}
    if deleting:
        metadata["deletionTimestamp"] = ts(30)
    status: Obj = {"phase": phase, "conditions": conditions or []}
    if containers is not None:
        status["containerStatuses"] = containers
    if init is not None:
        status["initContainerStatuses"] = init
    if reason:
        status["reason"] = reason
        status["message"] = message
    spec: Obj = {"containers": [{"name": "main", "image": "busybox"}]}
    if node is not None:
        spec["nodeName"] = node
    return {"apiVersion": "v1", "kind": "Pod", "metadata": metadata, "spec": spec, "status": status}


def unschedulable(message: str) -> Obj:
    """The PodScheduled condition the scheduler sets on a pod it cannot place."""
    return cond("PodScheduled", "False", "Unschedulable", message)


def job(
    *,
    name: str = "train",
    conditions: list[Obj] | None = None,
    completions: int | None = None,
    completion_minute: float | None = None,
    **counts: int,
) -> Obj:
    """A batch/v1 Job; ``counts`` are status fields such as active, ready, succeeded, failed."""
    spec: Obj = {"backoffLimit": 2, "template": {"spec": {"containers": []}}}
    if completions is not None:
        spec["completions"] = completions
    status: Obj = {"startTime": ts(0), **counts}
    if conditions:
        status["conditions"] = conditions
    if completion_minute is not None:
        status["completionTime"] = ts(completion_minute)
    metadata = {"name": name, "namespace": "default", "generation": 1, "creationTimestamp": ts(0)}
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": metadata,
        "spec": spec,
        "status": status,
    }


def deployment(
    *,
    name: str = "web",
    desired: int | None = 2,
    generation: int = 1,
    observed: int = 1,
    conditions: list[Obj] | None = None,
    counts: dict[str, int] | None = None,
) -> Obj:
    """An apps/v1 Deployment of ``desired`` replicas (None: unset); ``counts`` are status
    fields such as updatedReplicas."""
    spec: Obj = {"template": {"spec": {"containers": []}}}
    if desired is not None:
        spec["replicas"] = desired
    status: Obj = {"observedGeneration": observed, "conditions": conditions or [], **(counts or {})}
    metadata = {"name": name, "namespace": "default", "generation": generation}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": metadata,
        "spec": spec,
        "status": status,
    }


def rolled_out(replicas: int) -> Obj:
    """Deployment status counts of a finished rollout of ``replicas`` pods."""
    return {
        "replicas": replicas,
        "updatedReplicas": replicas,
        "readyReplicas": replicas,
        "availableReplicas": replicas,
    }


def core_event(
    reason: str,
    message: str,
    kind: str = "Pod",
    name: str = "web-1",
    type_: str = "Warning",
    minute: float = 0,
    count: int = 1,
) -> Obj:
    """A core/v1 Event as kubectl get events shows it."""
    return {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {
            "name": f"{name}.{reason}",
            "namespace": "default",
            "creationTimestamp": ts(minute),
        },
        "involvedObject": {"kind": kind, "name": name, "namespace": "default"},
        "type": type_,
        "reason": reason,
        "message": message,
        "count": count,
        "firstTimestamp": ts(minute - 1),
        "lastTimestamp": ts(minute),
    }


def new_event(
    reason: str,
    note: str,
    kind: str = "ReplicaSet",
    name: str = "web-5d8f",
    minute: float = 0,
    count: int | None = None,
) -> Obj:
    """An events.k8s.io/v1 Warning Event, with a series when it repeated."""
    event: Obj = {
        "apiVersion": "events.k8s.io/v1",
        "kind": "Event",
        "metadata": {
            "name": f"{name}.{reason}",
            "namespace": "default",
            "creationTimestamp": ts(-5),
        },
        "regarding": {"kind": kind, "name": name, "namespace": "default"},
        "type": "Warning",
        "reason": reason,
        "note": note,
        "eventTime": "2024-05-01T09:55:00.123456Z",
        "reportingController": "replicaset-controller",
    }
    if count is not None:
        event["series"] = {"count": count, "lastObservedTime": ts(minute)}
    return event
