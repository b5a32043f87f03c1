"""Which changes of a child wake its workflow, and how a just-created child is observed."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from xeem.api.phases import NodePhase
from xeem.controllers.kinds import TASK, XSERVICE
from xeem.controllers.workflow_children import observe_children, workflow_sees_change

pytestmark = pytest.mark.unit

CREATED = "2026-12-04T10:00:00Z"


def child(kind: str = "Task", **status: Any) -> dict[str, Any]:
    return {
        "apiVersion": "xeem.io/v1alpha1",
        "kind": kind,
        "metadata": {
            "name": "wf-train",
            "namespace": "ml",
            "creationTimestamp": CREATED,
            "labels": {"xeem.io/node": "train"},
            "ownerReferences": [{"uid": "wf-uid", "controller": True}],
        },
        "status": status,
    }


def changed(old: dict[str, Any], new: dict[str, Any], resource: Any = TASK) -> bool:
    return workflow_sees_change(resource)(old, new)


def test_pod_counts_and_start_time_do_not_wake_the_workflow() -> None:
    old = child(phase="Pending", reason="PodsPending", message="waiting", active=0)
    new = child(phase="Pending", reason="PodsPending", message="waiting", active=1)
    new["status"]["startedAt"] = "2026-12-04T10:00:03Z"
    assert not changed(old, new)


def test_normal_progress_does_not_wake_the_workflow() -> None:
    old = child(phase="Pending", reason="PodsPending", message="waiting for the pods")
    new = child(phase="Running", reason="Running", message="")
    assert not changed(old, new)


@pytest.mark.parametrize(
    "new_status",
    [
        {"phase": "Succeeded", "reason": "CompletionsReached"},
        {"phase": "Failed", "reason": "BackoffLimitExceeded", "message": "exit code 3"},
        {"phase": "Pending", "reason": "ImagePullBackOff", "message": "cannot pull busybox"},
        {"phase": "Running", "reason": "Running", "finishedAt": "2026-12-04T10:01:00Z"},
    ],
)
def test_phase_blocking_message_and_finish_wake_the_workflow(new_status: dict[str, Any]) -> None:
    assert changed(child(phase="Running", reason="Running"), child(**new_status))


def test_node_label_owner_and_deletion_wake_the_workflow() -> None:
    old = child(phase="Running", reason="Running")
    for edit in (
        lambda m: m["labels"].update({"xeem.io/node": "other"}),
        lambda m: m.update(ownerReferences=[]),
        lambda m: m.update(deletionTimestamp="2026-12-04T10:02:00Z"),
    ):
        new = copy.deepcopy(old)
        edit(new["metadata"])
        assert changed(old, new)


def test_service_phases_are_read_as_service_phases() -> None:
    progressing = child("Service", phase="Progressing", reason="RollingOut")
    ready = child("Service", phase="Ready", reason="Available")
    assert changed(progressing, ready, XSERVICE)
    assert not changed(progressing, child("Service", phase="Progressing"), XSERVICE)


def test_a_just_created_child_is_observed_as_it_will_be_once_it_has_a_status() -> None:
    """The workflow writes its status once per node start: the view of the created object
    equals the view of the same child after its controller reported it pending."""
    created = observe_children([child()], [], None)["train"]
    pending = child(phase="Pending", reason="PodsPending", message="waiting")
    pending["status"]["startedAt"] = "2026-12-04T10:00:01Z"
    assert observe_children([pending], [], None)["train"] == created
    assert created.phase is NodePhase.RUNNING
    assert created.started_at is not None
    assert created.started_at.isoformat().startswith("2026-12-04T10:00:00")
