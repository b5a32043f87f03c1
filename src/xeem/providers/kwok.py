"""The ``kwok`` provider: one fake Node per machine, made Ready by KWOK.

Contract: the Node of machine ``ref`` is named ``node_name(ref)`` (deterministic, unique per
VirtualMachine UID, at most 63 characters), annotated ``kwok.x-k8s.io/node: fake`` so KWOK
manages it, labelled and tainted for its group (``xeem.providers.nodes``), with capacity and
allocatable from the type (cpu, memory, ``nvidia.com/gpu``). Type parameters:

- ``provisioningDelaySeconds``: the Node is created that long after the VirtualMachine was;
- ``failProvisioning: "true"``: the machine fails with reason ``ProvisioningFailed`` and the
  message ``failMessage`` (or a default naming the parameter).

Disks are PVCs (``PvcVolumes``).
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable

from xeem.providers.base import (
    MACHINE_UID_LABEL,
    PROVIDER_LABEL,
    Failure,
    Machine,
    MachineObservation,
    ObjectRef,
    VolumeProvider,
)
from xeem.providers.nodes import group_taint, machine_labels
from xeem.providers.objects import fresh_get, ref_of, tag
from xeem.runtime.client import Client
from xeem.runtime.kube import AlreadyExistsError, InvalidError
from xeem.runtime.resource import NODE, Obj, ResourceType

NAME = "kwok"
FAKE_NODE_ANNOTATION = "kwok.x-k8s.io/node"
GPU_RESOURCE = "nvidia.com/gpu"
MAX_PODS = "110"
DELAY_PARAMETER = "provisioningDelaySeconds"
FAIL_PARAMETER = "failProvisioning"
FAIL_MESSAGE_PARAMETER = "failMessage"
PROVISIONING_FAILED = "ProvisioningFailed"
INVALID_PARAMETERS = "InvalidParameters"
NODE_NAME_MAX = 63


def node_name(ref: ObjectRef) -> str:
    """``xvm-<namespace>-<name>`` cut to fit, plus 8 hex digits of the UID's hash."""
    suffix = hashlib.sha256(ref.key.encode()).hexdigest()[:8]
    head = f"xvm-{ref.namespace}-{ref.name}"[: NODE_NAME_MAX - len(suffix) - 1].rstrip("-.")
    return f"{head}-{suffix}"


def render_node(machine: Machine) -> Obj:
    """The Node object of ``machine``."""
    name = node_name(machine.ref)
    resources = {"cpu": str(machine.type.cpu), "memory": str(machine.type.memory), "pods": MAX_PODS}
    if machine.type.gpu:
        resources[GPU_RESOURCE] = str(machine.type.gpu)
    metadata = tag(machine.ref, NAME, MACHINE_UID_LABEL)
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": name,
            "labels": {
                **metadata["labels"],
                **machine_labels(machine),
                "kubernetes.io/hostname": name,
                "kubernetes.io/os": "linux",
                "kubernetes.io/arch": "amd64",
                "type": "kwok",
            },
            "annotations": {**metadata["annotations"], FAKE_NODE_ANNOTATION: "fake"},
        },
        "spec": {"taints": [group_taint(machine.group)], "providerID": provider_id(name)},
        "status": {"capacity": resources, "allocatable": dict(resources)},
    }


def provider_id(name: str) -> str:
    return f"kwok://{name}"


def _observed(node: Obj) -> MachineObservation:
    name = node["metadata"]["name"]
    return MachineObservation(provider_id=provider_id(name), node_name=name, launched=True)


class KwokProvider:
    """Machines as KWOK-managed fake Nodes (local development and tests)."""

    name = NAME
    watched: ResourceType | None = None

    def __init__(
        self, client: Client, volumes: VolumeProvider, now: Callable[[], float] = time.time
    ) -> None:
        self.volumes = volumes
        self._client = client
        self._now = now

    async def observe(self, ref: ObjectRef) -> MachineObservation | None:
        node = await fresh_get(self._client, NODE, node_name(ref))
        return None if node is None else _observed(node)

    async def create(self, machine: Machine) -> MachineObservation:
        params = machine.type.parameters
        if params.get(FAIL_PARAMETER, "").lower() == "true":
            message = params.get(FAIL_MESSAGE_PARAMETER) or (
                f"kwok: provisioning failed (failure injected by {FAIL_PARAMETER} "
                f"of VirtualMachineType {machine.type_name})"
            )
            return MachineObservation(failure=Failure(PROVISIONING_FAILED, message))
        try:
            delay = float(params.get(DELAY_PARAMETER, "0"))
        except ValueError:
            return MachineObservation(
                failure=Failure(INVALID_PARAMETERS, f"kwok: {DELAY_PARAMETER} is not a number")
            )
        remaining = machine.created_at + delay - self._now()
        if remaining > 0:
            return MachineObservation(
                reason="ProvisioningDelay",
                message=f"kwok: the node is created {delay:g}s after the machine",
                retry_after=remaining,
            )
        return await self._create_node(render_node(machine))

    async def _create_node(self, node: Obj) -> MachineObservation:
        try:
            return _observed(await self._client.create(NODE, node))
        except AlreadyExistsError:
            return _observed(await self._client.get(NODE, node["metadata"]["name"], live=True))
        except InvalidError as error:
            return MachineObservation(
                failure=Failure(PROVISIONING_FAILED, f"kwok: node rejected: {error.message}")
            )

    async def delete(self, ref: ObjectRef) -> bool:
        """Delete the Node; True once it is gone (a later call after the delete event)."""
        return await self._client.delete(NODE, node_name(ref), ignore_not_found=True) is None

    async def list(self) -> list[ObjectRef]:
        nodes = await self._client.list(NODE, label_selector={PROVIDER_LABEL: NAME})
        return [ref for ref in (ref_of(n, MACHINE_UID_LABEL) for n in nodes) if ref is not None]
