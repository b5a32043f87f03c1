"""What the Task and Service reconcilers share: a workload (Job or Deployment) reconciler.

Contract: ``WorkloadReconciler`` holds the client, the event recorder, the shared pod and
Warning-event informers the status logic reads, the xMount renderer for Tasks and Services
applied by hand, and the optional metrics; ``from_manager`` builds it from a manager's
shared informers (the Warning-event informer is created filtered if it does not exist yet).
"""

from __future__ import annotations

from typing import Self

from xeem.controllers.children import warning_event_informer
from xeem.controllers.metrics import XeemMetrics
from xeem.engine import NfsXMount, XMountRenderer
from xeem.runtime.client import Client
from xeem.runtime.events import EventRecorder
from xeem.runtime.informer import Informer
from xeem.runtime.manager import Manager
from xeem.runtime.resource import POD


class WorkloadReconciler:
    """Base of the Task and Service reconcilers: their collaborators, nothing else."""

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
