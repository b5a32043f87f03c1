"""A VirtualMachineGroup's status from its machines and disks (pure).

Contract: a machine is ready when it is Running and every disk it should have is
Attached. The group is ``Failed`` when a machine or disk failed to provision (a lost
machine is replaced instead, so it does not count) or the reconciler reports a problem
(``problems``: (reason, message), e.g. a child's name is taken); the reason
and message are the first failure's, the message naming the machine or disk. Otherwise
``Ready`` when every wanted machine is ready, ``Pending`` while none exists yet, else
``Provisioning`` with the first not-ready machine's (or disk's) message.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from xeem.api.blockstorage import BlockStoragePhase
from xeem.api.vm import VirtualMachinePhase, VirtualMachineReason
from xeem.api.vmgroup import (
    VirtualMachineGroupConditionType,
    VirtualMachineGroupPhase,
    VirtualMachineGroupStatus,
)
from xeem.runtime.resource import Obj, meta
from xeem.status.conditions import condition, stamp_conditions, true_if

Phase = VirtualMachineGroupPhase


@dataclass(frozen=True, slots=True)
class Member:
    """One wanted machine: its name, the object (None until it exists) and its disks by
    name (None for a disk that does not exist yet)."""

    name: str
    machine: Obj | None
    disks: Mapping[str, Obj | None]


def _status(obj: Obj | None) -> tuple[str, str, str]:
    raw = (obj or {}).get("status") or {}
    return str(raw.get("phase") or ""), str(raw.get("reason") or ""), str(raw.get("message") or "")


def is_replaceable(machine: Obj) -> bool:
    """A machine its group deletes and makes again: lost after launch, not deleting yet."""
    phase, reason, _ = _status(machine)
    return (
        phase == VirtualMachinePhase.FAILED
        and reason == VirtualMachineReason.MACHINE_LOST
        and not meta(machine).get("deletionTimestamp")
    )


def _failure(member: Member) -> tuple[str, str] | None:
    phase, reason, message = _status(member.machine)
    machine = member.machine
    if machine is not None and phase == VirtualMachinePhase.FAILED and not is_replaceable(machine):
        return reason, f"machine {member.name}: {message}"
    for disk_name, disk in member.disks.items():
        phase, reason, message = _status(disk)
        if phase == BlockStoragePhase.FAILED:
            return reason, f"disk {disk_name}: {message}"
    return None


def _waiting(member: Member) -> str | None:
    """Why ``member`` is not ready, None when it is."""
    phase, _, message = _status(member.machine)
    if member.machine is None or phase != VirtualMachinePhase.RUNNING:
        return f"machine {member.name}: {message or 'creating'}"
    for disk_name, disk in member.disks.items():
        phase, _, message = _status(disk)
        if phase != BlockStoragePhase.ATTACHED:
            return f"disk {disk_name}: {message or 'creating'}"
    return None


def group_status(
    previous: VirtualMachineGroupStatus | None,
    members: Sequence[Member],
    *,
    problems: Sequence[tuple[str, str]] = (),
    generation: int | None,
    now: datetime,
) -> VirtualMachineGroupStatus:
    """The status to write (see the module contract)."""
    wanted = len(members)
    existing = [m for m in members if m.machine is not None]
    waiting = [w for w in map(_waiting, members) if w is not None]
    ready = wanted - len(waiting)
    failures = [f for f in map(_failure, members) if f is not None]
    failures += problems
    if failures:
        phase, (reason, message) = Phase.FAILED, failures[0]
    elif not waiting:
        phase, reason, message = Phase.READY, "AllReplicasReady", f"{ready}/{wanted} ready"
    else:
        phase = Phase.PROVISIONING if existing else Phase.PENDING
        reason, message = phase.value, f"{ready}/{wanted} ready; {waiting[0]}"
    conditions = [
        condition(
            VirtualMachineGroupConditionType.READY,
            true_if(phase == Phase.READY),
            "AllReplicasReady" if phase == Phase.READY else reason,
            message,
        ),
        condition(
            VirtualMachineGroupConditionType.REPLICA_FAILURE,
            true_if(bool(failures)),
            failures[0][0] if failures else "NoFailure",
            failures[0][1] if failures else "no machine or disk failed",
        ),
    ]
    before = previous.conditions if previous else []
    return VirtualMachineGroupStatus(
        phase=phase,
        reason=reason,
        message=message,
        replicas=sum(1 for m in existing if not meta(m.machine or {}).get("deletionTimestamp")),
        ready_replicas=ready,
        ready=f"{ready}/{wanted}",
        observed_generation=generation,
        conditions=stamp_conditions(conditions, before, now=now, generation=generation),
    )
