"""xeem's reconcilers: Workflow, Task and Service, registered on a runtime ``Manager``.

Contract: ``setup_controllers(manager, options)`` adds every controller and the informers
they share; the manager's ``start()`` then runs them. Reconcilers turn engine decisions
into API calls; they hold no state that is not also in the objects.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from xeem.controllers.metrics import XeemMetrics
from xeem.controllers.workflow import setup_workflow_controller
from xeem.engine import NfsXMount, XMountRenderer
from xeem.runtime.manager import Manager


@dataclass(frozen=True)
class ControllerOptions:
    """How the controllers run: workers per controller, and how xMounts become volumes."""

    workers: int = 8
    xmount: XMountRenderer = field(default_factory=NfsXMount)


def setup_controllers(manager: Manager, options: ControllerOptions) -> XeemMetrics:
    """Register the Workflow, Task and Service controllers; returns xeem's metrics."""
    metrics = XeemMetrics(manager.metrics.registry)
    setup_workflow_controller(manager, metrics, options.xmount, options.workers)
    return metrics
