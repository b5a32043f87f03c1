"""Input validation and resolution (DESIGN §3).

Contract: ``resolve_inputs`` checks every input (one of value/valueFrom, one value type,
unique names, no two names with the same ``XEEM_INPUT_`` env var, workflow inputs static)
and resolves every inputRef transitively: a ref names an input declared by an ancestor
(or by the workflow when nodeName is empty) and takes that input's resolved value. Nodes
are visited in topological order, so each ref is one lookup in an already-resolved
ancestor (memoised transitive resolution); an ancestor check prunes by topological
position. Nodes outside the order (on or after a cycle) only get existence checks. An
input whose target is itself unresolvable is dropped without a second problem. A node's
effective inputs are the workflow's overlaid with its own; ``EffectiveInputs`` merges them
when asked (only the nodes that start need them). Problems are listed workflow
inputs first, then per node in topological order, then the unordered nodes by index,
whatever order the nodes are walked in (see ``graph.walk_order``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import overload

from xeem.api.inputs import Input, InputValue, ValueFrom
from xeem.api.workflow import WorkflowSpec
from xeem.engine.graph import is_ancestor
from xeem.engine.naming import input_env_name
from xeem.engine.problems import Problem

_ONE_OF = "exactly one of value or valueFrom must be set"
_REF = ".valueFrom.inputRef"


class EffectiveInputs(Sequence[Mapping[str, InputValue]]):
    """Per node, the workflow's inputs overlaid with the node's own, merged on access."""

    __slots__ = ("_own", "_workflow")

    def __init__(self, own: list[dict[str, InputValue]], workflow: dict[str, InputValue]):
        self._own, self._workflow = own, workflow

    def __len__(self) -> int:
        return len(self._own)

    @overload
    def __getitem__(self, i: int) -> Mapping[str, InputValue]: ...
    @overload
    def __getitem__(self, i: slice) -> Sequence[Mapping[str, InputValue]]: ...
    def __getitem__(
        self, i: int | slice
    ) -> Mapping[str, InputValue] | Sequence[Mapping[str, InputValue]]:
        if isinstance(i, slice):
            return [self[k] for k in range(*i.indices(len(self)))]
        own = self._own[i]
        return {**self._workflow, **own} if self._workflow else own


@dataclass(slots=True)
class ResolvedInputs:
    """Resolved values: the workflow's, and per node its own (``{}`` when it has none)."""

    workflow: dict[str, InputValue]
    own: list[dict[str, InputValue]]
    problems: list[Problem]


class _EnvNames(dict[str, str]):
    """``input_env_name`` of each input name, computed on first use (names repeat)."""

    def __missing__(self, name: str) -> str:
        env = self[name] = input_env_name(name)
        return env


