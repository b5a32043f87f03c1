"""The Task reconciler: one Task (``xtask``) -> one batch/v1 Job named like it.

Contract:

- The Job ``<task>`` is created once, rendered from ``spec.job`` and ``spec.inputs`` (so a
  Task applied by hand gets ``$(inputs.x)``, ``XEEM_INPUT_X`` and xMount volumes; a Task a
  Workflow made is already rendered and rendering is idempotent), labelled ``xeem.io/task``
  plus the Task's ``xeem.io/*`` labels, annotated with ``spec.annotations`` (both also on the
  pod template), and controlled by the Task. The Job spec is immutable: later Task spec
  changes are not applied to an existing Job. An existing Job the Task controls is used; an
  orphan is adopted; one controlled by someone else is left alone (reason ``OwnedByOther``).
- Once its Job existed (``status.jobRef``) a Task never creates another: a Job deleted before
  it finished fails the Task (``JobDeleted``); after the end the final status stays.
- Status comes from :func:`xeem.status.observe_task` over the Job, its pods (by
  ``batch.kubernetes.io/controller-uid``) and cached Warning events about them, and is
  written only when it changed.
- A spec that cannot be rendered or that the API server rejects (400/422) makes the Task
  Failed with reason ``InvalidSpec`` and the message, and raises ``TerminalError`` (no retry
  until the spec changes).
- A new Task's Job is created by a second controller (``task-start``) that sees only Task
  creations, so starting never queues behind status work; the ``task`` controller is woken
  by that Job (or, when no Job can be had, ``task-start`` reconciles the Task itself).
- Wake-ups: the Task's creation (``task-start``), its spec changes, its Job's events, its
  pods' events and Warning events about the Job or its pods; there is no polling.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import structlog
from pydantic import ValidationError

from xeem.api.task import Task, TaskPhase, TaskStatus
from xeem.controllers.children import (
    INVALID_SPEC,
    OWNED_BY_OTHER,
    ChildConflict,
    InvalidSpec,
    child_metadata,
    controller_or_namesake,
    create_or_adopt,
    created_at,
    get_or_none,
    inherited_labels,
    invalid_spec,
    is_controlled_by,
    parse_status,
    resolved_inputs,
    utc_now,
)
from xeem.controllers.kinds import TASK
from xeem.controllers.metrics import XeemMetrics
from xeem.controllers.workload import WorkloadReconciler, owner_of_event
from xeem.engine.render import RenderContext, RenderError, render_job_spec
from xeem.engine.xmount import XMountRenderer
from xeem.runtime.controller import Controller
from xeem.runtime.events import NORMAL, EventRecorder
from xeem.runtime.handler import EnqueueRequestForOwner
from xeem.runtime.informer import Informer
from xeem.runtime.kube import ApiError
from xeem.runtime.manager import Manager
from xeem.runtime.predicate import Funcs, generation_changed
from xeem.runtime.reconcile import Request, Result, TerminalError
from xeem.runtime.resource import JOB, POD, Obj, generation_of, meta, name_of, uid_of
from xeem.status import TaskStatusView, observe_task

log = structlog.get_logger("xeem.controllers.task")

LABEL_TASK = "xeem.io/task"
JOB_NAME_LABEL = "batch.kubernetes.io/job-name"
JOB_UID_LABEL = "batch.kubernetes.io/controller-uid"
JOB_DELETED = "JobDeleted"
START_WORKERS_FACTOR = 4
"""``task-start`` runs this many times the workers of the other controllers: a start is one
cache read and one create, and a fan-out's starts arrive together."""


def build_job(task: Obj, xmount: XMountRenderer) -> Obj:
    """The Job a Task wants (pure); raises ``RenderError`` or ``ValidationError``."""
    model = Task.model_validate(task)
    name = name_of(task)
    labels = {**inherited_labels(task), LABEL_TASK: name}
    annotations = dict(model.spec.annotations)
    context = RenderContext(labels=labels, annotations=annotations, xmount=xmount)
    spec = render_job_spec(model.spec.job, resolved_inputs(model.spec.inputs), context)
    spec["template"]["spec"].setdefault("restartPolicy", "Never")
    return {
        "apiVersion": JOB.api_version,
        "kind": JOB.kind,
        "metadata": child_metadata(task, name, labels, annotations),
        "spec": spec,
    }


class JobGone(Exception):
    """The Task's Job existed and was deleted."""


