"""The Workflow reconciler: the engine's step turned into API calls.

Contract (level-triggered, restart-safe):
- the spec is compiled once per (uid, generation); an invalid spec gets ``Valid=False``,
  phase ``Error`` and a message naming every node and field, and is not retried;
- children are observed from the shared Task/Service caches (by controller owner UID),
  never polled: a child's change wakes its workflow through owner mapping;
- each node the step starts gets a child named ``<workflow>-<node>``, created or adopted;
  a child that cannot be created marks its node ``Error`` with the API's message;
- status is written only when it changed; events mark node and workflow transitions.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import structlog
from pydantic import ValidationError

from xeem.api.phases import NodePhase
from xeem.api.workflow import NodeStatus, Workflow, WorkflowStatus
from xeem.controllers.children import ChildConflict, create_or_adopt, write_status
from xeem.controllers.kinds import TASK, VIRTUAL_MACHINE_GROUP, WORKFLOW, XSERVICE
from xeem.controllers.metrics import DEPENDENCIES_SATISFIED_AT, XeemMetrics
from xeem.controllers.start_clock import StartClock
from xeem.controllers.workflow_children import (
    child_object,
    observe_children,
    workflow_sees_change,
)
from xeem.controllers.workflow_groups import group_object, observe_groups
from xeem.controllers.workflow_status import (
    invalid_status,
    running_status,
    transitions,
)
from xeem.controllers.written_status import WrittenStatus
from xeem.engine import (
    CompiledWorkflow,
    NodeStart,
    Problem,
    StepResult,
    XMountRenderer,
    compile_workflow,
)
from xeem.runtime.cache import INDEX_CONTROLLER_UID
from xeem.runtime.client import Client
from xeem.runtime.events import EventRecorder
from xeem.runtime.handler import EnqueueRequestForOwner
from xeem.runtime.informer import Informer
from xeem.runtime.kube import ApiError, NotFoundError
from xeem.runtime.manager import Manager
from xeem.runtime.predicate import Funcs, generation_changed
from xeem.runtime.reconcile import Request, Result
from xeem.runtime.resource import Obj

log = structlog.get_logger("xeem.controllers.workflow")

_CONCURRENT_CREATES = 16
"""Children of one workflow created at once: a fan-out starts its nodes in parallel
without flooding the API server with one huge burst."""


@dataclass(frozen=True)
class _Compiled:
    uid: str
    generation: int
    workflow: CompiledWorkflow


class WorkflowReconciler:
    """Reconciles one Workflow per call; safe to run in N workers (keys never overlap)."""

    def __init__(
        self,
        client: Client,
        tasks: Informer,
        services: Informer,
        groups: Informer,
        recorder: EventRecorder,
        metrics: XeemMetrics,
        xmount: XMountRenderer,
    ) -> None:
        self._client = client
        self._tasks = tasks
        self._services = services
        self._groups = groups
        self._recorder = recorder
        self._metrics = metrics
        self._xmount = xmount
        self._compiled: dict[str, _Compiled] = {}
        self._written = WrittenStatus()
        self.start_clock = StartClock()

    async def reconcile(self, request: Request) -> Result | None:
        reconcile_began = time.time()
        try:
            obj = await self._client.get(WORKFLOW, request.name, request.namespace)
        except NotFoundError:
            self.forget(request.key)
            return None
        if obj["metadata"].get("deletionTimestamp"):
            return None
        bound = log.bind(namespace=request.namespace, name=request.name)
        obj = self._written.overlay(obj)  # the cache may not show our last write yet
        previous = _previous_status(obj)
        compiled, problems = self._compile(request.key, obj)
        now = datetime.now(UTC)
        generation = obj["metadata"].get("generation")
        if compiled is None or problems:
            status = invalid_status(previous, problems, generation, now)
            if previous is None or previous.message != status.message:
                bound.info("workflow is invalid", problems=len(problems))
                self._recorder.event(obj, "Warning", "InvalidSpec", status.message)
            await self._write_status(obj, previous, status)
            return None

        uid = obj["metadata"]["uid"]
        observed = observe_children(
            self._tasks.store.by_index(INDEX_CONTROLLER_UID, uid),
            self._services.store.by_index(INDEX_CONTROLLER_UID, uid),
            previous,
        )
        groups = observe_groups(self._groups.store.by_index(INDEX_CONTROLLER_UID, uid))
        step = compiled.step(observed, groups)
        await self._apply_groups(obj, step)
        errors: dict[str, str] = {}
        started: list[Obj] = []
        for batch in _batches(step.start, _CONCURRENT_CREATES):
            outcomes = await asyncio.gather(
                *(
                    self._start(
                        obj,
                        start,
                        self.start_clock.startable_at(
                            request.key, compiled.dependency_children(start.node), reconcile_began
                        ),
                    )
                    for start in batch
                )
            )
            for start, outcome in zip(batch, outcomes, strict=True):
                if isinstance(outcome, str):
                    errors[start.node] = outcome
                else:
                    started.append(outcome)
        if started:
            # The status says what the next reconcile will observe of the new children (their
            # creation time, no message yet), so it does not write again just for that.
            tasks = [child for child in started if child.get("kind") == TASK.kind]
            services = [child for child in started if child.get("kind") != TASK.kind]
            observed.update(observe_children(tasks, services, None))
            step = compiled.step(observed, groups)
        status = running_status(previous, step, generation, now)
        if errors:
            _mark_errors(status, errors, now)
        await self._write_status(obj, previous, status)
        self._metrics.workflow_phase(request.key, status.phase.value)
        if errors:
            return Result(requeue=True)
        return None

    def forget(self, key: str) -> None:
        """Drop what the reconciler remembers of a deleted workflow."""
        self._compiled.pop(key, None)
        self._written.forget(key)
        self.start_clock.forget(key)
        self._metrics.workflow_phase(key, None)

    def _compile(self, key: str, obj: Obj) -> tuple[CompiledWorkflow | None, list[Problem]]:
        metadata = obj["metadata"]
        uid, generation = metadata["uid"], metadata.get("generation", 0)
        cached = self._compiled.get(key)
        if cached is not None and cached.uid == uid and cached.generation == generation:
            return cached.workflow, cached.workflow.problems
        try:
            workflow = Workflow.model_validate(obj)
        except ValidationError as error:
            return None, [_schema_problem(e) for e in error.errors()]
        compiled = compile_workflow(
            workflow.spec,
            workflow_name=metadata["name"],
            namespace=metadata["namespace"],
            labels=metadata.get("labels") or {},
            annotations=metadata.get("annotations") or {},
            xmount=self._xmount,
        )
        self._compiled[key] = _Compiled(uid, generation, compiled)
        return compiled, compiled.problems

    async def _start(self, workflow: Obj, start: NodeStart, startable_at: float) -> Obj | str:
        """Create (or adopt) the node's child: the child, or the error message."""
        resource, child = child_object(workflow, start)
        child["metadata"]["annotations"] = {
            **child["metadata"]["annotations"],
            DEPENDENCIES_SATISFIED_AT: _rfc3339(startable_at),
        }
        try:
            claim = await create_or_adopt(self._client, resource, child, workflow)
        except ChildConflict as conflict:
            return str(conflict)
        except ApiError as error:
            if error.status in (400, 403, 422):
                return f"cannot create {resource.kind} {start.name}: {error}"
            raise
        if claim.created:
            self._metrics.child_created(resource.kind, child)
            self._recorder.event(
                workflow,
                "Normal",
                "NodeStarted",
                f"node {start.node}: created {resource.kind} {start.name}",
            )
        return claim.obj

    async def _apply_groups(self, workflow: Obj, step: StepResult) -> None:
        """Create the machine groups the step asks for and delete the released ones."""
        namespace = workflow["metadata"]["namespace"]
        for create in step.create_xvmgs:
            group = group_object(workflow, create)
            if (
                await create_or_adopt(self._client, VIRTUAL_MACHINE_GROUP, group, workflow)
            ).created:
                self._recorder.event(
                    workflow,
                    "Normal",
                    "MachinesRequested",
                    f"created VirtualMachineGroup {create.name}",
                )
        for name in step.release_xvmgs:
            await self._client.delete(VIRTUAL_MACHINE_GROUP, name, namespace, ignore_not_found=True)
            self._recorder.event(
                workflow, "Normal", "MachinesReleased", f"deleted VirtualMachineGroup {name}"
            )

    async def _write_status(
        self, obj: Obj, previous: WorkflowStatus | None, status: WorkflowStatus
    ) -> None:
        if not await write_status(self._client, WORKFLOW, obj, status, previous, self._written):
            return
        for transition in transitions(previous, status):
            self._recorder.event(obj, transition.type, transition.reason, transition.message)


