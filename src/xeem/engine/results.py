"""What one engine step decides.

Contract: ``StepResult`` is a pure value: the children to create (``start``, fully
rendered), the groups to create and to delete, the phase of every node in spec order, and
the workflow's phase, message and progress. Applying it is the controller's job; applying
it twice is harmless because every name in it is deterministic.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from xeem.api.inputs import InputValue
from xeem.api.phases import NodePhase, WorkflowPhase
from xeem.api.workflow import ChildRef, NodeStatus
from xeem.api.xvmg import XvmgTemplate

ChildKind = Literal["Task", "Service"]


@dataclass(frozen=True, slots=True)
class NodeStart:
    """A child to create for a node whose dependencies (and machines) are ready.

    Exactly one of ``job`` (kind Task) and ``deployment`` (kind Service) is set, rendered;
    ``service`` is the optional core Service ``{ports}`` of a deployment.
    """

    node: str
    kind: ChildKind
    name: str
    labels: dict[str, str]
    annotations: dict[str, str]
    inputs: dict[str, InputValue]
    job: dict[str, Any] | None = None
    deployment: dict[str, Any] | None = None
    service: dict[str, Any] | None = None
    xvmg: str | None = None


@dataclass(frozen=True, slots=True)
class XvmgCreate:
    """A VirtualMachineGroup to create, named ``<workflow>-<template>``."""

    name: str
    template: XvmgTemplate


@dataclass(slots=True)
class NodeState:
    """The phase of one node after the step: ``status.nodes[]`` in engine form.

    ``child`` is the name of the node's Task or Service once it has one. (Not frozen:
    a step builds one per node, and frozen dataclasses are slower to construct.)
    """

    name: str
    phase: NodePhase
    message: str
    kind: ChildKind
    child: str | None = None
    xvmg: str | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None

    def to_status(self) -> NodeStatus:
        """The API form of this state."""
        return NodeStatus(
            name=self.name,
            phase=self.phase,
            message=self.message,
            started_at=self.started_at,
            finished_at=self.finished_at,
            child_ref=ChildRef(kind=self.kind, name=self.child) if self.child else None,
            xvmg=self.xvmg,
        )


@dataclass(frozen=True, slots=True)
class StepResult:
    """The decisions of one step."""

    phase: WorkflowPhase
    message: str
    progress: str = ""
    nodes: list[NodeState] = field(default_factory=list)
    start: list[NodeStart] = field(default_factory=list)
    create_xvmgs: list[XvmgCreate] = field(default_factory=list)
    release_xvmgs: list[str] = field(default_factory=list)
    exit_error: str | None = None
