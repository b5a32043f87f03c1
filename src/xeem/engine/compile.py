"""Validation and compilation of a workflow spec (DESIGN §3 "Invalid before anything runs").

Contract: ``compile_workflow`` never raises on a bad spec: it returns a
``CompiledWorkflow`` whose ``problems`` list every problem at once, each with a path
naming the node and field and a plain message. Checked: duplicate node, input and
template names; ``depends`` on an unknown node; cycles (the message names the cycle's
nodes); inputs (see ``resolve``); workload templates and ``$(inputs.x)`` (see
``templates``); unknown ``xvmgTemplateName``; ``minSize != maxSize``; ``skippedNodes``
entries naming no node; an ``exitPhaseExpression`` that does not compile; derived names
(``<workflow>-<node>``, ``<workflow>-<template>``) longer than a label value allows.
Work is O(nodes + edges + input refs times the ancestor search they need).
"""

from __future__ import annotations

from collections.abc import Mapping

from xeem.api.workflow import WorkflowSpec
from xeem.engine import naming
from xeem.engine.compiled import CompiledWorkflow, Group
from xeem.engine.exitexpr import ExitCompileError, ExitExpression
from xeem.engine.graph import positions, topo_order, walk_order
from xeem.engine.problems import Problem
from xeem.engine.resolve import EffectiveInputs, resolve_inputs
from xeem.engine.templates import check_workloads
from xeem.engine.xmount import NfsXMount, XMountRenderer


def compile_workflow(
    spec: WorkflowSpec,
    *,
    workflow_name: str,
    namespace: str = "",
    labels: Mapping[str, str] | None = None,
    annotations: Mapping[str, str] | None = None,
    xmount: XMountRenderer | None = None,
) -> CompiledWorkflow:
    """Validate ``spec`` and precompute everything ``step`` needs.

    ``labels`` and ``annotations`` are the workflow's own (seen by the exit expression);
    ``xmount`` renders xMount inputs (default: nfs).
    """
    problems: list[Problem] = []
    names = _packed([node.name for node in spec.nodes])
    index = _node_index(names, workflow_name, problems)
    deps = _deps(spec, index, problems)
    order, cycles = topo_order(deps)
    walk = walk_order(deps, order)
    pos = positions(order, len(names))
    for cycle in cycles:
        path = " -> ".join(names[i] for i in cycle)
        problems.append(Problem(f"spec.nodes[{names[cycle[0]]}].depends", f"cycle: {path}"))
    skipped = [False] * len(names)
    for name in spec.skipped_nodes:
        if name in index:
            skipped[index[name]] = True
        else:
            problems.append(Problem(f"spec.skippedNodes[{name}]", "names no node"))
    groups, node_group = _groups(spec, workflow_name, problems)
    resolved = resolve_inputs(spec, index, deps, pos, walk)
    problems.extend(resolved.problems)
    kinds, workload_problems = check_workloads(spec.nodes, resolved.own, resolved.workflow)
    problems.extend(workload_problems)
    return CompiledWorkflow(
        spec=spec,
        workflow_name=workflow_name,
        namespace=namespace,
        labels=dict(labels or {}),
        annotations=dict(annotations or {}),
        problems=problems,
        names=names,
        index=index,
        child_names=[naming.child_name(workflow_name, name) for name in names],
        waiting_messages=[f"waiting for {name}" for name in names],
        kinds=kinds,
        deps=deps,
        order=order,
        walk=walk,
        pos=pos,
        skipped=skipped,
        node_group=node_group,
        node_xvmg=[groups[g].name if g >= 0 else None for g in node_group],
        groups=groups,
        inputs=EffectiveInputs(resolved.own, resolved.workflow),
        workflow_inputs=resolved.workflow,
        exit_expression=_exit_expression(spec, problems),
        xmount=xmount or NfsXMount(),
    )