def _batches(starts: list[NodeStart], size: int) -> list[list[NodeStart]]:
    return [starts[i : i + size] for i in range(0, len(starts), size)]


def _previous_status(obj: Obj) -> WorkflowStatus | None:
    raw = obj.get("status")
    if not raw:
        return None
    try:
        return WorkflowStatus.model_validate(raw)
    except ValidationError:
        return None


def _schema_problem(error: Any) -> Problem:
    path = ".".join(str(part) for part in error["loc"])
    return Problem(path=path, message=error["msg"])


def _mark_errors(status: WorkflowStatus, errors: dict[str, str], now: datetime) -> None:
    for index, node in enumerate(status.nodes):
        if node.name in errors:
            status.nodes[index] = NodeStatus(
                name=node.name,
                phase=NodePhase.ERROR,
                message=errors[node.name],
                started_at=node.started_at or now,
                finished_at=now,
            )


def _rfc3339(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, UTC).isoformat(timespec="microseconds")


def setup_workflow_controller(
    manager: Manager, metrics: XeemMetrics, xmount: XMountRenderer, workers: int
) -> WorkflowReconciler:
    """Register the Workflow controller: for Workflows, woken by their Tasks and Services."""
    reconciler = WorkflowReconciler(
        manager.client,
        manager.informer(TASK),
        manager.informer(XSERVICE),
        manager.informer(VIRTUAL_MACHINE_GROUP),
        manager.event_recorder("workflow-controller"),
        metrics,
        xmount,
    )
    owners = EnqueueRequestForOwner(WORKFLOW)

    def wake_owner(child: Obj) -> list[Request]:
        requests = list(owners.create(child))
        for request in requests:
            reconciler.start_clock.seen(request.key, child["metadata"]["name"])
        return requests

    (
        manager.controller("workflow")
        .for_(WORKFLOW, generation_changed())
        .watches(TASK, wake_owner, Funcs(on_update=workflow_sees_change(TASK)))
        .watches(XSERVICE, wake_owner, Funcs(on_update=workflow_sees_change(XSERVICE)))
        .watches(VIRTUAL_MACHINE_GROUP, wake_owner)
        .with_options(max_concurrent_reconciles=workers)
        .complete(reconciler)
    )
    return reconciler
