"""A VirtualMachine's status from what its provider and its Node say (pure).

Contract: ``machine_status`` is a function of its arguments only. A failure gives phase
``Failed`` with its reason and message; deletion gives ``Deleting``; otherwise the phase is
``Running`` when the Node is Ready and ``Provisioning`` before. The status ``reason`` and
``message`` are those of the first condition that is not True (Launched, Registered, Ready).
While deleting, the conditions are left as they were.
``providerID`` and ``nodeName`` are kept once known.
"""

from __future__ import annotations

from datetime import datetime

from xeem.api.base import Condition, ConditionStatus
from xeem.api.vm import (
    VirtualMachineConditionType,
    VirtualMachinePhase,
    VirtualMachineStatus,
)
from xeem.providers.base import Failure, MachineObservation
from xeem.providers.nodes import node_ready
from xeem.runtime.resource import Obj, name_of
from xeem.status.conditions import condition, stamp_conditions, true_if

C = VirtualMachineConditionType


def was_launched(previous: VirtualMachineStatus | None) -> bool:
    """Whether the provider had launched the machine (so its absence means it was lost)."""
    return previous is not None and any(
        c.type == C.LAUNCHED and c.status == ConditionStatus.TRUE for c in previous.conditions
    )


def _conditions(
    provider: str, observation: MachineObservation, node: Obj | None
) -> list[Condition]:
    launched = condition(
        C.LAUNCHED,
        true_if(observation.launched),
        "Launched" if observation.launched else observation.reason or "Provisioning",
        observation.message or f"{provider}: {'launched' if observation.launched else 'creating'}",
    )
    if node is None:
        waiting = "no Node has registered for the machine yet"
        return [
            launched,
            condition(C.REGISTERED, ConditionStatus.FALSE, "WaitingForNode", waiting),
            condition(C.READY, ConditionStatus.FALSE, "WaitingForNode", waiting),
        ]
    name = name_of(node)
    ready, detail = node_ready(node)
    return [
        launched,
        condition(C.REGISTERED, ConditionStatus.TRUE, "NodeRegistered", f"node {name} exists"),
        condition(
            C.READY,
            true_if(ready),
            "NodeReady" if ready else "NodeNotReady",
            f"node {name} is Ready" if ready else f"node {name} is not Ready: {detail}",
        ),
    ]


def machine_status(
    previous: VirtualMachineStatus | None,
    *,
    provider: str,
    observation: MachineObservation | None,
    node: Obj | None,
    failure: Failure | None = None,
    deleting: bool = False,
    generation: int | None,
    now: datetime,
) -> VirtualMachineStatus:
    """The status to write (see the module contract)."""
    before = previous or VirtualMachineStatus()
    observation = observation or MachineObservation()
    failure = failure or observation.failure
    conditions = _conditions(provider, observation, node)
    provider_id = observation.provider_id or before.provider_id
    node_name = name_of(node) if node is not None else observation.node_name or before.node_name
    if failure is not None:
        phase, reason, message = VirtualMachinePhase.FAILED, failure.reason, failure.message
        conditions = [
            c if c.status == ConditionStatus.TRUE or c.type != C.LAUNCHED else
            condition(C.LAUNCHED, ConditionStatus.FALSE, failure.reason, failure.message)
            for c in conditions
        ]  # fmt: skip
    elif deleting:
        phase, reason = VirtualMachinePhase.DELETING, "Releasing"
        message = f"{provider}: releasing the machine"
        conditions = before.conditions
    else:
        pending = next((c for c in conditions if c.status != ConditionStatus.TRUE), None)
        phase = VirtualMachinePhase.PROVISIONING if pending else VirtualMachinePhase.RUNNING
        reason = pending.reason if pending else "Running"
        message = pending.message if pending else f"node {node_name} is Ready"
    return VirtualMachineStatus(
        phase=phase,
        reason=reason,
        message=message,
        provider=provider,
        provider_id=provider_id,
        node_name=node_name,
        observed_generation=generation,
        conditions=stamp_conditions(conditions, before.conditions, now=now, generation=generation),
    )