def _packed(names: list[str]) -> list[str]:
    """Equal copies of ``names``, allocated one after another.

    ``step`` reads every name on every call (observation lookups, node states). The parsed
    spec's strings are scattered over its whole heap, so on large specs each read would be
    a cache miss; copies made by one ``split`` sit together. A name containing the
    separator (not a valid name anyway) keeps the originals.
    """
    copies = "\n".join(names).split("\n")
    return copies if len(copies) == len(names) else names


def _node_index(names: list[str], workflow: str, problems: list[Problem]) -> dict[str, int]:
    """Each name's first index; duplicates and too long child names are problems."""
    index = dict(zip(names, range(len(names)), strict=True))
    longest = max(map(len, names), default=0)
    if len(index) == len(names) and len(workflow) + 1 + longest <= naming.MAX_OBJECT_NAME:
        return index
    index = {}
    for i, name in enumerate(names):
        if name in index:
            problems.append(Problem(f"spec.nodes[{name}].name", "duplicate node name"))
            continue
        index[name] = i
        if len(workflow) + 1 + len(name) > naming.MAX_OBJECT_NAME:
            child = naming.child_name(workflow, name)
            problems.append(Problem(f"spec.nodes[{name}].name", _too_long("child name", child)))
    return index


def _deps(
    spec: WorkflowSpec, index: dict[str, int], problems: list[Problem]
) -> list[tuple[int, ...]]:
    """Each node's dependency indices (as listed); unknown names are problems."""
    known = index.__getitem__
    try:
        return [tuple(map(known, node.depends)) for node in spec.nodes]
    except KeyError:
        pass
    deps: list[tuple[int, ...]] = []
    for node in spec.nodes:
        for dep in node.depends:
            if dep not in index:
                problems.append(Problem(f"spec.nodes[{node.name}].depends[{dep}]", "names no node"))
        deps.append(tuple(index[d] for d in node.depends if d in index))
    return deps


def _groups(
    spec: WorkflowSpec, workflow: str, problems: list[Problem]
) -> tuple[list[Group], list[int]]:
    """The machine groups (one per template) and, per node, its group index or -1."""
    by_name: dict[str, int] = {}
    for k, t in enumerate(spec.xvmg_templates):
        where = f"spec.xvmgTemplates[{t.name}]"
        if t.name in by_name:
            problems.append(Problem(f"{where}.name", "duplicate xvmgTemplate name"))
            continue
        by_name[t.name] = k
        if t.min_size != t.max_size:
            problems.append(
                Problem(f"{where}.maxSize", f"minSize ({t.min_size}) must equal maxSize")
            )
        group = naming.group_name(workflow, t.name)
        if len(group) > naming.MAX_OBJECT_NAME:
            problems.append(Problem(f"{where}.name", _too_long("machine group name", group)))
    users: dict[int, list[int]] = {k: [] for k in by_name.values()}
    node_group: list[int] = []
    for i, node in enumerate(spec.nodes):
        name = node.xvmg_template_name
        g = by_name.get(name or "")
        if name and g is None:
            problems.append(
                Problem(f"spec.nodes[{node.name}].xvmgTemplateName", f"no xvmgTemplate {name}")
            )
        if g is not None:
            users[g].append(i)
        node_group.append(-1 if g is None else g)
    groups = [
        Group(naming.group_name(workflow, t.name), t, tuple(users.get(k, ())))
        for k, t in enumerate(spec.xvmg_templates)
    ]
    return groups, node_group


def _exit_expression(spec: WorkflowSpec, problems: list[Problem]) -> ExitExpression | None:
    if not spec.exit_phase_expression:
        return None
    try:
        return ExitExpression(spec.exit_phase_expression)
    except ExitCompileError as exc:
        problems.append(Problem("spec.exitPhaseExpression", f"does not compile: {exc}"))
        return None


def _too_long(what: str, name: str) -> str:
    return f"{what} {name} is {len(name)} characters; at most {naming.MAX_OBJECT_NAME} fit"