class _Resolver:
    """One resolution pass; problems are collected, paths built only when one is found.

    ``node`` is the index of the node being resolved (-1 for the workflow's inputs); each
    problem is recorded with it, so the report can be put in order at the end.
    """

    def __init__(
        self,
        spec: WorkflowSpec,
        index: dict[str, int],
        deps: Sequence[Sequence[int]],
        pos: Sequence[int],
    ) -> None:
        self.spec, self.index, self.deps, self.pos = spec, index, deps, pos
        self.problems: list[tuple[int, Problem]] = []
        self.node = -1
        self.env_names = _EnvNames()
        self.own: list[dict[str, InputValue] | None] = [None] * len(spec.nodes)
        self.workflow: dict[str, InputValue] = {}
        self.workflow_env: dict[str, str] = {}

    def report(self, name: str, field: str, message: str) -> None:
        """A problem of input ``name`` of the current node (or of the workflow)."""
        i = self.node
        base = "spec.inputs" if i < 0 else f"spec.nodes[{self.spec.nodes[i].name}].inputs"
        self.problems.append((i, Problem(f"{base}[{name}]{field}", message)))

    def sorted_problems(self) -> list[Problem]:
        """The problems: workflow first, then by topological place, then unordered nodes."""
        pos, n = self.pos, len(self.pos)

        def key(item: tuple[int, Problem]) -> int:
            i = item[0]
            return -1 if i < 0 else pos[i] if pos[i] >= 0 else n + i

        return [p for _, p in sorted(self.problems, key=key)]

    def checked(self, inputs: list[Input]) -> list[tuple[str, InputValue | None, ValueFrom | None]]:
        """(name, value, valueFrom) of the well-formed inputs with a first-seen name.

        Reports the others and name clashes.
        """
        out: list[tuple[str, InputValue | None, ValueFrom | None]] = []
        seen: dict[str, str] = {}  # env name -> input name, of this list
        env_names, workflow_env = self.env_names, self.workflow_env
        for inp in inputs:
            name = inp.name
            env = env_names[name]
            other = seen.get(env)
            if other is None:
                seen[env] = name
                other = workflow_env.get(env)
                if other is not None and other != name:
                    self.clash(other, name, env)
            elif other == name:
                self.report(name, ".name", "duplicate input name")
                continue
            else:
                self.clash(other, name, env)
            value, value_from = inp.value, inp.value_from
            if (value is None) == (value_from is None):
                self.report(name, "", _ONE_OF)
            elif value is None or (
                (value.string is not None)
                + (value.integer is not None)
                + (value.bool is not None)
                + (value.x_mount is not None)
                == 1
            ):
                out.append((name, value, value_from))
            else:
                got = ", ".join(value.set_fields()) or "none"
                message = f"exactly one of string, integer, bool or xMount must be set (got {got})"
                self.report(name, ".value", message)
        return out

    def clash(self, other: str, name: str, env: str) -> None:
        self.report(name, ".name", f"inputs {other} and {name} both become env {env}")

    def resolve_workflow(self) -> None:
        for name, value, _ in self.checked(self.spec.inputs):
            if value is None:
                self.report(name, ".valueFrom", "workflow inputs take a value, not valueFrom")
                continue
            self.workflow[name] = value
        self.workflow_env = {self.env_names[name]: name for name in self.workflow}

    def resolve_node(self, i: int) -> dict[str, InputValue]:
        """Node ``i``'s own inputs, resolved (kept for its descendants when it is ordered)."""
        self.node = i
        mine: dict[str, InputValue] = {}
        for name, value, value_from in self.checked(self.spec.nodes[i].inputs):
            if value is None:
                assert value_from is not None
                value = self.follow(i, name, value_from)
                if value is None:
                    continue
            mine[name] = value
        if self.pos[i] >= 0:
            self.own[i] = mine
        return mine

    def follow(self, i: int, name: str, value_from: ValueFrom) -> InputValue | None:
        """The value input ``name``'s ref points at, or None (with a problem when invalid)."""
        ref = value_from.input_ref
        target, input_name = ref.node_name, ref.input_name
        if not target:
            value = self.workflow.get(input_name)
            if value is None and all(x.name != input_name for x in self.spec.inputs):
                self.report(name, _REF, f"the workflow has no input {input_name}")
            return value
        p = self.index.get(target)
        if p is None:
            self.report(name, _REF, f"nodeName {target} names no node")
            return None
        value = None
        if self.pos[i] >= 0:  # else only check that the input exists
            if p == i or (p not in self.deps[i] and not is_ancestor(self.deps, self.pos, p, i)):
                message = f"node {target} is not an ancestor of node {self.spec.nodes[i].name}"
                self.report(name, _REF, message)
                return None
            resolved = self.own[p]
            assert resolved is not None  # an ancestor of an ordered node is ordered
            value = resolved.get(input_name)
        if value is None and all(x.name != input_name for x in self.spec.nodes[p].inputs):
            self.report(name, _REF, f"node {target} has no input {input_name}")
        return value


def resolve_inputs(
    spec: WorkflowSpec,
    index: dict[str, int],
    deps: Sequence[Sequence[int]],
    pos: Sequence[int],
    walk: Sequence[int],
) -> ResolvedInputs:
    """Check and resolve all inputs.

    ``pos`` is each node's place in the topological order (-1 when outside it: on or after
    a cycle), ``walk`` the ordered nodes in the order to visit them (``graph.walk_order``).
    """
    n = len(spec.nodes)
    r = _Resolver(spec, index, deps, pos)
    r.resolve_workflow()
    own: list[dict[str, InputValue]] = [{}] * n
    for i in walk:
        own[i] = r.resolve_node(i)
    for i in range(n):
        if pos[i] < 0:
            own[i] = r.resolve_node(i)
    return ResolvedInputs(r.workflow, own, r.sorted_problems())
