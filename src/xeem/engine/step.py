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
        self.wf, self.xvmgs = wf, xvmgs
        self.phase = [NodePhase.PENDING] * n
        self.eff = [NodePhase.PENDING] * n  # the phase dependents see (differs when skipped)
        self.msg = [""] * n
        self.obs: list[NodeObservation | None] = list(map(observed.get, wf.names))
        self.states: list[NodeState | None] = [None] * n  # observed nodes' are set by _walk
        self.unobserved: list[int] = []
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
            "start": [s for _, s in sorted(self.starts, key=self._position)],
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

    def _position(self, start: tuple[int, NodeStart]) -> int:
        """Where a start's node is in the topological order (starts are listed in it)."""
        return self.wf.pos[start[0]]

    def _observed_stop(self) -> str | None:
        """The failFast message when an observed node already failed, else None."""
        if not self.wf.spec.fail_fast:
            return None
        for name, ob in zip(self.wf.names, self.obs, strict=True):
            if ob is not None and ob.phase in _FAILING:
                return f"failFast: node {name} is {ob.phase}"
        return None

    def _walk(self, stop: str | None) -> None:
        """Decide every node in ``wf.walk`` order (a topological one); ``stop`` is failFast's."""
        wf, phase, eff, msg, obs = self.wf, self.phase, self.eff, self.msg, self.obs
        deps, skipped, waiting_messages = wf.deps, wf.skipped, wf.waiting_messages
        names, kinds, child_names, xvmgs = wf.names, wf.kinds, wf.child_names, wf.node_xvmg
        states, unobserved = self.states, self.unobserved
        for i in wf.walk:
            ob = obs[i]
            if ob is not None:  # final: its state is made here, in the same pass
                p = phase[i] = eff[i] = ob.phase
                m = msg[i] = ob.message
                if len(m) > MAX_MESSAGE:
                    m = _capped(m)
                child = child_names[i] if ob.child else None
                started_at, finished_at = ob.started_at, ob.finished_at
                states[i] = NodeState(
                    names[i], p, m, kinds[i], child, xvmgs[i], started_at, finished_at
                )
                continue
            unobserved.append(i)
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
                msg[i] = waiting_messages[waiting]
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
        for i in self.unobserved:
            if self.phase[i] in _NOT_STARTED:
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
        """Every node's state: the unobserved nodes' are made now that they are decided."""
        wf, phase, msg, states = self.wf, self.phase, self.msg, self.states
        names, kinds, child_names, xvmgs = wf.names, wf.kinds, wf.child_names, wf.node_xvmg
        started = {i for i, _ in self.starts}
        for i in self.unobserved:
            m = msg[i]
            if len(m) > MAX_MESSAGE:
                m = _capped(m)
            child = child_names[i] if i in started else None
            states[i] = NodeState(names[i], phase[i], m, kinds[i], child, xvmgs[i])
        return states  # type: ignore[return-value]  # every slot is filled now

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


def _capped(message: str) -> str:
    """``message`` cut to ``MAX_MESSAGE`` characters, ending in ``...``."""
    return message[: MAX_MESSAGE - 3] + "..."


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
