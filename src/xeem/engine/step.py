"""The step function: compiled spec + observations → decisions (DESIGN §4, §6).

Contract: ``run_step`` is pure and deterministic, O(nodes + edges) plus rendering the
nodes it starts. One pass in topological order decides each node:

- an observed child (or recorded Error) gives the phase;
- a dependency that is Failed, Error or Omitted makes the node Omitted;
- a node in ``skippedNodes`` shows Skipped and is transparent: its dependents wait for
  its own dependencies and are Omitted when one of them fails;
- with ``failFast`` and a Failed or Error node anywhere, every node not yet started is
  Omitted (also when the failure is found during this step);
- a node whose dependencies are all Succeeded, Skipped or Ready starts (rendered now),
  unless its machine group is missing (create it; WaitingForVMs), not ready
  (WaitingForVMs) or failed (Error); a render failure is Error too.

A group is released once every node naming it is terminal, and also when no template
names it. When every node is settled the workflow phase is the exit expression's, or
Failed if any node is Failed, Error or Omitted, else Succeeded; before that it is Running
(Pending while every node is Pending). An invalid spec steps to Error and decides nothing.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from xeem.api.phases import SATISFYING, SETTLED, TERMINAL, UNSUCCESSFUL, NodePhase, WorkflowPhase
from xeem.engine import naming
from xeem.engine.observations import NodeObservation, XvmgObservation
from xeem.engine.render import (
    Placement,
    RenderContext,
    RenderError,
    render_deployment_spec,
    render_job_spec,
)
from xeem.engine.results import NodeStart, NodeState, StepResult, XvmgCreate
from xeem.engine.values import cel_value

if TYPE_CHECKING:
    from xeem.engine.compiled import CompiledWorkflow

MAX_MESSAGE = 256
_FAILING = (NodePhase.FAILED, NodePhase.ERROR)
_NOT_STARTED = (NodePhase.PENDING, NodePhase.WAITING_FOR_VMS)
_PROGRESS_ORDER = (NodePhase.RUNNING, NodePhase.WAITING_FOR_VMS, NodePhase.PENDING)


def run_step(
    wf: CompiledWorkflow,
    observed: Mapping[str, NodeObservation],
    xvmgs: Mapping[str, XvmgObservation],
) -> StepResult:
    """Decide what to do next (see the module contract)."""
    if wf.problems:
        more = f" (and {len(wf.problems) - 1} more)" if len(wf.problems) > 1 else ""
        return StepResult(WorkflowPhase.ERROR, f"invalid spec: {wf.problems[0]}{more}")
    return _Step(wf, observed, xvmgs).run()


class _Step:
    """The working state of one step: per-node arrays indexed like ``spec.nodes``."""

    def __init__(
        self,
        wf: CompiledWorkflow,
        observed: Mapping[str, NodeObservation],
        xvmgs: Mapping[str, XvmgObservation],
    ) -> None:
        n = len(wf.names)
        self.wf, self.observed, self.xvmgs = wf, observed, xvmgs
        self.phase = [NodePhase.PENDING] * n
        self.eff = [NodePhase.PENDING] * n  # the phase dependents see (differs when skipped)
        self.msg = [""] * n
        self.obs: list[NodeObservation | None] = [None] * n
        self.starts: list[tuple[int, NodeStart]] = []
        self.errors: list[int] = []
        self.wanted: set[int] = set()

    def run(self) -> StepResult:
        wf = self.wf
        stop = self._observed_stop()
        self._walk(stop)
        if wf.spec.fail_fast and stop is None and self.errors:
            self._stop(f"failFast: node {wf.names[min(self.errors)]} is {NodePhase.ERROR}")
        counts = Counter(self.phase)
        settled = sum(counts[p] for p in SETTLED)
        n = len(self.phase)
        result: dict[str, Any] = {
            "progress": f"{settled}/{n}",
            "nodes": self._states(),
            "start": [s for _, s in self.starts],
            "create_xvmgs": [
                XvmgCreate(wf.groups[g].name, wf.groups[g].template) for g in sorted(self.wanted)
            ],
            "release_xvmgs": self._releases(),
        }
        if settled == n:
            phase, message, exit_error = self._finish()
            return StepResult(phase, message, exit_error=exit_error, **result)
        busy = ", ".join(f"{counts[p]} {p}" for p in _PROGRESS_ORDER if counts[p])
        pending = counts[NodePhase.PENDING] == n
        return StepResult(
            WorkflowPhase.PENDING if pending else WorkflowPhase.RUNNING, busy, **result
        )

    def _observed_stop(self) -> str | None:
        """The failFast message when an observed node already failed, else None."""
        if not self.wf.spec.fail_fast:
            return None
        for name in self.wf.names:
            ob = self.observed.get(name)
            if ob is not None and ob.phase in _FAILING:
                return f"failFast: node {name} is {ob.phase}"
        return None

    def _walk(self, stop: str | None) -> None:
        wf, phase, eff, msg = self.wf, self.phase, self.eff, self.msg
        names, deps, skipped = wf.names, wf.deps, wf.skipped
        for i in wf.order:
            ob = self.observed.get(names[i])
            if ob is not None:
                self.obs[i] = ob
                phase[i] = eff[i] = ob.phase
                msg[i] = ob.message
                continue
            cause = waiting = -1
            for d in deps[i]:
                e = eff[d]
                if e in UNSUCCESSFUL:
                    cause = d
                    break
                if waiting < 0 and e not in SATISFYING:
                    waiting = d
            if skipped[i]:
                phase[i], msg[i] = NodePhase.SKIPPED, "in skippedNodes"
                eff[i] = (
                    NodePhase.OMITTED
                    if cause >= 0
                    else NodePhase.PENDING
                    if waiting >= 0
                    else NodePhase.SKIPPED
                )
            elif cause >= 0:
                phase[i] = eff[i] = NodePhase.OMITTED
                msg[i] = self._omitted_because(cause)
            elif stop is not None:
                phase[i] = eff[i] = NodePhase.OMITTED
                msg[i] = stop
            elif waiting >= 0:
                msg[i] = wf.waiting_messages[waiting]
            else:
                self._ready(i)

    def _omitted_because(self, d: int) -> str:
        name = self.wf.names[d]
        if self.phase[d] is NodePhase.SKIPPED:
            return f"dependency {name} is skipped and its dependencies did not succeed"
        return f"dependency {name} is {self.phase[d]}"

    def _ready(self, i: int) -> None:
        """Node ``i``'s dependencies are met: start it, or wait for or fail on its group."""
        wf = self.wf
        placement = None
        g = wf.node_group[i]
        if g >= 0:
            group = wf.groups[g]
            seen = self.xvmgs.get(group.name)
            if seen is None:
                self.wanted.add(g)
                self._set(i, NodePhase.WAITING_FOR_VMS, f"creating machine group {group.name}")
                return
            if seen.failed:
                self.errors.append(i)
                self._set(i, NodePhase.ERROR, f"machine group {group.name} failed: {seen.message}")
                return
            if not seen.ready:
                message = seen.message or f"waiting for machine group {group.name}"
                self._set(i, NodePhase.WAITING_FOR_VMS, message)
                return
            placement = Placement(group.name, seen.size or group.template.min_size)
        try:
            start = _render(wf, i, placement)
        except RenderError as exc:
            self.errors.append(i)
            self._set(i, NodePhase.ERROR, f"cannot render the workload: {exc}")
            return
        self.starts.append((i, start))
        self._set(i, NodePhase.RUNNING, "starting")

    def _set(self, i: int, phase: NodePhase, message: str) -> None:
        self.phase[i] = self.eff[i] = phase
        self.msg[i] = message

    def _stop(self, message: str) -> None:
        """failFast after a failure found in this step: nothing not yet running starts."""
        for i, _ in self.starts:
            self._set(i, NodePhase.OMITTED, message)
        self.starts, self.wanted = [], set()
        for i, ob in enumerate(self.obs):
            if ob is None and self.phase[i] in _NOT_STARTED:
                self._set(i, NodePhase.OMITTED, message)

    def _releases(self) -> list[str]:
        """Existing groups no node needs any more (or that no template names)."""
        by_name = {g.name: g for g in self.wf.groups}
        out: list[str] = []
        for name in sorted(self.xvmgs):
            group = by_name.get(name)
            if group is None or all(self.phase[u] in TERMINAL for u in group.users):
                out.append(name)
        return out

    def _states(self) -> list[NodeState]:
        wf = self.wf
        started = {i for i, _ in self.starts}
        group_names = [g.name for g in wf.groups]
        states: list[NodeState] = []
        append = states.append
        for i, ob in enumerate(self.obs):
            m = self.msg[i]
            if len(m) > MAX_MESSAGE:
                m = m[: MAX_MESSAGE - 3] + "..."
            g = wf.node_group[i]
            group = group_names[g] if g >= 0 else None
            if ob is None:
                child = wf.child_names[i] if i in started else None
                append(NodeState(wf.names[i], self.phase[i], m, wf.kinds[i], child, group))
                continue
            child = wf.child_names[i] if ob.child else None
            append(
                NodeState(
                    wf.names[i],
                    self.phase[i],
                    m,
                    wf.kinds[i],
                    child,
                    group,
                    ob.started_at,
                    ob.finished_at,
                )
            )
        return states

    def _finish(self) -> tuple[WorkflowPhase, str, str | None]:
        """(phase, message, exit error) once every node is settled."""
        wf, phase, msg = self.wf, self.phase, self.msg
        if wf.exit_expression is not None:
            outcome = wf.exit_expression.evaluate(
                {
                    n: {"phase": str(p), "message": m}
                    for n, p, m in zip(wf.names, phase, msg, strict=True)
                },
                {
                    "name": wf.workflow_name,
                    "namespace": wf.namespace,
                    "labels": dict(wf.labels),
                    "annotations": dict(wf.annotations),
                },
                {k: cel_value(v) for k, v in wf.workflow_inputs.items()},
            )
            text = outcome.error or f"exitPhaseExpression chose {outcome.phase}"
            return outcome.phase, text, outcome.error
        for bad in (_FAILING, (NodePhase.OMITTED,)):
            culprit = next((i for i, p in enumerate(phase) if p in bad), None)
            if culprit is not None:
                name = wf.names[culprit]
                return (
                    WorkflowPhase.FAILED,
                    f"node {name} is {phase[culprit]}: {msg[culprit]}",
                    None,
                )
        return WorkflowPhase.SUCCEEDED, f"all {len(phase)} nodes settled", None


def _render(wf: CompiledWorkflow, i: int, placement: Placement | None) -> NodeStart:
    """The rendered child of node ``i``."""
    node = wf.spec.nodes[i]
    labels = {naming.LABEL_WORKFLOW: wf.workflow_name, naming.LABEL_NODE: node.name}
    context = RenderContext(
        workflow=wf.workflow_name,
        node=node.name,
        xvmg=placement,
        labels=labels,
        annotations=node.annotations,
        xmount=wf.xmount,
    )
    inputs = wf.inputs[i]
    wt = node.workload_template
    common: dict[str, Any] = {
        "node": node.name,
        "kind": wf.kinds[i],
        "name": naming.child_name(wf.workflow_name, node.name),
        "labels": labels,
        "annotations": dict(node.annotations),
        "inputs": dict(inputs),
        "xvmg": placement.group if placement else None,
    }
    if wt.job is not None:
        return NodeStart(job=render_job_spec(wt.job, inputs, context), **common)
    assert wt.deployment is not None
    service = wt.service.model_dump(by_alias=True) if wt.service else None
    deployment = render_deployment_spec(wt.deployment, inputs, context)
    return NodeStart(deployment=deployment, service=service, **common)
