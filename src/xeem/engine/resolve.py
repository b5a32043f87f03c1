"""Input validation and resolution (DESIGN §3).

Contract: ``resolve_inputs`` checks every input (one of value/valueFrom, one value type,
unique names, no two names with the same ``XEEM_INPUT_`` env var, workflow inputs static)
and resolves every inputRef transitively: a ref names an input declared by an ancestor
(or by the workflow when nodeName is empty) and takes that input's resolved value. Nodes
are visited in topological order, so each ref is one lookup in an already-resolved
ancestor (memoised transitive resolution); an ancestor check prunes by topological
position. Nodes outside the order (on or after a cycle) only get existence checks. An
input whose target is itself unresolvable is dropped without a second problem. A node's
effective inputs are the workflow's overlaid with its own.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from xeem.api.inputs import Input, InputRef, InputValue
from xeem.api.workflow import WorkflowSpec
from xeem.engine.graph import is_ancestor
from xeem.engine.naming import input_env_name
from xeem.engine.problems import Problem

_ONE_OF = "exactly one of value or valueFrom must be set"


@dataclass(slots=True)
class ResolvedInputs:
    """Resolved values: the workflow's, and per node its effective inputs."""

    workflow: dict[str, InputValue]
    nodes: list[dict[str, InputValue]]
    problems: list[Problem]


class _Resolver:
    """One resolution pass; problems are collected, paths built only when one is found."""

    def __init__(
        self,
        spec: WorkflowSpec,
        index: dict[str, int],
        deps: Sequence[Sequence[int]],
        pos: Sequence[int],
    ) -> None:
        self.spec, self.index, self.deps, self.pos = spec, index, deps, pos
        self.problems: list[Problem] = []
        self.env_names: dict[str, str] = {}
        self.own: list[dict[str, InputValue] | None] = [None] * len(spec.nodes)
        self.workflow: dict[str, InputValue] = {}
        self.workflow_env: dict[str, str] = {}

    def report(self, base: str, name: str, field: str, message: str) -> None:
        self.problems.append(Problem(f"{base}[{name}]{field}", message))

    def checked(self, inputs: list[Input], base: str) -> list[Input]:
        """The well-formed inputs with a first-seen name; reports the others and clashes."""
        out: list[Input] = []
        seen: dict[str, str] = {}  # env name -> input name, of this list
        for inp in inputs:
            name = inp.name
            env = self.env_names.get(name)
            if env is None:
                env = self.env_names[name] = input_env_name(name)
            other = seen.get(env) or self.workflow_env.get(env)
            if other == name and env in seen:
                self.report(base, name, ".name", "duplicate input name")
                continue
            if other is not None and other != name:
                self.report(base, name, ".name", f"inputs {other} and {name} both become env {env}")
            seen.setdefault(env, name)
            value = inp.value
            if (value is None) == (inp.value_from is None):
                self.report(base, name, "", _ONE_OF)
            elif value is not None and _count(value) != 1:
                got = ", ".join(value.set_fields()) or "none"
                message = f"exactly one of string, integer, bool or xMount must be set (got {got})"
                self.report(base, name, ".value", message)
            else:
                out.append(inp)
        return out

    def resolve_workflow(self) -> None:
        base = "spec.inputs"
        for inp in self.checked(self.spec.inputs, base):
            if inp.value is None:
                message = "workflow inputs take a value, not valueFrom"
                self.report(base, inp.name, ".valueFrom", message)
                continue
            self.workflow[inp.name] = inp.value
        self.workflow_env = {self.env_names[name]: name for name in self.workflow}

    def resolve_node(self, i: int) -> dict[str, InputValue]:
        """Resolve node ``i``'s own inputs (kept for its descendants); its effective inputs."""
        node = self.spec.nodes[i]
        base = f"spec.nodes[{node.name}].inputs"
        mine: dict[str, InputValue] = {}
        for inp in self.checked(node.inputs, base):
            if inp.value is not None:
                mine[inp.name] = inp.value
                continue
            assert inp.value_from is not None
            value = self.follow(i, inp.value_from.input_ref, base, inp.name)
            if value is not None:
                mine[inp.name] = value
        if self.pos[i] >= 0:
            self.own[i] = mine
        return {**self.workflow, **mine} if self.workflow else mine

    def follow(self, i: int, ref: InputRef, base: str, name: str) -> InputValue | None:
        """The value an inputRef points at, or None (with a problem when it is invalid)."""
        target, input_name = ref.node_name, ref.input_name
        field = ".valueFrom.inputRef"
        if not target:
            if input_name not in self.workflow and all(
                x.name != input_name for x in self.spec.inputs
            ):
                self.report(base, name, field, f"the workflow has no input {input_name}")
            return self.workflow.get(input_name)
        p = self.index.get(target)
        if p is None:
            self.report(base, name, field, f"nodeName {target} names no node")
            return None
        ordered = self.pos[i] >= 0
        if ordered and (p == i or not is_ancestor(self.deps, self.pos, p, i)):
            message = f"node {target} is not an ancestor of node {self.spec.nodes[i].name}"
            self.report(base, name, field, message)
            return None
        resolved = self.own[p] if ordered else None
        if resolved is not None and input_name in resolved:
            return resolved[input_name]
        if all(x.name != input_name for x in self.spec.nodes[p].inputs):
            self.report(base, name, field, f"node {target} has no input {input_name}")
        return None


def _count(value: InputValue) -> int:
    return (
        (value.string is not None)
        + (value.integer is not None)
        + (value.bool is not None)
        + (value.x_mount is not None)
    )


def resolve_inputs(
    spec: WorkflowSpec,
    index: dict[str, int],
    deps: Sequence[Sequence[int]],
    order: Sequence[int],
) -> ResolvedInputs:
    """Check and resolve all inputs; ``order`` is the topological order (maybe partial)."""
    n = len(spec.nodes)
    pos = [-1] * n
    for k, i in enumerate(order):
        pos[i] = k
    r = _Resolver(spec, index, deps, pos)
    r.resolve_workflow()
    effective: list[dict[str, InputValue]] = [{}] * n
    for i in order:
        effective[i] = r.resolve_node(i)
    for i in range(n):
        if pos[i] < 0:
            effective[i] = r.resolve_node(i)
    return ResolvedInputs(r.workflow, effective, r.problems)
