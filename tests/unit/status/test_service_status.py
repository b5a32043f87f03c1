"""Service status from a Deployment, its pods and events (xeem.status.observe_service)."""

from __future__ import annotations

import random
from dataclasses import dataclass, field

import pytest

from tests.unit.status.status_fixtures import (
    Obj,
    at,
    cond,
    container,
    core_event,
    deployment,
    new_event,
    pod,
    rolled_out,
    running,
    terminated,
    unschedulable,
    waiting,
)
from xeem.api.base import Condition, ConditionStatus
from xeem.api.service import ServicePhase
from xeem.status import observe_service

pytestmark = pytest.mark.unit

AVAILABLE = cond(
    "Available", reason="MinimumReplicasAvailable", message="Deployment has minimum availability."
)
UNAVAILABLE = cond(
    "Available",
    "False",
    "MinimumReplicasUnavailable",
    "Deployment does not have minimum availability.",
)
PROGRESSING = cond(
    "Progressing", reason="ReplicaSetUpdated", message='ReplicaSet "web-5d8f" is progressing.'
)
DEADLINE = cond(
    "Progressing",
    "False",
    "ProgressDeadlineExceeded",
    'ReplicaSet "web-5d8f" has timed out progressing.',
)
QUOTA = (
    'pods "web-5d8f-q" is forbidden: exceeded quota: compute, '
    "requested: cpu=2, used: cpu=10, limited: cpu=10"
)
NO_NODES = "0/3 nodes are available: 3 Insufficient cpu. preemption: 0/3 nodes are available."
PULL = 'Back-off pulling image "nope:1"'
CRASH = "back-off 40s restarting failed container=main pod=web-1_default(uid-web-1)"

STARTING = {"replicas": 2, "updatedReplicas": 2, "unavailableReplicas": 2}
"""Counts of a fresh Deployment whose pods are not ready yet."""


@dataclass
class Case:
    deployment: Obj | None
    pods: list[Obj] = field(default_factory=list)
    events: list[Obj] = field(default_factory=list)
    phase: ServicePhase = ServicePhase.PROGRESSING
    reason: str = ""
    message: str = ""


def pulling(name: str, reason: str = "ImagePullBackOff", message: str = PULL) -> Obj:
    """A pending pod whose container cannot pull its image."""
    return pod(name, containers=[container(state=waiting(reason, message))], node="n1")


