"""The pure status functions of machines, disks and groups."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from xeem.api.vm import VirtualMachinePhase
from xeem.controllers.machines.disk_status import disk_status
from xeem.controllers.machines.group_status import Member, group_status, is_replaceable
from xeem.controllers.machines.machine_status import machine_status, was_launched
from xeem.providers.base import Failure, MachineObservation, VolumeObservation

pytestmark = pytest.mark.unit

NOW = datetime(2026, 1, 1, tzinfo=UTC)
LATER = datetime(2026, 1, 2, tzinfo=UTC)


def node(ready: bool) -> dict[str, Any]:
    status = "True" if ready else "False"
    return {
        "metadata": {"name": "n1"},
        "status": {"conditions": [{"type": "Ready", "status": status}]},
    }


def conditions(status: Any) -> dict[str, str]:
    return {c.type: c.status.value for c in status.conditions}


def test_machine_goes_provisioning_then_running() -> None:
    launched = MachineObservation(provider_id="kwok://n1", node_name="n1", launched=True)
    waiting = machine_status(None, provider="kwok", observation=launched, node=None,
                             generation=1, now=NOW)  # fmt: skip
    assert waiting.phase == VirtualMachinePhase.PROVISIONING
    assert waiting.reason == "WaitingForNode"
    assert conditions(waiting) == {"Launched": "True", "Registered": "False", "Ready": "False"}
    assert was_launched(waiting)
    running = machine_status(waiting, provider="kwok", observation=launched, node=node(True),
                             generation=1, now=LATER)  # fmt: skip
    assert running.phase == VirtualMachinePhase.RUNNING
    assert (running.provider_id, running.node_name) == ("kwok://n1", "n1")
    assert conditions(running) == {"Launched": "True", "Registered": "True", "Ready": "True"}
    launched_at = {c.type: c.last_transition_time for c in running.conditions}
    assert launched_at["Launched"] == NOW
    assert launched_at["Ready"] == LATER


def test_machine_failure_and_deletion() -> None:
    failed = machine_status(None, provider="kwok", observation=None, node=None,
                            failure=Failure("ProvisioningFailed", "no capacity"),
                            generation=1, now=NOW)  # fmt: skip
    assert (failed.phase, failed.reason, failed.message) == (
        VirtualMachinePhase.FAILED, "ProvisioningFailed", "no capacity"
    )  # fmt: skip
    assert not was_launched(failed)
    deleting = machine_status(failed, provider="kwok", observation=None, node=None,
                              deleting=True, generation=1, now=LATER)  # fmt: skip
    assert deleting.phase == VirtualMachinePhase.DELETING
    assert deleting.conditions == failed.conditions


@pytest.mark.parametrize(
    ("observation", "running", "phase"),
    [
        (None, False, "Pending"),
        (VolumeObservation("c", reason="Pending", message="waiting"), True, "Pending"),
        (VolumeObservation("c", bound=True), False, "Bound"),
        (VolumeObservation("c", bound=True), True, "Attached"),
        (VolumeObservation("c", binds_on_first_use=True, message="first pod"), True, "Attached"),
        (VolumeObservation("c", binds_on_first_use=True), False, "Pending"),
        (VolumeObservation("c", failure=Failure("ClaimLost", "lost")), True, "Failed"),
    ],
)
def test_disk_phases(observation: VolumeObservation | None, running: bool, phase: str) -> None:
    status = disk_status(None, observation=observation, machine="g-0", machine_running=running,
                         generation=1, now=NOW)  # fmt: skip
    assert status.phase.value == phase
    assert conditions(status) == {"Ready": "True" if phase == "Attached" else "False"}


def vm(name: str, phase: str, reason: str = "", message: str = "") -> dict[str, Any]:
    return {"metadata": {"name": name},
            "status": {"phase": phase, "reason": reason, "message": message}}  # fmt: skip


def disk(phase: str, message: str = "") -> dict[str, Any]:
    return {"metadata": {"name": "d"}, "status": {"phase": phase, "message": message}}


def test_group_ready_needs_every_machine_running_with_attached_disks() -> None:
    members = [
        Member("g-0", vm("g-0", "Running"), {"g-0-data": disk("Attached")}),
        Member("g-1", vm("g-1", "Running"), {"g-1-data": disk("Bound", "waiting")}),
    ]
    status = group_status(None, members, generation=3, now=NOW)
    assert (status.phase.value, status.ready, status.replicas) == ("Provisioning", "1/2", 2)
    assert status.message == "1/2 ready; disk g-1-data: waiting"
    members[1] = Member("g-1", vm("g-1", "Running"), {"g-1-data": disk("Attached")})
    ready = group_status(status, members, generation=3, now=LATER)
    assert (ready.phase.value, ready.ready_replicas, ready.ready) == ("Ready", 2, "2/2")
    assert conditions(ready) == {"Ready": "True", "ReplicaFailure": "False"}
    assert ready.observed_generation == 3


def test_group_pending_failed_and_lost_machines() -> None:
    pending = group_status(None, [Member("g-0", None, {})], generation=1, now=NOW)
    assert pending.phase.value == "Pending"
    failed = group_status(
        None,
        [Member("g-0", vm("g-0", "Failed", "ProvisioningFailed", "no capacity"), {})],
        generation=1,
        now=NOW,
    )
    assert (failed.phase.value, failed.reason) == ("Failed", "ProvisioningFailed")
    assert failed.message == "machine g-0: no capacity"
    assert conditions(failed) == {"Ready": "False", "ReplicaFailure": "True"}
    lost = vm("g-0", "Failed", "MachineLost", "gone")
    assert is_replaceable(lost)
    replacing = group_status(None, [Member("g-0", lost, {})], generation=1, now=NOW)
    assert replacing.phase.value == "Provisioning"
    conflict = group_status(None, [Member("g-0", None, {})], problems=[("ChildConflict", "taken")],
                            generation=1, now=NOW)  # fmt: skip
    assert (conflict.phase.value, conflict.message) == ("Failed", "taken")
