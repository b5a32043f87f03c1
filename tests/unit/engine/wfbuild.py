"""Builders of workflow specs and a simulator that drives a compiled workflow to its end.

The simulator plays the controller and the cluster: it applies every decision of a step
(children become Running, groups are created not ready, released groups vanish) and then
lets one event happen (a group becomes ready, a running child finishes with the outcome
the test chose). It asserts the engine's safety rules on every step: a node starts only
when each dependency is Succeeded, Skipped or Ready, never twice, and never after a
failure under failFast; a group is never created twice.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from xeem.api.inputs import Input
from xeem.api.phases import SATISFYING, SETTLED, NodePhase, WorkflowPhase
from xeem.api.workflow import Node, WorkflowSpec
from xeem.api.xvmg import XvmgTemplate
from xeem.engine import (
    CompiledWorkflow,
    NodeObservation,
    StepResult,
    XvmgObservation,
    compile_workflow,
)

WF = "wf"


def container(image: str = "busybox", **fields: Any) -> dict[str, Any]:
    return {"name": "main", "image": image, **fields}


def job(*containers: dict[str, Any], **spec: Any) -> dict[str, Any]:
    return {
        "job": {**spec, "template": {"spec": {"containers": list(containers) or [container()]}}}
    }


def deployment(*containers: dict[str, Any], ports: Iterable[int] = ()) -> dict[str, Any]:
    out: dict[str, Any] = {
        "deployment": {"template": {"spec": {"containers": list(containers) or [container()]}}}
    }
    if ports:
        out["service"] = {"ports": [{"port": p} for p in ports]}
    return out


def static(name: str, **value: Any) -> Input:
    return Input.model_validate({"name": name, "value": value})


def ref(name: str, input_name: str, node: str | None = None) -> Input:
    return Input.model_validate(
        {"name": name, "valueFrom": {"inputRef": {"nodeName": node, "inputName": input_name}}}
    )


def node(
    name: str,
    *depends: str,
    inputs: Iterable[Input] = (),
    workload: dict[str, Any] | None = None,
    xvmg: str | None = None,
    annotations: Mapping[str, str] | None = None,
) -> Node:
    return Node(
        name=name,
        depends=list(depends),
        inputs=list(inputs),
        workload_template=workload or job(),
        xvmg_template_name=xvmg,
        annotations=dict(annotations or {}),
    )


def service(name: str, *depends: str, **kw: Any) -> Node:
    return node(name, *depends, workload=deployment(ports=[80]), **kw)


def pool(name: str = "gpu", size: int = 2) -> XvmgTemplate:
    return XvmgTemplate.model_validate(
        {"name": name, "minSize": size, "maxSize": size, "template": {"type": "gpu-8x"}}
    )


def spec(*nodes: Node, **fields: Any) -> WorkflowSpec:
    return WorkflowSpec(nodes=list(nodes), **fields)


def compile_ok(s: WorkflowSpec, **kw: Any) -> CompiledWorkflow:
    compiled = compile_workflow(s, workflow_name=WF, namespace="ns", **kw)
    assert compiled.problems == [], compiled.problems
    return compiled


def phases(result: StepResult) -> dict[str, NodePhase]:
    return {n.name: n.phase for n in result.nodes}


@dataclass
class Sim:
    """Drives ``compiled`` with chosen outcomes (default Succeeded; Ready for Services)."""

    compiled: CompiledWorkflow
    outcomes: Mapping[str, NodePhase] = field(default_factory=dict)
    rng: random.Random | None = None
    observed: dict[str, NodeObservation] = field(default_factory=dict)
    xvmgs: dict[str, XvmgObservation] = field(default_factory=dict)
    started: list[str] = field(default_factory=list)
    created: list[str] = field(default_factory=list)
    released: list[str] = field(default_factory=list)
    results: list[StepResult] = field(default_factory=list)

    def step(self) -> StepResult:
        result = self.compiled.step(self.observed, self.xvmgs)
        failing = any(
            o.phase in (NodePhase.FAILED, NodePhase.ERROR) for o in self.observed.values()
        )
        if self.compiled.spec.fail_fast and failing:
            assert result.start == [], "failFast started a node after a failure"
        skipped = set(self.compiled.spec.skipped_nodes)
        by_name = {n.name: n for n in self.compiled.spec.nodes}
        for s in result.start:
            assert s.node not in self.observed, f"{s.node} started twice"
            for dep in by_name[s.node].depends:
                seen = self.observed.get(dep)
                ok = dep in skipped if seen is None else seen.phase in SATISFYING
                assert ok, f"{s.node} started before its dependency {dep} was satisfied"
            self.observed[s.node] = NodeObservation(NodePhase.RUNNING, "running")
            self.started.append(s.node)
        for c in result.create_xvmgs:
            assert c.name not in self.xvmgs, f"group {c.name} created twice"
            self.xvmgs[c.name] = XvmgObservation(ready=False, message="provisioning")
            self.created.append(c.name)
        for name in result.release_xvmgs:
            del self.xvmgs[name]
            self.released.append(name)
        self.results.append(result)
        return result

    def events(self) -> list[tuple[str, str]]:
        """Things that can happen next: a group gets ready, a running child finishes."""
        out = [("xvmg", g) for g, o in self.xvmgs.items() if not o.ready and not o.failed]
        out += [("node", n) for n, o in self.observed.items() if o.phase is NodePhase.RUNNING]
        return out

    def happen(self, kind: str, name: str) -> None:
        if kind == "xvmg":
            self.xvmgs[name] = XvmgObservation(ready=True, size=2)
            return
        spec_node = next(n for n in self.compiled.spec.nodes if n.name == name)
        default = NodePhase.READY if spec_node.workload_template.deployment else NodePhase.SUCCEEDED
        outcome = self.outcomes.get(name, default)
        self.observed[name] = NodeObservation(outcome, f"{name} {outcome}")

    def advance(self) -> bool:
        events = self.events()
        if not events:
            return False
        kind, name = self.rng.choice(events) if self.rng else events[0]
        self.happen(kind, name)
        return True

    def run(self, limit: int = 10_000) -> StepResult:
        result = self.step()
        for _ in range(limit):
            if not self.advance():
                break
            result = self.step()
        assert not self.events()
        return result


def settled(result: StepResult) -> bool:
    return all(n.phase in SETTLED for n in result.nodes) and result.phase in (
        WorkflowPhase.SUCCEEDED,
        WorkflowPhase.FAILED,
        WorkflowPhase.ERROR,
    )
