"""Static checks of the nodes' workload templates (DESIGN §2, §3).

Contract: ``check_workloads`` gives each node's child kind (Task when it has a job, else
Service) and reports, node by node in spec order, with paths under
``spec.nodes[<node>].workloadTemplate``, a template that is not exactly one of job or
deployment, a service without a deployment, a pod template without a non-empty
``spec.containers`` list of objects, and every ``$(inputs.<name>)`` in image, command, args,
workingDir or env values that names none of the node's inputs. Containers are named
``[<container name>]`` in paths. Everything else is left to the apiserver.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

from xeem.api.workflow import Node
from xeem.engine.problems import Problem
from xeem.engine.render import CONTAINER_LISTS
from xeem.engine.results import ChildKind
from xeem.engine.substitute import references

_TEXT_FIELDS = ("image", "workingDir", "command", "args")


class _References(dict[str, list[str]]):
    """``references`` of each text, computed once: nodes made from one template repeat
    the same commands and env values, and a lookup is far cheaper than the scan."""

    def __missing__(self, text: str) -> list[str]:
        refs = self[text] = references(text)
        return refs


def check_workloads(
    nodes: Sequence[Node], own: Sequence[Collection[str]], shared: Collection[str]
) -> tuple[list[ChildKind], list[Problem]]:
    """(each node's child kind, every problem of the nodes' workload templates).

    Node i's inputs are named in ``own[i]`` and ``shared`` (the workflow's).
    """
    kinds: list[ChildKind] = []
    problems: list[Problem] = []
    refs = _References()
    for node, names in zip(nodes, own, strict=True):
        wt = node.workload_template
        job, deployment = wt.job, wt.deployment
        kinds.append("Task" if job is not None else "Service")
        if (job is None) == (deployment is None):
            base = f"spec.nodes[{node.name}].workloadTemplate"
            problems.append(Problem(base, "exactly one of job or deployment must be set"))
            continue
        if wt.service is not None and deployment is None:
            base = f"spec.nodes[{node.name}].workloadTemplate"
            problems.append(Problem(f"{base}.service", "service requires deployment"))
        body = job if job is not None else deployment
        template = body.get("template") if body is not None else None
        pod = template.get("spec") if type(template) is dict else None
        if (
            type(pod) is not dict
            or type(pod.get("containers")) is not list
            or not pod["containers"]
        ):
            where = f"{_pod_path(node)}.containers"
            problems.append(Problem(where, "a non-empty list is required"))
            continue
        for list_name in CONTAINER_LISTS:
            items = pod.get(list_name)
            if not items:
                continue
            if type(items) is not list:
                problems.append(Problem(f"{_pod_path(node)}.{list_name}", "must be a list"))
                continue
            for k, container in enumerate(items):
                if type(container) is not dict:
                    where = f"{_pod_path(node)}.{list_name}[{k}]"
                    problems.append(Problem(where, "must be an object"))
                    continue
                for field, ref in _unknown_refs(container, names, shared, refs):
                    cpath = f"{_pod_path(node)}.{list_name}[{container.get('name', k)}]"
                    message = f"$(inputs.{ref}) names no input of node {node.name}"
                    problems.append(Problem(f"{cpath}.{field}", message))
    return kinds, problems


def _pod_path(node: Node) -> str:
    """The path of ``node``'s pod spec (built only when a problem is found)."""
    kind = "job" if node.workload_template.job is not None else "deployment"
    return f"spec.nodes[{node.name}].workloadTemplate.{kind}.template.spec"


def _unknown_refs(
    container: dict[str, Any], own: Collection[str], shared: Collection[str], refs: _References
) -> list[tuple[str, str]]:
    """(field, name) of every ``$(inputs.<name>)`` naming no input, in field order.

    Plain loops and a substring test before the memo: this runs for every container of
    every node at each compilation.
    """
    out: list[tuple[str, str]] = []
    for key in _TEXT_FIELDS:
        value = container.get(key)
        if value is None:
            continue
        for text in [value] if type(value) is str else value if type(value) is list else ():
            if type(text) is str and "$(inputs." in text:
                for ref in refs[text]:
                    if ref not in own and ref not in shared:
                        out.append((key, ref))
    env = container.get("env")
    if type(env) is list:
        for var in env:
            text = var.get("value") if type(var) is dict else None
            if type(text) is str and "$(inputs." in text:
                for ref in refs[text]:
                    if ref not in own and ref not in shared:
                        out.append((f"env[{var.get('name')}].value", ref))
    return out