CASES = {
    "no deployment yet": Case(
        None, reason="DeploymentNotCreated", message="waiting for the Deployment to be created"
    ),
    "available with all replicas": Case(
        deployment(conditions=[AVAILABLE, PROGRESSING], counts=rolled_out(2)),
        phase=ServicePhase.READY,
        reason="RolloutComplete",
        message="2/2 replicas ready",
    ),
    "replicas default to 1": Case(
        deployment(desired=None, conditions=[AVAILABLE], counts=rolled_out(1)),
        phase=ServicePhase.READY,
        reason="RolloutComplete",
        message="1/1 replicas ready",
    ),
    "rollout still updating": Case(
        deployment(
            generation=2,
            observed=2,
            conditions=[AVAILABLE, PROGRESSING],
            counts=rolled_out(3) | {"updatedReplicas": 1},
        ),
        reason="RollingOut",
        message="waiting for rollout: 1 of 2 new replicas updated",
    ),
    "old replicas pending termination": Case(
        deployment(conditions=[AVAILABLE, PROGRESSING], counts=rolled_out(2) | {"replicas": 3}),
        reason="RollingOut",
        message="waiting for rollout: 1 old replicas pending termination",
    ),
    "updated replicas not available yet": Case(
        deployment(conditions=[UNAVAILABLE, PROGRESSING], counts=STARTING | {"readyReplicas": 1}),
        [pod("web-1", "Running", [container(state=running())], node="n1")],
        reason="RollingOut",
        message="waiting for rollout: 0 of 2 updated replicas available",
    ),
    "new generation not observed yet": Case(
        deployment(generation=3, observed=2, conditions=[AVAILABLE], counts=rolled_out(2)),
        reason="RollingOut",
        message="waiting for the Deployment controller to observe generation 3",
    ),
    "progress deadline exceeded": Case(
        deployment(conditions=[UNAVAILABLE, DEADLINE], counts=STARTING),
        phase=ServicePhase.FAILED,
        reason="ProgressDeadlineExceeded",
        message='ProgressDeadlineExceeded: ReplicaSet "web-5d8f" has timed out progressing.',
    ),
    "progress deadline exceeded names the blocker": Case(
        deployment(conditions=[UNAVAILABLE, DEADLINE], counts=STARTING),
        [pulling("web-1")],
        phase=ServicePhase.FAILED,
        reason="ProgressDeadlineExceeded",
        message='ProgressDeadlineExceeded: ReplicaSet "web-5d8f" has timed out progressing.; '
        f"pod web-1 container main: ImagePullBackOff: {PULL}",
    ),
    "image pull back-off": Case(
        deployment(conditions=[UNAVAILABLE, PROGRESSING], counts=STARTING),
        [pulling("web-2"), pod("web-1", "Running", [container(state=running())], node="n1")],
        reason="ImagePullBackOff",
        message=f"pod web-2 container main: ImagePullBackOff: {PULL}",
    ),
    "err image pull, first blocked pod by name": Case(
        deployment(conditions=[UNAVAILABLE, PROGRESSING], counts=STARTING),
        [
            pulling("web-b", "ErrImagePull", "rpc error: not found"),
            pulling("web-a", "ErrImagePull", "manifest unknown"),
        ],
        reason="ErrImagePull",
        message="pod web-a container main: ErrImagePull: manifest unknown",
    ),
    "crash loop with the last exit": Case(
        deployment(conditions=[UNAVAILABLE, PROGRESSING], counts=STARTING),
        [
            pod(
                "web-1",
                "Running",
                [
                    container(
                        state=waiting("CrashLoopBackOff", CRASH),
                        last=terminated(1, message="bind: address in use"),
                    )
                ],
                node="n1",
            )
        ],
        reason="CrashLoopBackOff",
        message=f"pod web-1 container main: CrashLoopBackOff: {CRASH}; "
        "last terminated: Error (exit code 1): bind: address in use",
    ),
    "missing config": Case(
        deployment(conditions=[UNAVAILABLE, PROGRESSING], counts=STARTING),
        [pulling("web-1", "CreateContainerConfigError", 'configmap "web-config" not found')],
        reason="CreateContainerConfigError",
        message="pod web-1 container main: CreateContainerConfigError: "
        'configmap "web-config" not found',
    ),
    "unschedulable pod condition": Case(
        deployment(conditions=[UNAVAILABLE, PROGRESSING], counts=STARTING),
        [pod("web-1", conditions=[unschedulable(NO_NODES)])],
        events=[core_event("FailedScheduling", "older text", minute=-3)],
        reason="FailedScheduling",
        message=f"pod web-1: FailedScheduling: {NO_NODES}",
    ),
    "failed scheduling event": Case(
        deployment(conditions=[UNAVAILABLE, PROGRESSING], counts=STARTING),
        [pod("web-1")],
        events=[
            core_event("FailedScheduling", NO_NODES, count=4, minute=2),
            core_event("Scheduled", "assigned to n1", type_="Normal", minute=3),
        ],
        reason="FailedScheduling",
        message=f"pod web-1: FailedScheduling: {NO_NODES} (x4)",
    ),
    "failed scheduling event of a pod since scheduled": Case(
        deployment(conditions=[UNAVAILABLE, PROGRESSING], counts=STARTING),
        [pod("web-1", "Running", [container(state=running())], node="n1")],
        events=[core_event("FailedScheduling", NO_NODES, count=4)],
        reason="RollingOut",
        message="waiting for rollout: 0 of 2 updated replicas available",
    ),
    "quota blocks pod creation (event)": Case(
        deployment(conditions=[UNAVAILABLE, PROGRESSING]),
        events=[new_event("FailedCreate", f"Error creating: {QUOTA}", count=6, minute=4)],
        reason="FailedCreate",
        message=f"replicaset web-5d8f: FailedCreate: Error creating: {QUOTA} (x6)",
    ),
    "quota blocks pod creation (ReplicaFailure)": Case(
        deployment(
            conditions=[
                UNAVAILABLE,
                PROGRESSING,
                cond("ReplicaFailure", reason="FailedCreate", message=QUOTA),
            ],
        ),
        reason="FailedCreate",
        message=f"deployment web: FailedCreate: {QUOTA}",
    ),
    "the most recent warning event wins": Case(
        deployment(conditions=[UNAVAILABLE, PROGRESSING], counts=STARTING),
        [pod("web-1", node="n1"), pod("web-2", node="n1")],
        events=[
            core_event(
                "FailedMount",
                "MountVolume.SetUp failed: mount.nfs: timed out",
                name="web-2",
                minute=5,
            ),
            core_event(
                "FailedMount", "MountVolume.SetUp failed: access denied", name="web-1", minute=3
            ),
            new_event("FailedCreate", "Error creating: old", minute=4),
        ],
        reason="FailedMount",
        message="pod web-2: FailedMount: MountVolume.SetUp failed: mount.nfs: timed out",
    ),
    "events of gone or terminating pods": Case(
        deployment(conditions=[UNAVAILABLE, PROGRESSING], counts=STARTING),
        [
            pod(
                "web-old",
                "Running",
                [container(state=waiting("CrashLoopBackOff", CRASH))],
                node="n1",
                deleting=True,
            )
        ],
        events=[
            core_event("BackOff", "Back-off restarting failed container", name="web-old"),
            core_event("FailedMount", "timed out", name="web-gone"),
        ],
        reason="RollingOut",
        message="waiting for rollout: 0 of 2 updated replicas available",
    ),
}


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_observe_service(case: Case) -> None:
    view = observe_service(case.deployment, case.pods, case.events)
    assert (view.phase, view.reason, view.message) == (case.phase, case.reason, case.message)


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_observe_service_ignores_input_order(case: Case) -> None:
    rng = random.Random(7)
    pods, events = rng.sample(case.pods, len(case.pods)), rng.sample(case.events, len(case.events))
    expected = observe_service(case.deployment, case.pods, case.events)
    assert observe_service(case.deployment, pods, events) == expected


