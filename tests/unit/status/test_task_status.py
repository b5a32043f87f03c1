"""Task status from a Job, its pods and events (xeem.status.observe_task)."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime

import pytest

from tests.unit.status.status_fixtures import (
    Obj,
    at,
    cond,
    container,
    core_event,
    job,
    pod,
    running,
    terminated,
    unschedulable,
    waiting,
)
from xeem.api.base import ConditionStatus
from xeem.api.task import TaskPhase
from xeem.status import observe_task

pytestmark = pytest.mark.unit

BACKOFF = cond(
    "Failed",
    reason="BackoffLimitExceeded",
    message="Job has reached the specified backoff limit",
    minute=9,
)
DEADLINE = cond(
    "Failed",
    reason="DeadlineExceeded",
    message="Job was active longer than specified deadline",
    minute=9,
)
COMPLETE = cond(
    "Complete",
    reason="CompletionsReached",
    message="Reached expected number of succeeded pods",
    minute=8,
)
QUOTA = (
    'Error creating: pods "train-q" is forbidden: exceeded quota: compute, '
    "requested: cpu=4, used: cpu=8, limited: cpu=10"
)


@dataclass
class Case:
    job: Obj | None
    pods: list[Obj] = field(default_factory=list)
    events: list[Obj] = field(default_factory=list)
    phase: TaskPhase = TaskPhase.PENDING
    reason: str = ""
    message: str = ""
    exit_code: int | None = None
    finished_at: datetime | None = None


CASES = {
    "no job yet": Case(None, reason="JobNotCreated", message="waiting for the Job to be created"),
    "pod not started": Case(
        job(active=1),
        [pod("train-a", containers=[container()])],
        reason="PodsPending",
        message="waiting for the Job's pods to start",
    ),
    "image pull back-off while pending": Case(
        job(active=1),
        [
            pod(
                "train-x7k2",
                containers=[
                    container(state=waiting("ImagePullBackOff", 'Back-off pulling image "nope:1"'))
                ],
            )
        ],
        reason="ImagePullBackOff",
        message='pod train-x7k2 container main: ImagePullBackOff: Back-off pulling image "nope:1"',
    ),
    "unschedulable while pending": Case(
        job(active=1),
        [
            pod(
                "train-a",
                conditions=[
                    unschedulable("0/3 nodes are available: 3 Insufficient nvidia.com/gpu.")
                ],
            )
        ],
        reason="FailedScheduling",
        message="pod train-a: FailedScheduling: "
        "0/3 nodes are available: 3 Insufficient nvidia.com/gpu.",
    ),
    "quota blocks pod creation": Case(
        job(),
        events=[
            core_event(
                "FailedCreate",
                QUOTA,
                kind="Job",
                name="train",
                count=3,
            )
        ],
        reason="FailedCreate",
        message=f"job train: FailedCreate: {QUOTA} (x3)",
    ),
    "running": Case(
        job(active=1, ready=1),
        [pod("train-a", "Running", [container(state=running())], node="n1")],
        phase=TaskPhase.RUNNING,
        reason="Running",
    ),
    "running counted by the Job before the pod cache catches up": Case(
        job(active=1, ready=1), phase=TaskPhase.RUNNING, reason="Running"
    ),
    "retrying after a failed pod": Case(
        job(active=1, failed=1),
        [
            pod(
                "train-a",
                "Failed",
                [container(state=terminated(1, message="loss is NaN", minute=3))],
            ),
            pod("train-b", "Running", [container(state=running(4))], node="n1"),
        ],
        phase=TaskPhase.RUNNING,
        reason="Retrying",
        message="retrying after pod train-a container main: Error (exit code 1): loss is NaN",
    ),
    "retry pod blocked": Case(
        job(active=1, failed=1),
        [
            pod("train-a", "Failed", [container(state=terminated(1, minute=3))]),
            pod(
                "train-b",
                containers=[
                    container(
                        state=waiting("CreateContainerConfigError", 'secret "creds" not found')
                    )
                ],
            ),
        ],
        phase=TaskPhase.RUNNING,
        reason="CreateContainerConfigError",
        message='pod train-b container main: CreateContainerConfigError: secret "creds" not found',
    ),
    "complete": Case(
        job(conditions=[COMPLETE], succeeded=1, completion_minute=7),
        [pod("train-a", "Succeeded", [container(state=terminated(0, "Completed", minute=7))])],
        phase=TaskPhase.SUCCEEDED,
        reason="CompletionsReached",
        message="Reached expected number of succeeded pods",
        exit_code=0,
        finished_at=at(7),
    ),
    "success criteria met before Complete": Case(
        job(
            conditions=[cond("SuccessCriteriaMet", reason="CompletionsReached", minute=6)],
            succeeded=1,
        ),
        phase=TaskPhase.SUCCEEDED,
        reason="CompletionsReached",
        exit_code=0,
        finished_at=at(6),
    ),
    "OOMKilled": Case(
        job(conditions=[BACKOFF], failed=1),
        [pod("train-a", "Failed", [container(state=terminated(137, "OOMKilled", minute=5))])],
        phase=TaskPhase.FAILED,
        reason="BackoffLimitExceeded",
        message="BackoffLimitExceeded: Job has reached the specified backoff limit; "
        "pod train-a container main: OOMKilled (exit code 137)",
        exit_code=137,
        finished_at=at(9),
    ),
    "backoff limit: the most recent failure with its termination message": Case(
        job(conditions=[BACKOFF], failed=3),
        [
            pod(
                "train-a", "Failed", [container(state=terminated(2, message="bad flag", minute=1))]
            ),
            pod(
                "train-c",
                "Failed",
                [container(state=terminated(3, message="disk full\n  at /data", minute=8))],
            ),
            pod(
                "train-b",
                "Failed",
                [container(state=terminated(1, message="loss is NaN", minute=4))],
            ),
        ],
        phase=TaskPhase.FAILED,
        reason="BackoffLimitExceeded",
        message="BackoffLimitExceeded: Job has reached the specified backoff limit; "
        "pod train-c container main: Error (exit code 3): disk full at /data",
        exit_code=3,
        finished_at=at(9),
    ),
    "failure before the last restart (restartPolicy OnFailure)": Case(
        job(conditions=[BACKOFF], failed=1),
        [
            pod(
                "train-a",
                "Running",
                [
                    container(
                        state=waiting("CrashLoopBackOff"),
                        last=terminated(2, message="no input", minute=6),
                    )
                ],
            )
        ],
        phase=TaskPhase.FAILED,
        reason="BackoffLimitExceeded",
        message="BackoffLimitExceeded: Job has reached the specified backoff limit; "
        "pod train-a container main: Error (exit code 2): no input",
        exit_code=2,
        finished_at=at(9),
    ),
    "failed init container": Case(
        job(conditions=[BACKOFF], failed=1),
        [
            pod(
                "train-a",
                "Failed",
                [container()],
                init=[
                    container("fetch", terminated(6, message="could not resolve host", minute=2))
                ],
            )
        ],
        phase=TaskPhase.FAILED,
        reason="BackoffLimitExceeded",
        message="BackoffLimitExceeded: Job has reached the specified backoff limit; "
        "pod train-a container fetch: Error (exit code 6): could not resolve host",
        exit_code=6,
        finished_at=at(9),
    ),
    "evicted pod": Case(
        job(conditions=[BACKOFF], failed=1),
        [
            pod(
                "train-a",
                "Failed",
                [container(state=terminated(0, "Completed", minute=2))],
                conditions=[cond("Ready", "False", "PodFailed", minute=5)],
                reason="Evicted",
                message="The node was low on resource: ephemeral-storage.",
            )
        ],
        phase=TaskPhase.FAILED,
        reason="BackoffLimitExceeded",
        message="BackoffLimitExceeded: Job has reached the specified backoff limit; "
        "pod train-a: Evicted: The node was low on resource: ephemeral-storage.",
        finished_at=at(9),
    ),
    "deadline exceeded, pods already deleted": Case(
        job(conditions=[DEADLINE], failed=1),
        phase=TaskPhase.FAILED,
        reason="DeadlineExceeded",
        message="DeadlineExceeded: Job was active longer than specified deadline",
        finished_at=at(9),
    ),
    "deadline exceeded with the killed container": Case(
        job(conditions=[DEADLINE], failed=1),
        [pod("train-a", "Failed", [container(state=terminated(143, "Error", minute=9))])],
        phase=TaskPhase.FAILED,
        reason="DeadlineExceeded",
        message="DeadlineExceeded: Job was active longer than specified deadline; "
        "pod train-a container main: Error (exit code 143)",
        exit_code=143,
        finished_at=at(9),
    ),
    "failure target before the Failed condition": Case(
        job(
            conditions=[
                cond(
                    "FailureTarget",
                    reason="PodFailurePolicy",
                    message="Container main exited with 42",
                    minute=4,
                )
            ]
        ),
        phase=TaskPhase.FAILED,
        reason="PodFailurePolicy",
        message="PodFailurePolicy: Container main exited with 42",
        finished_at=at(4),
    ),
}


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_observe_task(case: Case) -> None:
    view = observe_task(case.job, case.pods, case.events)
    assert (view.phase, view.reason, view.message) == (case.phase, case.reason, case.message)
    assert view.exit_code == case.exit_code
    assert view.finished_at == case.finished_at


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_observe_task_ignores_input_order(case: Case) -> None:
    shuffled = random.Random(7).sample(case.pods, len(case.pods))
    assert observe_task(case.job, shuffled, case.events) == observe_task(
        case.job, case.pods, case.events
    )


def test_counts_and_refs_come_from_the_job() -> None:
    view = observe_task(job(completions=3, active=1, succeeded=2, failed=1), [], [])
    status = view.to_status(None, generation=4, now=at(10))
    assert (status.succeeded, status.failed, status.completions) == (2, 1, "2/3")
    assert status.job_ref is not None
    assert status.job_ref.name == "train"
    assert status.started_at == at(0)
    assert status.observed_generation == 4


def test_terminated_pods_not_yet_counted_by_the_job_are_counted() -> None:
    """The Job controller sets SuccessCriteriaMet while the pod is still in
    ``uncountedTerminatedPods``: the Task says Succeeded and 1/1 at once."""
    finished = job(conditions=[cond("SuccessCriteriaMet", reason="CompletionsReached")])
    finished["status"]["uncountedTerminatedPods"] = {"succeeded": ["uid-a"], "failed": ["uid-b"]}
    status = observe_task(finished, [], []).to_status(None, generation=1, now=at(10))
    assert status.phase is TaskPhase.SUCCEEDED
    assert (status.succeeded, status.failed, status.completions) == (1, 1, "1/1")


def test_conditions_follow_the_phase() -> None:
    def statuses(view_job: Obj, pods: list[Obj]) -> dict[str, ConditionStatus]:
        return {c.type: c.status for c in observe_task(view_job, pods, []).conditions}

    running_pod = pod("train-a", "Running", [container(state=running())])
    assert statuses(job(active=1), []) == {"Running": "False", "Succeeded": "Unknown"}
    assert statuses(job(active=1), [running_pod]) == {"Running": "True", "Succeeded": "Unknown"}
    assert statuses(job(conditions=[COMPLETE]), []) == {"Running": "False", "Succeeded": "True"}
    assert statuses(job(conditions=[BACKOFF]), []) == {"Running": "False", "Succeeded": "False"}


def test_failed_condition_carries_reason_and_message() -> None:
    view = observe_task(job(conditions=[DEADLINE]), [], [])
    succeeded = next(c for c in view.conditions if c.type == "Succeeded")
    assert (succeeded.reason, succeeded.message) == ("DeadlineExceeded", view.message)


def test_stale_warning_events_are_ignored() -> None:
    quota = core_event("FailedCreate", "exceeded quota", kind="Job", name="train", minute=1)
    assert observe_task(job(), [], [quota], since=at(2)).reason == "PodsPending"
    assert observe_task(job(), [], [quota], since=at(1)).reason == "FailedCreate"
