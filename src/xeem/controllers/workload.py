"""What the Task and Service reconcilers share: a workload (Job or Deployment) reconciler.

Contract: ``WorkloadReconciler`` holds the client, the event recorder, the shared pod and
Warning-event informers the status logic reads, the xMount renderer for Tasks and Services
applied by hand, and the optional metrics; ``from_manager`` builds it from a manager's
shared informers (the Warning-event informer is created filtered if it does not exist yet).
It reads the object to reconcile over the statuses it wrote itself (``WrittenStatus``),
finds the Warning events about a workload and its pods and tells the status transitions
users care about as events. :func:`owner_of_event` maps a Warning event about
a workload or one of its pods to the Task or Service to wake.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol, Self

from pydantic import BaseModel

from xeem.controllers.children import (
    OWNED_BY_OTHER,
    about_key,
    event_subject,
    get_or_none,
    is_deleting,
    replica_set_deployment,
    warning_event_informer,
    warning_events_about,
    write_status,
)
from xeem.controllers.metrics import XeemMetrics
from xeem.controllers.written_status import WrittenStatus
from xeem.engine import NfsXMount, XMountRenderer
from xeem.runtime.client import Client
from xeem.runtime.events import NORMAL, WARNING, EventRecorder
from xeem.runtime.handler import EnqueueRequestForOwner
from xeem.runtime.informer import Informer
from xeem.runtime.manager import Manager
from xeem.runtime.reconcile import Request
from xeem.runtime.resource import POD, Obj, ResourceType, name_of


class WorkloadStatus(Protocol):
    """What :meth:`WorkloadReconciler._announce` reads of a Task's or Service's status."""

    @property
    def phase(self) -> object: ...

    @property
    def reason(self) -> str: ...

    @property
    def message(self) -> str: ...


class WorkloadReconciler:
    """Base of the Task and Service reconcilers: their collaborators, the Warning events about
    a workload, and the transition events."""

    def __init__(
        self,
        client: Client,
        recorder: EventRecorder,
        *,
        pods: Informer,
        events: Informer,
        xmount: XMountRenderer | None = None,
        metrics: XeemMetrics | None = None,
    ) -> None:
        self.client = client
        self.recorder = recorder
        self.metrics = metrics
        self.pods = pods
        self.events = events
        self.xmount: XMountRenderer = xmount or NfsXMount()
        self.written = WrittenStatus()

    async def _current(self, rt: ResourceType, request: Request) -> Obj | None:
        """The object to reconcile, with the status this process last wrote when the cache
        does not show it yet; None when it is gone or being deleted."""
        obj = await get_or_none(self.client, rt, request.name, request.namespace)
        if obj is None:
            self.written.forget(request.key)
            return None
        return None if is_deleting(obj) else self.written.overlay(obj)

    async def _write_status(
        self, rt: ResourceType, obj: Obj, status: BaseModel, previous: BaseModel | None
    ) -> bool:
        """Write ``status`` unless it equals ``previous``; True if written."""
        return await write_status(self.client, rt, obj, status, previous, self.written)

    @classmethod
    def from_manager(
        cls,
        manager: Manager,
        *,
        xmount: XMountRenderer | None,
        recorder: EventRecorder | None,
        metrics: XeemMetrics | None,
    ) -> Self:
        return cls(
            manager.client,
            recorder or manager.event_recorder("xeem"),
            pods=manager.informer(POD),
            events=warning_event_informer(manager),
            xmount=xmount,
            metrics=metrics,
        )

    def _warnings_about(
        self, namespace: str, kind: str, name: str, pods: Sequence[Obj]
    ) -> list[Obj]:
        """The cached Warning events about the workload ``kind``/``name`` and ``pods``."""
        keys = [about_key(namespace, kind, name)]
        keys += [about_key(namespace, "Pod", name_of(pod)) for pod in pods]
        return warning_events_about(self.events, keys)

    def _announce(
        self,
        owner: Obj,
        previous: WorkloadStatus | None,
        status: WorkloadStatus,
        *,
        failed: object,
        ready: object | None = None,
    ) -> None:
        """Events on ``owner`` for the transitions users care about; nothing while phase and
        reason stay the same. Entering phase ``failed``: Warning ``Failed`` with the message
        (prefixed by the reason unless it starts with it); entering phase ``ready`` (when
        given): Normal ``Ready``; reason ``OwnedByOther``: a Warning of that reason.
        """
        if previous is not None and (previous.phase, previous.reason) == (
            status.phase,
            status.reason,
        ):
            return
        if status.phase is failed:
            message = status.message
            if not message.startswith(status.reason):
                message = f"{status.reason}: {message}"
            self.recorder.event(owner, WARNING, "Failed", message)
        elif ready is not None and status.phase is ready:
            self.recorder.event(owner, NORMAL, "Ready", status.message)
        elif status.reason == OWNED_BY_OTHER:
            self.recorder.event(owner, WARNING, OWNED_BY_OTHER, status.message)


def owner_of_event(
    event: Obj,
    owner: ResourceType,
    workloads: Informer,
    pods: Informer,
    owner_of_pod: Callable[[Obj], list[Request]],
) -> list[Request]:
    """The ``owner`` objects a Warning event concerns: for an event about a cached workload
    of the kind ``workloads`` holds (an event about a ReplicaSet counts as one about its
    Deployment), the workload's ``owner`` controller; for one about a cached pod,
    ``owner_of_pod(pod)``; else none.
    """
    subject = event_subject(event)
    if subject is None:
        return []
    namespace, kind, name = subject
    if kind == "ReplicaSet":
        kind, name = "Deployment", replica_set_deployment(name) or ""
    if kind == workloads.resource.kind:
        workload = workloads.get(name, namespace)
        return list(EnqueueRequestForOwner(owner).create(workload)) if workload is not None else []
    if kind == "Pod":
        pod = pods.get(name, namespace)
        return owner_of_pod(pod) if pod is not None else []
    return []
