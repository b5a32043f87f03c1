"""Static checks of a node's workload template (DESIGN §2, §3).

Contract: ``check_workload`` reports, with paths under
``spec.nodes[<node>].workloadTemplate``, a template that is not exactly one of job or
deployment, a service without a deployment, a pod template without a non-empty
``spec.containers`` list of objects, and every ``$(inputs.<name>)`` in image, command, args,
workingDir or env values that names none of the node's inputs. Containers are named
``[<container name>]`` in paths. Everything else is left to the apiserver.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from xeem.api.workflow import Node
from xeem.engine.problems import Problem
from xeem.engine.render import CONTAINER_LISTS
from xeem.engine.substitute import references

_TEXT_FIELDS = ("image", "workingDir", "command", "args")


def check_workload(node: Node, inputs: Collection[str]) -> list[Problem]:
    """Every problem of ``node``'s workload template; ``inputs`` are its input names."""
    wt = node.workload_template
    job, deployment = wt.job, wt.deployment
    base = f"spec.nodes[{node.name}].workloadTemplate"
    if (job is None) == (deployment is None):
        return [Problem(base, "exactly one of job or deployment must be set")]
    problems: list[Problem] = []
    if wt.service is not None and deployment is None:
        problems.append(Problem(f"{base}.service", "service requires deployment"))
    body = job if job is not None else deployment
    where = f"{base}.{'job' if job is not None else 'deployment'}.template.spec"
    template = body.get("template") if body is not None else None
    pod = template.get("spec") if type(template) is dict else None
    if type(pod) is not dict or type(pod.get("containers")) is not list or not pod["containers"]:
        problems.append(Problem(f"{where}.containers", "a non-empty list is required"))
        return problems
    for list_name in CONTAINER_LISTS:
        items = pod.get(list_name) or []
        if type(items) is not list:
            problems.append(Problem(f"{where}.{list_name}", "must be a list"))
            continue
        for k, container in enumerate(items):
            if type(container) is not dict:
                problems.append(Problem(f"{where}.{list_name}[{k}]", "must be an object"))
                continue
            for field, ref in _unknown_refs(container, inputs):
                cpath = f"{where}.{list_name}[{container.get('name', k)}]"
                message = f"$(inputs.{ref}) names no input of node {node.name}"
                problems.append(Problem(f"{cpath}.{field}", message))
    return problems


def _unknown_refs(container: dict[str, Any], inputs: Collection[str]) -> list[tuple[str, str]]:
    """(field, name) of every ``$(inputs.<name>)`` naming no input, in field order.

    Plain loops and a substring test before any regex: this runs for every container of
    every node at each compilation.
    """
    out: list[tuple[str, str]] = []
    for key in _TEXT_FIELDS:
        value = container.get(key)
        if type(value) is str:
            value = [value]
        elif type(value) is not list:
            continue
        for text in value:
            if type(text) is str and "$(inputs." in text:
                for ref in references(text):
                    if ref not in inputs:
                        out.append((key, ref))
    env = container.get("env")
    if type(env) is list:
        for var in env:
            text = var.get("value") if type(var) is dict else None
            if type(text) is str and "$(inputs." in text:
                for ref in references(text):
                    if ref not in inputs:
                        out.append((f"env[{var.get('name')}].value", ref))
    return out
