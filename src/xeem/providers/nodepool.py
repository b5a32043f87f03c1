"""The ``nodepool`` provider: machines are existing Nodes, claimed and released.

Contract: a free Node is one matching the type's ``nodeSelector`` that carries no
``xeem.io/machine-uid`` label, is not being deleted and is schedulable. Claiming it adds the
machine labels and the group taint (``xeem.providers.nodes``) with an update that carries
the Node's resourceVersion: when two machines (of one group or of two) race for a Node,
exactly one update succeeds and the other re-lists and picks again, so a Node is never
claimed twice. Releasing removes exactly those labels and the taint. Reads that decide a
claim are live (never the cache), so a machine never claims a second Node because the
cache had not yet seen its first claim. With no free Node the machine waits (reason
``NoFreeNode``) until a Node is freed or added.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping

import structlog

from xeem.providers.base import (
    MACHINE_UID_LABEL,
    OBJECT_ANNOTATION,
    PROVIDER_LABEL,
    Failure,
    Machine,
    MachineObservation,
    ObjectRef,
    VolumeProvider,
)
from xeem.providers.nodes import MACHINE_LABELS, group_taint, is_group_taint, machine_labels
from xeem.providers.objects import ref_of, tag
from xeem.runtime.client import Client, retry_on_conflict
from xeem.runtime.kube import ConflictError, NotFoundError
from xeem.runtime.resource import NODE, Obj, ResourceType, json_copy, meta

log = structlog.get_logger("xeem.providers.nodepool")

NAME = "nodepool"
NO_FREE_NODE = "NoFreeNode"
CLAIM_ATTEMPTS = 10
CLAIM_LABELS = (*MACHINE_LABELS, PROVIDER_LABEL)


def provider_id(node: Obj) -> str:
    return str((node.get("spec") or {}).get("providerID") or f"nodepool://{meta(node)['name']}")


def _observed(node: Obj) -> MachineObservation:
    return MachineObservation(
        provider_id=provider_id(node), node_name=meta(node)["name"], launched=True
    )


def is_free(node: Obj) -> bool:
    m = meta(node)
    return (
        MACHINE_UID_LABEL not in (m.get("labels") or {})
        and not m.get("deletionTimestamp")
        and not (node.get("spec") or {}).get("unschedulable")
    )


def claimed(node: Obj, machine: Machine) -> Obj:
    """``node`` with ``machine``'s claim: labels, annotation and the group taint."""
    out: Obj = json_copy(node)
    m = out["metadata"]
    provider_tag = tag(machine.ref, NAME, MACHINE_UID_LABEL)
    m["labels"] = {**(m.get("labels") or {}), **provider_tag["labels"], **machine_labels(machine)}
    m["annotations"] = {**(m.get("annotations") or {}), **provider_tag["annotations"]}
    spec = out.setdefault("spec", {})
    spec["taints"] = [t for t in spec.get("taints") or () if not is_group_taint(t)] + [
        group_taint(machine.group)
    ]
    return out


def released(node: Obj) -> Obj:
    """``node`` without any claim."""
    out: Obj = json_copy(node)
    m = out["metadata"]
    m["labels"] = {k: v for k, v in (m.get("labels") or {}).items() if k not in CLAIM_LABELS}
    m["annotations"] = {
        k: v for k, v in (m.get("annotations") or {}).items() if k != OBJECT_ANNOTATION
    }
    spec = out.setdefault("spec", {})
    spec["taints"] = [t for t in spec.get("taints") or () if not is_group_taint(t)]
    return out


class NodePoolProvider:
    """Machines as existing Nodes matching the type's nodeSelector."""

    name = NAME
    watched: ResourceType | None = None

    def __init__(self, client: Client, volumes: VolumeProvider) -> None:
        self.volumes = volumes
        self._client = client

    async def _claimed_by(self, key: str) -> list[Obj]:
        return await self._client.list(NODE, label_selector={MACHINE_UID_LABEL: key}, live=True)

    async def observe(self, ref: ObjectRef) -> MachineObservation | None:
        nodes = await self._claimed_by(ref.key)
        return _observed(nodes[0]) if nodes else None

    async def create(self, machine: Machine) -> MachineObservation:
        selector = machine.type.node_selector
        if not selector:
            return MachineObservation(
                failure=Failure(
                    "InvalidType",
                    f"nodepool: VirtualMachineType {machine.type_name} has no nodeSelector",
                )
            )
        for _ in range(CLAIM_ATTEMPTS):
            candidates = await self._client.list(NODE, label_selector=selector, live=True)
            free = sorted((n for n in candidates if is_free(n)), key=_preference)
            if not free:
                return _no_free_node(selector, len(candidates))
            try:
                node = await self._client.update(NODE, claimed(free[0], machine))
            except (ConflictError, NotFoundError):
                log.debug("node taken meanwhile; picking again", node=meta(free[0])["name"])
                continue
            return _observed(node)
        raise ConflictError(409, "Conflict", "nodepool: every claim attempt conflicted")

    async def delete(self, ref: ObjectRef) -> bool:
        """Release every Node claimed for ``ref``; True when none is left claimed."""
        for node in await self._claimed_by(ref.key):
            name = meta(node)["name"]
            await retry_on_conflict(functools.partial(self._release, name, ref.key))
        return True

    async def _release(self, name: str, key: str) -> None:
        try:
            node = await self._client.get(NODE, name, live=True)
        except NotFoundError:
            return
        if (meta(node).get("labels") or {}).get(MACHINE_UID_LABEL) == key:
            await self._client.update(NODE, released(node))

    async def list(self) -> list[ObjectRef]:
        nodes = await self._client.list(NODE, label_selector={PROVIDER_LABEL: NAME})
        return [ref for ref in (ref_of(n, MACHINE_UID_LABEL) for n in nodes) if ref is not None]


def _preference(node: Obj) -> tuple[bool, str]:
    """Ready nodes first, then by name (deterministic)."""
    conditions = (node.get("status") or {}).get("conditions") or ()
    ready = any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)
    return (not ready, meta(node)["name"])


def _no_free_node(selector: Mapping[str, str], matching: int) -> MachineObservation:
    wanted = ",".join(f"{k}={v}" for k, v in sorted(selector.items()))
    return MachineObservation(
        reason=NO_FREE_NODE,
        message=f"nodepool: no free node among the {matching} matching {wanted}",
    )
