"""xeem's reconcilers: Workflow, Task and Service, registered on a runtime ``Manager``.

Contract: ``setup_controllers(manager, options)`` adds every controller and the informers
they share; the manager's ``start()`` then runs them. Reconcilers turn engine decisions
into API calls; they hold no state that is not also in the objects.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from xeem.controllers.machines import MachineControllerOptions, setup_machine_controllers
from xeem.controllers.metrics import XeemMetrics
from xeem.controllers.service import setup_service_controller
from xeem.controllers.task import setup_task_controller
from xeem.controllers.workflow import setup_workflow_controller
from xeem.engine import NfsXMount, XMountRenderer
from xeem.runtime.manager import Manager


@dataclass(frozen=True)
class ControllerOptions:
    """How the controllers run: workers per controller, how xMounts become volumes, and
    which machine providers are enabled."""

    workers: int = 8
    xmount: XMountRenderer = field(default_factory=NfsXMount)
    machines: MachineControllerOptions = field(default_factory=MachineControllerOptions)


def setup_controllers(manager: Manager, options: ControllerOptions) -> XeemMetrics:
    """Register the Workflow, Task, Service and machine controllers; returns xeem's metrics."""
    metrics = XeemMetrics(manager.metrics.registry)
    setup_workflow_controller(manager, metrics, options.xmount, options.workers)
    for setup in (setup_task_controller, setup_service_controller):
        setup(manager, xmount=options.xmount, workers=options.workers, metrics=metrics)
    setup_machine_controllers(manager, options.machines)
    return metrics
