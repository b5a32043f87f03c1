"""Rendering of a pod template (and the Job/Deployment around it) with its inputs.

Contract (DESIGN §3, §6): ``render_pod_template`` returns a new dict and never mutates its
argument; rendering its own output again gives an equal dict (env, volumes and volume
mounts are set by name, the toleration is added once, substituted values are escaped).
Into every container and init container it injects ``XEEM_WORKFLOW``, ``XEEM_NODE``,
``XEEM_XVMG``, ``XEEM_XVMG_SIZE`` (when known) and ``XEEM_INPUT_<NAME>`` per scalar input,
substitutes ``$(inputs.<name>)`` in image, command, args, workingDir and env values, and
mounts every xMount input. With an xvmg it adds ``nodeSelector {xeem.io/xvmg: <group>}``
and a toleration of the taint ``xeem.io/xvmg=<group>:NoSchedule``. Labels and annotations
of the context are merged into the pod metadata (the context wins). A reference to an
unknown input, or a template of the wrong shape, raises ``RenderError``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from xeem.api.inputs import InputValue, XMount
from xeem.engine import naming
from xeem.engine.substitute import UnknownInputError, substitute
from xeem.engine.values import env_text, substitution_text
from xeem.engine.xmount import NfsXMount, XMountRenderer

CONTAINER_LISTS = ("initContainers", "containers")
_PLAIN_FIELDS = ("image", "workingDir")
_EXPANDED_LISTS = ("command", "args")


class RenderError(ValueError):
    """The template cannot be rendered; the message says where and why."""


@dataclass(frozen=True, slots=True)
class Placement:
    """The machine group a workload runs on."""

    group: str
    size: int


@dataclass(frozen=True, slots=True)
class RenderContext:
    """Everything besides the inputs that rendering needs."""

    workflow: str | None = None
    node: str | None = None
    xvmg: Placement | None = None
    labels: Mapping[str, str] = field(default_factory=dict)
    annotations: Mapping[str, str] = field(default_factory=dict)
    xmount: XMountRenderer = field(default_factory=NfsXMount)


def render_pod_template(
    template: Mapping[str, Any], inputs: Mapping[str, InputValue], context: RenderContext
) -> dict[str, Any]:
    """A rendered copy of a core/v1 PodTemplateSpec (see the module contract)."""
    if not isinstance(template, Mapping):
        raise RenderError("template must be an object")
    out: dict[str, Any] = _copy(dict(template))
    meta = _mapping(out, "metadata", "template.metadata")
    if context.labels:
        _mapping(meta, "labels", "template.metadata.labels").update(context.labels)
    if context.annotations:
        _mapping(meta, "annotations", "template.metadata.annotations").update(context.annotations)
    spec = _mapping(out, "spec", "template.spec")
    if context.xvmg is not None:
        _place(spec, context.xvmg.group)
    mounts = {name: v.x_mount for name, v in inputs.items() if v.x_mount is not None}
    if mounts:
        volumes = _list(spec, "volumes", "template.spec.volumes")
        new = [
            {"name": naming.input_volume_name(name), **context.xmount.volume_source(mount)}
            for name, mount in mounts.items()
        ]
        _merge_by_name(volumes, new)
    texts = {name: substitution_text(v) for name, v in inputs.items()}
    env = _xeem_env(inputs, context)
    for list_name in CONTAINER_LISTS:
        if list_name not in spec:
            continue
        for i, container in enumerate(_list(spec, list_name, f"template.spec.{list_name}")):
            where = f"template.spec.{list_name}[{i}]"
            if not isinstance(container, dict):
                raise RenderError(f"{where} must be an object")
            _render_container(container, texts, env, mounts, where)
    if "containers" not in spec:
        raise RenderError("template.spec.containers is required")
    return out


def render_job_spec(
    job: Mapping[str, Any], inputs: Mapping[str, InputValue], context: RenderContext
) -> dict[str, Any]:
    """A rendered copy of a batch/v1 JobSpec (its selector is left to the Job controller)."""
    out = dict(job)
    out["template"] = render_pod_template(job.get("template", {}), inputs, context)
    return out


def render_deployment_spec(
    deployment: Mapping[str, Any], inputs: Mapping[str, InputValue], context: RenderContext
) -> dict[str, Any]:
    """A rendered copy of an apps/v1 DeploymentSpec; its selector matches the context labels."""
    out = dict(deployment)
    out["template"] = render_pod_template(deployment.get("template", {}), inputs, context)
    out["selector"] = {"matchLabels": dict(context.labels)}
    return out


def _xeem_env(inputs: Mapping[str, InputValue], context: RenderContext) -> list[dict[str, str]]:
    """The env vars xeem injects, in a fixed order (values escaped for the kubelet)."""
    pairs: list[tuple[str, str]] = []
    if context.workflow is not None:
        pairs.append((naming.ENV_WORKFLOW, context.workflow))
    if context.node is not None:
        pairs.append((naming.ENV_NODE, context.node))
    if context.xvmg is not None:
        pairs.append((naming.ENV_XVMG, context.xvmg.group))
        pairs.append((naming.ENV_XVMG_SIZE, str(context.xvmg.size)))
    for name, value in inputs.items():
        text = env_text(value)
        if text is not None:
            pairs.append((naming.input_env_name(name), text))
    return [{"name": k, "value": v.replace("$", "$$")} for k, v in pairs]


def _render_container(
    container: dict[str, Any],
    texts: Mapping[str, str],
    env: list[dict[str, str]],
    mounts: Mapping[str, XMount],
    where: str,
) -> None:
    """Substitute, then inject env and volume mounts, in place on a copied container."""
    key = ""
    try:
        for key in _PLAIN_FIELDS:
            if isinstance(container.get(key), str):
                container[key] = substitute(container[key], texts, kubelet_expanded=False)
        for key in _EXPANDED_LISTS:
            if key in container:
                items = _list(container, key, f"{where}.{key}")
                container[key] = [substitute(str(s), texts, kubelet_expanded=True) for s in items]
        key = "env"
        env_list = _list(container, "env", f"{where}.env") if env or "env" in container else []
        for var in env_list:
            if isinstance(var, dict) and isinstance(var.get("value"), str):
                key = f"env[{var.get('name')}]"
                var["value"] = substitute(var["value"], texts, kubelet_expanded=True)
    except UnknownInputError as exc:
        raise RenderError(f"{where}.{key}: $(inputs.{exc.args[0]}) names no input") from None
    _merge_by_name(env_list, [dict(var) for var in env])
    if mounts:
        vm_list = _list(container, "volumeMounts", f"{where}.volumeMounts")
        _merge_by_name(vm_list, [_volume_mount(name, mount) for name, mount in mounts.items()])


def _volume_mount(name: str, mount: XMount) -> dict[str, Any]:
    vm: dict[str, Any] = {
        "name": naming.input_volume_name(name),
        "mountPath": mount.mount_path,
        "readOnly": mount.read_only,
    }
    if mount.sub_path:
        vm["subPath"] = mount.sub_path
    return vm


def _place(spec: dict[str, Any], group: str) -> None:
    _mapping(spec, "nodeSelector", "template.spec.nodeSelector")[naming.LABEL_XVMG] = group
    toleration = {
        "key": naming.LABEL_XVMG,
        "operator": "Equal",
        "value": group,
        "effect": "NoSchedule",
    }
    tolerations = _list(spec, "tolerations", "template.spec.tolerations")
    if toleration not in tolerations:
        tolerations.append(toleration)


def _merge_by_name(items: list[Any], new: list[dict[str, Any]]) -> None:
    """Replace each entry named like one of ``new``, append the others (in order)."""
    where = {e.get("name"): k for k, e in enumerate(items) if isinstance(e, dict)}
    for item in new:
        k = where.get(item["name"])
        if k is None:
            where[item["name"]] = len(items)
            items.append(item)
        else:
            items[k] = item


def _mapping(parent: dict[str, Any], key: str, where: str) -> dict[str, Any]:
    """``parent[key]`` as a dict, created empty when absent or null."""
    val = parent.get(key)
    if val is None:
        val = parent[key] = {}
    if not isinstance(val, dict):
        raise RenderError(f"{where} must be an object")
    return val


def _list(parent: dict[str, Any], key: str, where: str) -> list[Any]:
    """``parent[key]`` as a list, created empty when absent or null."""
    val = parent.get(key)
    if val is None:
        val = parent[key] = []
    if not isinstance(val, list):
        raise RenderError(f"{where} must be a list")
    return val


def _copy(value: Any) -> Any:
    """A deep copy of a JSON-like tree (dicts, lists, scalars); faster than copy.deepcopy."""
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy(v) for v in value]
    return value
