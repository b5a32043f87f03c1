"""Between a Workflow's engine decisions and its children (Tasks and Services).

Contract: ``child_object`` turns one ``NodeStart`` into the Task or Service to create,
named deterministically and controlled by the workflow. ``observe_children`` reads the
children back as the engine's ``NodeObservation``s, keyed by the ``xeem.io/node`` label,
plus the nodes that an earlier reconcile marked ``Error`` without creating a child: a
node started when its child was created (the child's creationTimestamp) and finished when
its child says so; its message is the child's, except while the child is progressing
normally (``PROGRESS_REASONS``). ``workflow_sees_change`` tells whether a child's update
changes any of that (the filter on the workflow's watches of its children).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from xeem.api.phases import NodePhase
from xeem.api.workflow import WorkflowStatus
from xeem.controllers.kinds import TASK, XSERVICE
from xeem.engine import NodeObservation, NodeStart
from xeem.engine.naming import LABEL_NODE
from xeem.runtime.resource import Obj, ResourceType, owner_reference
from xeem.status import PROGRESS_REASONS

_TASK_PHASES = {
    "Pending": NodePhase.RUNNING,
    "Running": NodePhase.RUNNING,
    "Succeeded": NodePhase.SUCCEEDED,
    "Failed": NodePhase.FAILED,
}
_SERVICE_PHASES = {
    "Progressing": NodePhase.RUNNING,
    "Ready": NodePhase.READY,
    "Failed": NodePhase.FAILED,
}


def child_object(workflow: Obj, start: NodeStart) -> tuple[ResourceType, Obj]:
    """The Task or Service for ``start``, owned (controller) by ``workflow``."""
    metadata = workflow["metadata"]
    spec: dict[str, Any] = {
        "inputs": [
            {"name": name, "value": value.model_dump(by_alias=True, exclude_none=True)}
            for name, value in start.inputs.items()
        ],
        "annotations": start.annotations,
    }
    if start.kind == "Task":
        resource, spec["job"] = TASK, start.job
    else:
        resource, spec["deployment"] = XSERVICE, start.deployment
        if start.service is not None:
            spec["service"] = start.service
    child = {
        "apiVersion": resource.api_version,
        "kind": resource.kind,
        "metadata": {
            "name": start.name,
            "namespace": metadata["namespace"],
            "labels": start.labels,
            "annotations": start.annotations,
            "ownerReferences": [owner_reference(workflow, controller=True)],
        },
        "spec": spec,
    }
    return resource, child


def _time(value: Any) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) and value else None


def _observation(child: Obj, phases: dict[str, NodePhase]) -> NodeObservation:
    status = child.get("status") or {}
    return NodeObservation(
        phase=phases.get(status.get("phase", ""), NodePhase.RUNNING),
        message="" if status.get("reason") in PROGRESS_REASONS else status.get("message", ""),
        started_at=_time(child["metadata"].get("creationTimestamp")),
        finished_at=_time(status.get("finishedAt")),
    )


def _view(child: Obj, phases: dict[str, NodePhase]) -> tuple[object, ...]:
    """Everything of a child that its workflow's reconcile reads."""
    metadata = child.get("metadata") or {}
    return (
        (metadata.get("labels") or {}).get(LABEL_NODE),
        metadata.get("ownerReferences"),
        metadata.get("deletionTimestamp"),
        _observation(child, phases),
    )


def workflow_sees_change(resource: ResourceType) -> Callable[[Obj, Obj], bool]:
    """For children of type ``resource`` (Task or Service): whether an update changes what
    their workflow observes: phase, message (not while progressing normally), finish time,
    node label, owners, deletion. Status churn such as pod counts does not wake it."""
    phases = _TASK_PHASES if resource == TASK else _SERVICE_PHASES

    def changed(old: Obj, new: Obj) -> bool:
        return _view(old, phases) != _view(new, phases)

    return changed


def observe_children(
    tasks: Iterable[Obj], services: Iterable[Obj], previous: WorkflowStatus | None
) -> dict[str, NodeObservation]:
    """The engine's view of a workflow's children and of its child-less Error nodes."""
    observed: dict[str, NodeObservation] = {}
    if previous is not None:
        for node in previous.nodes:
            if node.phase is NodePhase.ERROR and node.child_ref is None:
                observed[node.name] = NodeObservation(
                    phase=NodePhase.ERROR,
                    message=node.message,
                    started_at=node.started_at,
                    finished_at=node.finished_at,
                    child=False,
                )
    for children, phases in ((tasks, _TASK_PHASES), (services, _SERVICE_PHASES)):
        for child in children:
            node_name = (child["metadata"].get("labels") or {}).get(LABEL_NODE)
            if node_name:
                observed[node_name] = _observation(child, phases)
    return observed