def test_stale_warning_events_are_ignored() -> None:
    dep = deployment(conditions=[UNAVAILABLE, PROGRESSING])
    quota = new_event("FailedCreate", QUOTA, count=2, minute=4)
    assert observe_service(dep, [], [quota], since=at(5)).reason == "RollingOut"
    assert observe_service(dep, [], [quota], since=at(4)).reason == "FailedCreate"


def test_ready_status() -> None:
    dep = deployment(conditions=[AVAILABLE, PROGRESSING], counts=rolled_out(2))
    svc = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"}}
    status = observe_service(dep, [], [], core_service=svc).to_status(None, generation=2, now=at(9))
    assert status.ready == "2/2"
    assert (status.replicas, status.ready_replicas, status.updated_replicas) == (2, 2, 2)
    assert status.available_replicas == 2
    assert status.deployment_ref is not None
    assert status.deployment_ref.name == "web"
    assert status.service_ref is not None
    assert status.service_ref.name == "web"
    assert [(c.type, c.status, c.reason) for c in status.conditions] == [
        ("Available", "True", "MinimumReplicasAvailable"),
        ("Progressing", "False", "RolloutComplete"),
    ]


def _conditions(dep: Obj | None, pods: list[Obj]) -> list[tuple[str, str, str]]:
    return [(c.type, c.status, c.reason) for c in observe_service(dep, pods, []).conditions]


def test_conditions_while_progressing_and_failed() -> None:
    starting = deployment(conditions=[UNAVAILABLE, PROGRESSING], counts=STARTING)
    assert _conditions(starting, [pulling("web-1")]) == [
        ("Available", "False", "MinimumReplicasUnavailable"),
        ("Progressing", "True", "ImagePullBackOff"),
    ]
    assert _conditions(deployment(conditions=[UNAVAILABLE, DEADLINE]), []) == [
        ("Available", "False", "MinimumReplicasUnavailable"),
        ("Progressing", "False", "ProgressDeadlineExceeded"),
    ]
    assert _conditions(None, []) == [
        ("Available", "False", "DeploymentNotCreated"),
        ("Progressing", "True", "DeploymentNotCreated"),
    ]


def test_transition_times_survive_unchanged_conditions() -> None:
    starting = deployment(conditions=[UNAVAILABLE, PROGRESSING], counts=STARTING)
    first = observe_service(starting, [], []).to_status(None, generation=1, now=at(1))
    ready = deployment(conditions=[AVAILABLE, PROGRESSING], counts=rolled_out(2))
    second = observe_service(ready, [], []).to_status(first, generation=1, now=at(2))
    again = observe_service(ready, [], []).to_status(second, generation=2, now=at(3))

    def times(conditions: list[Condition]) -> dict[str, object]:
        return {c.type: c.last_transition_time for c in conditions}

    assert times(first.conditions) == {"Available": at(1), "Progressing": at(1)}
    assert times(second.conditions) == {"Available": at(2), "Progressing": at(2)}
    assert times(again.conditions) == {"Available": at(2), "Progressing": at(2)}
    assert {c.observed_generation for c in again.conditions} == {2}
    assert again.conditions[0].status is ConditionStatus.TRUE
