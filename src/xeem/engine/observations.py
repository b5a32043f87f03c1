"""What the controller observed, as the engine's input.

Contract: ``NodeObservation`` is given for every node that has a child (its Task or
Service phase: Running, Ready, Succeeded, Failed or Error) and, with ``child=False``, for
a node xeem marked ``Error`` earlier without creating a child (render, API or VM failure:
the controller copies it from ``status.nodes``). Nodes absent from the mapping have no
child. ``XvmgObservation`` describes an existing VirtualMachineGroup of the workflow.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from xeem.api.phases import NodePhase


@dataclass(frozen=True, slots=True)
class NodeObservation:
    """The observed phase of a node's child (or an Error recorded without one)."""

    phase: NodePhase
    message: str = ""
    started_at: datetime | None = None
    finished_at: datetime | None = None
    child: bool = True


@dataclass(frozen=True, slots=True)
class XvmgObservation:
    """The observed state of a VirtualMachineGroup."""

    ready: bool
    failed: bool = False
    message: str = ""
    size: int = 0
