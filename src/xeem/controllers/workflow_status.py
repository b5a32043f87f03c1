"""A Workflow's status from the engine's step, and the events its changes deserve.

Contract: ``running_status`` and ``invalid_status`` are pure: the same inputs give the same
status, and a condition keeps its ``lastTransitionTime`` while its status is unchanged, so
re-running a reconcile on unchanged state writes nothing. ``transitions`` compares two
statuses and names the events to record (node succeeded / failed, workflow finished).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from xeem.api.base import Condition, ConditionStatus
from xeem.api.phases import NodePhase, WorkflowPhase
from xeem.api.workflow import WorkflowStatus
from xeem.engine import Problem, StepResult

VALID = "Valid"
FINISHED = "Finished"
_TERMINAL_WORKFLOW = {WorkflowPhase.SUCCEEDED, WorkflowPhase.FAILED, WorkflowPhase.ERROR}
_MAX_MESSAGE = 2000


def _condition(
    previous: WorkflowStatus | None,
    type_: str,
    status: ConditionStatus,
    reason: str,
    message: str,
    generation: int | None,
    now: datetime,
) -> Condition:
    old = next((c for c in previous.conditions if c.type == type_), None) if previous else None
    since = old.last_transition_time if old is not None and old.status == status else now
    return Condition(
        type=type_,
        status=status,
        reason=reason,
        message=message[:_MAX_MESSAGE],
        last_transition_time=since,
        observed_generation=generation,
    )


def problems_message(problems: Sequence[Problem]) -> str:
    """Every problem as ``<path>: <message>``, joined by ``; `` (truncated for status)."""
    text = "; ".join(f"{p.path}: {p.message}" for p in problems)
    return text if len(text) <= _MAX_MESSAGE else text[: _MAX_MESSAGE - 3] + "..."


def invalid_status(
    previous: WorkflowStatus | None,
    problems: Sequence[Problem],
    generation: int | None,
    now: datetime,
) -> WorkflowStatus:
    """Phase Error with ``Valid=False`` naming every problem; nodes are left as they were."""
    message = problems_message(problems)
    return WorkflowStatus(
        phase=WorkflowPhase.ERROR,
        message=message,
        observed_generation=generation,
        conditions=[
            _condition(
                previous, VALID, ConditionStatus.FALSE, "InvalidSpec", message, generation, now
            ),
            _condition(previous, FINISHED, ConditionStatus.TRUE, "Error", message, generation, now),
        ],
        nodes=previous.nodes if previous else [],
        progress=previous.progress if previous else "",
        started_at=previous.started_at if previous else None,
        finished_at=(previous.finished_at if previous and previous.finished_at else now),
    )


def running_status(
    previous: WorkflowStatus | None,
    step: StepResult,
    generation: int | None,
    now: datetime,
) -> WorkflowStatus:
    """The status after a step: phase, message, progress, every node, conditions."""
    finished = step.phase in _TERMINAL_WORKFLOW
    started_at = previous.started_at if previous and previous.started_at else now
    finished_at = None
    if finished:
        finished_at = previous.finished_at if previous and previous.finished_at else now
    return WorkflowStatus(
        phase=step.phase,
        message=step.message[:_MAX_MESSAGE],
        observed_generation=generation,
        conditions=[
            _condition(previous, VALID, ConditionStatus.TRUE, "Valid", "", generation, now),
            _condition(
                previous,
                FINISHED,
                ConditionStatus.TRUE if finished else ConditionStatus.FALSE,
                step.phase.value,
                step.message,
                generation,
                now,
            ),
        ],
        nodes=[node.to_status() for node in step.nodes],
        progress=step.progress,
        started_at=started_at,
        finished_at=finished_at,
    )


@dataclass(frozen=True)
class Transition:
    """An event to record on the workflow."""

    type: str
    reason: str
    message: str


def transitions(previous: WorkflowStatus | None, current: WorkflowStatus) -> list[Transition]:
    """Node succeeded / failed and workflow finished events between two statuses."""
    before = {n.name: n.phase for n in previous.nodes} if previous else {}
    events = []
    for node in current.nodes:
        if before.get(node.name) == node.phase:
            continue
        if node.phase is NodePhase.SUCCEEDED:
            events.append(Transition("Normal", "NodeSucceeded", f"node {node.name} succeeded"))
        elif node.phase is NodePhase.READY:
            events.append(Transition("Normal", "NodeReady", f"node {node.name} is ready"))
        elif node.phase in (NodePhase.FAILED, NodePhase.ERROR):
            events.append(
                Transition(
                    "Warning",
                    "NodeFailed",
                    f"node {node.name} {node.phase.value.lower()}: {node.message}",
                )
            )
    was_finished = previous is not None and previous.phase in _TERMINAL_WORKFLOW
    if current.phase in _TERMINAL_WORKFLOW and not was_finished:
        kind = "Normal" if current.phase is WorkflowPhase.SUCCEEDED else "Warning"
        text = f"workflow {current.phase.value.lower()}"
        events.append(
            Transition(
                kind, "WorkflowFinished", f"{text}: {current.message}" if current.message else text
            )
        )
    return events
