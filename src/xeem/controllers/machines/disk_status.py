"""A BlockStorage's status from its volume and its machine (pure).

Contract: a volume failure gives ``Failed``; deletion ``Released``; a volume that is bound
(or binds on first use, WaitForFirstConsumer) on a Running machine is ``Attached`` with
condition ``Ready=True``; a bound volume whose machine is not Running yet is ``Bound``;
anything else is ``Pending`` with the volume's reason and message.
"""

from __future__ import annotations

from datetime import datetime

from xeem.api.blockstorage import BlockStoragePhase, BlockStorageStatus
from xeem.providers.base import VolumeObservation
from xeem.status.conditions import condition, stamp_conditions, true_if

READY = "Ready"


def disk_status(
    previous: BlockStorageStatus | None,
    *,
    observation: VolumeObservation | None,
    machine: str,
    machine_running: bool,
    deleting: bool = False,
    generation: int | None,
    now: datetime,
) -> BlockStorageStatus:
    """The status to write (see the module contract)."""
    before = previous or BlockStorageStatus()
    claim = observation.claim_name if observation else before.claim_name
    if deleting:
        phase, reason, message = BlockStoragePhase.RELEASED, "Releasing", "releasing the volume"
    elif observation is None:
        phase, reason, message = BlockStoragePhase.PENDING, "Creating", "creating the volume"
    elif observation.failure is not None:
        phase = BlockStoragePhase.FAILED
        reason, message = observation.failure.reason, observation.failure.message
    elif machine_running and (observation.bound or observation.binds_on_first_use):
        phase, reason = BlockStoragePhase.ATTACHED, "Attached"
        message = f"ready on machine {machine}" + (
            "" if observation.bound else f" ({observation.message})"
        )
    elif observation.bound:
        phase, reason = BlockStoragePhase.BOUND, "WaitingForMachine"
        message = f"bound; waiting for machine {machine} to be Running"
    else:
        phase, reason, message = (
            BlockStoragePhase.PENDING,
            observation.reason or "Pending",
            observation.message or "waiting for the volume",
        )
    ready = condition(READY, true_if(phase == BlockStoragePhase.ATTACHED), reason, message)
    return BlockStorageStatus(
        phase=phase,
        reason=reason,
        message=message,
        claim_name=claim,
        observed_generation=generation,
        conditions=stamp_conditions([ready], before.conditions, now=now, generation=generation),
    )
