"""Task status from its batch/v1 Job, the Job's pods and their events (DESIGN.md section 5).

Contract: :func:`observe_task` is a pure function of API JSON dicts; the same input always
gives the same view. Rules, in order:

- no Job: Pending, reason JobNotCreated;
- Job condition Failed or FailureTarget is True: Failed, reason the condition's reason
  (BackoffLimitExceeded, DeadlineExceeded, ...), message that condition plus the most recent
  failed container (exit code, termination reason such as OOMKilled, termination message);
- Job condition Complete or SuccessCriteriaMet is True: Succeeded, exit code 0;
- counts: succeeded and failed include the pods the Job lists as terminated but not yet
  counted, so a Task's counts and phase change in the same write; the Task starts when its
  Job is created (Tekton's TaskRun ``startTime`` likewise), so a Task's status changes only
  with its phase, its reason or message, and its counts at the end;
- a pod has started (running or finished) or the Job counts ready, succeeded or failed
  pods: Running; the message names what blocks a retry, or the last failure if any;
- else Pending, the message naming what blocks the pods (see :mod:`xeem.status.pods`,
  :mod:`xeem.status.events`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from xeem.api.base import Condition, ConditionStatus
from xeem.api.task import LocalObjectReference, TaskConditionType, TaskPhase, TaskStatus
from xeem.status.conditions import condition, stamp_conditions, true_if
from xeem.status.events import event_blocker
from xeem.status.finding import Finding, describe
from xeem.status.objects import Obj, count, field, items, name, shorten, text, timestamp
from xeem.status.pods import has_started, last_failure, pod_blocker

FAILED_CONDITIONS = ("Failed", "FailureTarget")
SUCCEEDED_CONDITIONS = ("Complete", "SuccessCriteriaMet")


@dataclass(frozen=True)
class TaskStatusView:
    """Everything a Task's status says that follows from the observed objects."""

    phase: TaskPhase
    reason: str
    message: str
    exit_code: int | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    job_name: str | None = None
    succeeded: int = 0
    failed: int = 0
    completions: int = 1

    @property
    def conditions(self) -> list[Condition]:
        """``Running`` (True only while Running) and ``Succeeded`` (Unknown until the end)."""
        succeeded = {
            TaskPhase.SUCCEEDED: ConditionStatus.TRUE,
            TaskPhase.FAILED: ConditionStatus.FALSE,
        }.get(self.phase, ConditionStatus.UNKNOWN)
        running = true_if(self.phase is TaskPhase.RUNNING)
        return [
            condition(TaskConditionType.RUNNING, running, self.reason, self.message),
            condition(TaskConditionType.SUCCEEDED, succeeded, self.reason, self.message),
        ]

    def to_status(
        self, previous: TaskStatus | None, *, generation: int | None, now: datetime
    ) -> TaskStatus:
        """The status to write, keeping condition transition times from ``previous``."""
        return TaskStatus(
            phase=self.phase,
            reason=self.reason,
            message=self.message,
            exit_code=self.exit_code,
            completions=f"{self.succeeded}/{self.completions}",
            started_at=self.started_at,
            finished_at=self.finished_at,
            job_ref=LocalObjectReference(name=self.job_name) if self.job_name else None,
            succeeded=self.succeeded,
            failed=self.failed,
            observed_generation=generation,
            conditions=stamp_conditions(
                self.conditions,
                previous.conditions if previous else [],
                now=now,
                generation=generation,
            ),
        )


def _true_condition(job: Obj, types: tuple[str, ...]) -> Obj | None:
    """The first of the Job's conditions of these types that is True."""
    conditions = items(job, "status", "conditions")
    return next(
        (c for c in conditions if c.get("type") in types and c.get("status") == "True"), None
    )


def _has_started(job: Obj, pods: Sequence[Obj]) -> bool:
    """Whether a pod of the Job runs or ran, as seen on the pods or in the Job's counts."""
    counted = any(count(job, "status", key) > 0 for key in ("ready", "succeeded", "failed"))
    return counted or any(has_started(pod) for pod in pods)


def _outcome(
    job: Obj, pods: Sequence[Obj], events: Sequence[Obj], since: datetime | None
) -> tuple[TaskPhase, Finding]:
    """The phase and its explanation; ``Finding.at`` is when a final phase was reached."""
    failed = _true_condition(job, FAILED_CONDITIONS)
    if failed is not None:
        reason = text(failed, "reason") or "Failed"
        failure = last_failure(pods)
        message = describe("", reason, text(failed, "message"))
        return TaskPhase.FAILED, Finding(
            reason=reason,
            message=f"{message}; {failure.message}" if failure else message,
            exit_code=failure.exit_code if failure else None,
            at=timestamp(failed.get("lastTransitionTime")),
        )
    complete = _true_condition(job, SUCCEEDED_CONDITIONS)
    if complete is not None:
        return TaskPhase.SUCCEEDED, Finding(
            reason=text(complete, "reason") or "Completed",
            message=shorten(text(complete, "message")),
            exit_code=0,
            at=timestamp(field(job, "status", "completionTime"))
            or timestamp(complete.get("lastTransitionTime")),
        )
    blocker = pod_blocker(pods) or event_blocker(events, pods, since)
    if not _has_started(job, pods):
        return TaskPhase.PENDING, blocker or Finding(
            "PodsPending", "waiting for the Job's pods to start"
        )
    failure = last_failure(pods)
    if blocker is None and failure is not None:
        return TaskPhase.RUNNING, Finding("Retrying", f"retrying after {failure.message}")
    return TaskPhase.RUNNING, blocker or Finding("Running", "")


def _terminated(job: Obj, outcome: str) -> int:
    """Pods of the Job that ended with ``outcome`` (succeeded|failed): the Job's counter plus
    the pods it has seen end but not yet counted (``status.uncountedTerminatedPods``), so the
    count agrees with the Job's conditions, which the Job controller sets first."""
    uncounted = field(job, "status", "uncountedTerminatedPods", outcome)
    return count(job, "status", outcome) + (len(uncounted) if isinstance(uncounted, list) else 0)


def observe_task(
    job: Obj | None, pods: Sequence[Obj], events: Sequence[Obj], *, since: datetime | None = None
) -> TaskStatusView:
    """The Task's view from its Job (None if not created yet), the Job's pods and the
    events about them; Warning events last seen before ``since`` are ignored.
    """
    if job is None:
        return TaskStatusView(
            TaskPhase.PENDING, "JobNotCreated", "waiting for the Job to be created"
        )
    phase, finding = _outcome(job, pods, events, since)
    final = phase in (TaskPhase.SUCCEEDED, TaskPhase.FAILED)
    return TaskStatusView(
        phase=phase,
        reason=finding.reason,
        message=finding.message,
        exit_code=finding.exit_code,
        started_at=timestamp(field(job, "metadata", "creationTimestamp")),
        finished_at=finding.at if final else None,
        job_name=name(job),
        succeeded=_terminated(job, "succeeded"),
        failed=_terminated(job, "failed"),
        completions=count(job, "spec", "completions") or 1,
    )
