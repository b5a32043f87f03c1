"""A workflow spec compiled for one generation.

Contract: a ``CompiledWorkflow`` is immutable and holds everything ``step`` needs, indexed
by the node's position in ``spec.nodes``: names, child names and kinds, the message of a
node waiting for it, dependency indices (as listed: a repeated name is harmless), a
topological order, each node's place in it and the order ``step`` walks
(``graph.walk_order``), the skip flags, each node's machine group (index and name), and
its resolved effective inputs (the workflow's overlaid with its own, merged when read).
``problems`` is empty exactly when the spec can run. See ``xeem.engine.step`` for the
semantics of ``step``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from xeem.api.inputs import InputValue
from xeem.api.workflow import WorkflowSpec
from xeem.api.xvmg import XvmgTemplate
from xeem.engine.exitexpr import ExitExpression
from xeem.engine.observations import NodeObservation, XvmgObservation
from xeem.engine.problems import Problem
from xeem.engine.resolve import EffectiveInputs
from xeem.engine.results import ChildKind, StepResult
from xeem.engine.step import run_step
from xeem.engine.xmount import XMountRenderer


@dataclass(frozen=True, slots=True)
class Group:
    """A machine group of the workflow and the node indices that name its template."""

    name: str
    template: XvmgTemplate
    users: tuple[int, ...]


@dataclass(frozen=True, slots=True, eq=False)
class CompiledWorkflow:
    """Everything ``step`` needs, computed once per spec generation by compile_workflow."""

    spec: WorkflowSpec
    workflow_name: str
    namespace: str
    labels: Mapping[str, str]
    annotations: Mapping[str, str]
    problems: list[Problem]
    names: list[str]
    index: Mapping[str, int]
    child_names: list[str]
    waiting_messages: list[str]
    kinds: list[ChildKind]
    deps: list[tuple[int, ...]]
    order: list[int]
    walk: Sequence[int]
    pos: list[int]
    skipped: list[bool]
    node_group: list[int]
    node_xvmg: list[str | None]
    groups: list[Group]
    inputs: EffectiveInputs
    workflow_inputs: dict[str, InputValue]
    exit_expression: ExitExpression | None
    xmount: XMountRenderer

    def dependency_children(self, node: str) -> list[str]:
        """Child names (``<workflow>-<dep>``) of the nodes ``node`` depends on."""
        return [self.child_names[d] for d in self.deps[self.index[node]]]

    @property
    def valid(self) -> bool:
        """True when the spec has no problems and can run."""
        return not self.problems

    def step(
        self,
        observed: Mapping[str, NodeObservation],
        xvmgs: Mapping[str, XvmgObservation],
    ) -> StepResult:
        """Decide what to do next given the observed children and machine groups."""
        return run_step(self, observed, xvmgs)