class TaskReconciler(WorkloadReconciler):
    """Reconciles one Task at a time; see the module contract."""

    async def start(self, request: Request) -> Result | None:
        """A Task appeared (created, or listed at start-up): make sure its Job exists. The
        status follows from the Job's events on the ``task`` controller; when the Job cannot
        be had (conflict, deleted, invalid spec) the full ``reconcile`` runs here at once."""
        task = await self._current(TASK, request)
        if task is None:
            return None
        bound = log.bind(namespace=request.namespace, name=request.name)
        try:
            await self._job(task, parse_status(task, TaskStatus), bound)
        except (ChildConflict, JobGone, InvalidSpec):
            return await self.reconcile(request)
        return None

    async def reconcile(self, request: Request) -> Result | None:
        task = await self._current(TASK, request)
        if task is None:
            return None
        bound = log.bind(namespace=request.namespace, name=request.name)
        previous = parse_status(task, TaskStatus)
        job: Obj | None = None
        override: tuple[TaskPhase, str, str] | None = None
        try:
            job = await self._job(task, previous, bound)
        except ChildConflict as conflict:
            override = (TaskPhase.PENDING, OWNED_BY_OTHER, str(conflict))
        except JobGone as gone:
            if previous is not None and previous.phase in (TaskPhase.SUCCEEDED, TaskPhase.FAILED):
                return None  # the Job was cleaned up after the end: the status stays
            override = (TaskPhase.FAILED, JOB_DELETED, str(gone))
        except InvalidSpec as invalid:
            override = (TaskPhase.FAILED, INVALID_SPEC, str(invalid))
        view = self._observe(job)
        if override is not None:
            phase, reason, message = override
            view = dataclasses.replace(view, phase=phase, reason=reason, message=message)
        status = view.to_status(previous, generation=generation_of(task), now=utc_now())
        if await self._write_status(TASK, task, status, previous):
            bound.info("status", phase=status.phase.value, reason=status.reason)
            # Success is told by the Job's own Completed event (and the Workflow's
            # NodeSucceeded): one event fewer per Task on a busy API server.
            self._announce(task, previous, status, failed=TaskPhase.FAILED)
        if override is not None and override[1] == INVALID_SPEC:
            raise TerminalError(override[2])
        return None

    async def _job(self, task: Obj, previous: TaskStatus | None, bound: Any) -> Obj:
        """The Task's Job: the one it controls, else created or adopted now."""
        name, namespace = name_of(task), str(meta(task).get("namespace", ""))
        job = await get_or_none(self.client, JOB, name, namespace)
        if job is None and previous is not None and previous.job_ref is not None:
            job = await get_or_none(self.client, JOB, name, namespace, live=True)
            if job is None:
                raise JobGone(f"job {name} was deleted before the Task finished")
        if job is not None and is_controlled_by(job, task):
            return job
        try:
            claim = await create_or_adopt(self.client, JOB, build_job(task, self.xmount), task)
        except (RenderError, ValidationError, ApiError) as error:
            invalid = invalid_spec(error)
            if invalid is None:
                raise
            raise invalid from error
        if claim.created and self.metrics is not None:
            self.metrics.child_created("Job", task)
        if claim.created or claim.adopted:
            verb = "Created" if claim.created else "Adopted"
            bound.info(f"{verb.lower()} job", job=name)
            self.recorder.event(task, NORMAL, verb, f"{verb.lower()} job {name}")
        return claim.obj

    def _observe(self, job: Obj | None) -> TaskStatusView:
        if job is None:
            return observe_task(None, [], [])
        namespace = str(meta(job).get("namespace", ""))
        pods = self.pods.list(namespace, {JOB_UID_LABEL: uid_of(job)})
        events = self._warnings_about(namespace, "Job", name_of(job), pods)
        return observe_task(job, pods, events, since=created_at(job))


def _task_of_pod(jobs: Informer, pod: Obj) -> list[Request]:
    """The Task controlling the Job that controls ``pod``."""
    labels = meta(pod).get("labels") or {}
    job_name = labels.get(JOB_NAME_LABEL) or labels.get("job-name")
    job = jobs.get(str(job_name), str(meta(pod).get("namespace", ""))) if job_name else None
    return list(EnqueueRequestForOwner(TASK).create(job)) if job is not None else []


def _task_of_event(jobs: Informer, pods: Informer, event: Obj) -> list[Request]:
    """The Task a Warning event about its Job or one of its pods concerns."""
    return owner_of_event(event, TASK, jobs, pods, lambda pod: _task_of_pod(jobs, pod))


def setup_task_controller(
    manager: Manager,
    *,
    xmount: XMountRenderer | None = None,
    workers: int = 1,
    recorder: EventRecorder | None = None,
    metrics: XeemMetrics | None = None,
) -> Controller:
    """Register the Task controller (and the informers it needs) with ``manager``."""
    reconciler = TaskReconciler.from_manager(
        manager, xmount=xmount, recorder=recorder, metrics=metrics
    )
    jobs, pods, events = manager.informer(JOB), reconciler.pods, reconciler.events
    # New Tasks get their Job from a controller of their own, so a start never waits in
    # the queue behind the status updates of every running Task; the ``task`` controller
    # hears of a new Task through its Job.
    (
        manager.controller("task-start")
        .for_(TASK, Funcs(on_update=lambda old, new: False, on_delete=lambda obj: False))
        .with_options(max_concurrent_reconciles=workers * START_WORKERS_FACTOR)
        .complete(reconciler.start)
    )
    return (
        manager.controller("task")
        .for_(TASK, Funcs(on_create=lambda obj: False), generation_changed())
        .watches(JOB, controller_or_namesake(TASK, manager.informer(TASK)))
        .watches(POD, lambda pod: _task_of_pod(jobs, pod))
        .watches(events.resource, lambda event: _task_of_event(jobs, pods, event))
        .with_options(max_concurrent_reconciles=workers)
        .complete(reconciler)
    )
