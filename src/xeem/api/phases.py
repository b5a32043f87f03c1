"""Display phases of workflows and their nodes (DESIGN §4).

Contract: the sets below are the only places that say which phases are terminal, settled
or satisfy a dependency; the engine uses nothing else.
"""

from __future__ import annotations

from enum import StrEnum


class NodePhase(StrEnum):
    """Phase of one workflow node."""

    PENDING = "Pending"
    WAITING_FOR_VMS = "WaitingForVMs"
    RUNNING = "Running"
    READY = "Ready"
    SUCCEEDED = "Succeeded"
    FAILED = "Failed"
    ERROR = "Error"
    SKIPPED = "Skipped"
    OMITTED = "Omitted"


class WorkflowPhase(StrEnum):
    """Phase of a workflow."""

    PENDING = "Pending"
    RUNNING = "Running"
    SUCCEEDED = "Succeeded"
    FAILED = "Failed"
    ERROR = "Error"


TERMINAL: frozenset[NodePhase] = frozenset(
    {NodePhase.SUCCEEDED, NodePhase.FAILED, NodePhase.ERROR, NodePhase.SKIPPED, NodePhase.OMITTED}
)
"""A node in one of these phases never changes again."""

SETTLED: frozenset[NodePhase] = TERMINAL | {NodePhase.READY}
"""Terminal or a Ready Service: the workflow finishes when every node is settled."""

SATISFYING: frozenset[NodePhase] = frozenset(
    {NodePhase.SUCCEEDED, NodePhase.SKIPPED, NodePhase.READY}
)
"""A dependency in one of these phases lets its dependents start."""

UNSUCCESSFUL: frozenset[NodePhase] = frozenset(
    {NodePhase.FAILED, NodePhase.ERROR, NodePhase.OMITTED}
)
"""A dependency in one of these phases makes its dependents Omitted."""
