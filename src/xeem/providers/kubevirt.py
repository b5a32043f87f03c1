"""The ``kubevirt`` provider: a kubevirt.io/v1 VirtualMachine per machine.

Contract: the KubeVirt VirtualMachine of xeem machine ``ns/name`` is ``ns/name``, controlled
by it and labelled with its UID; ``spec.instancetype`` names the VirtualMachineType (or the
``instancetype`` parameter; kind ``instancetypeKind``, default
VirtualMachineClusterInstancetype); ``runStrategy: Always``; one DataVolume template for the
root disk (``<name>-root``, ``rootVolumeSizeGB``, default 10 GiB, imported from the
``image`` parameter when set, else blank) and one per xbs (``<name>-<xbs>``, blank), every
disk attached over virtio. The machine is launched when the KubeVirt VM's ``Ready``
condition is True; a ``printableStatus`` of ``FAILED_STATUSES`` is a provisioning failure.
Its disks are the PVCs CDI makes for the DataVolumes (``DataVolumeVolumes``), named like
the BlockStorages ``<machine>-<xbs>``. The guest is expected to join the cluster as a Node
labelled ``xeem.io/machine-uid=<uid>`` (its Registered and Ready conditions).
"""

from __future__ import annotations

from typing import Any

from xeem.api.blockstorage import disk_name
from xeem.providers.base import (
    MACHINE_UID_LABEL,
    PROVIDER_LABEL,
    XVMG_LABEL,
    Failure,
    Machine,
    MachineObservation,
    ObjectRef,
    Volume,
    VolumeObservation,
    VolumeProvider,
)
from xeem.providers.objects import fresh_get, gib, owned_by, ref_of, tag
from xeem.providers.pvc import ClaimObserver
from xeem.runtime.client import Client
from xeem.runtime.kube import AlreadyExistsError, InvalidError
from xeem.runtime.resource import Obj, ResourceType

NAME = "kubevirt"
KUBEVIRT_VM = ResourceType("kubevirt.io", "v1", "virtualmachines", "VirtualMachine")
DEFAULT_ROOT_GB = 10
DEFAULT_INSTANCETYPE_KIND = "VirtualMachineClusterInstancetype"
FAILED_STATUSES = frozenset(
    {"ErrorUnschedulable", "ErrImagePull", "ImagePullBackOff", "ErrorPvcNotFound",
     "ErrorDataVolumeNotFound", "DataVolumeError", "CrashLoopBackOff"}
)  # fmt: skip
XVM_KIND = "VirtualMachine"


def _data_volume(name: str, size_gb: int, storage_class: str | None, source: Obj) -> Obj:
    storage: Obj = {"resources": {"requests": {"storage": gib(size_gb)}}}
    if storage_class:
        storage["storageClassName"] = storage_class
    return {"metadata": {"name": name}, "spec": {"source": source, "storage": storage}}


def render_vm(machine: Machine) -> Obj:
    """The kubevirt.io/v1 VirtualMachine of ``machine``."""
    params = machine.type.parameters
    name = machine.ref.name
    image = params.get("image")
    root_source: Obj = {"registry": {"url": f"docker://{image}"}} if image else {"blank": {}}
    templates = [
        _data_volume(
            f"{name}-root",
            machine.root_volume_size_gb or DEFAULT_ROOT_GB,
            params.get("dataVolumeStorageClassName"),
            root_source,
        ),
        *(
            _data_volume(disk_name(name, x.name), x.size_gb, x.storage_class_name, {"blank": {}})
            for x in machine.xbses
        ),
    ]
    disks = [t["metadata"]["name"] for t in templates]
    metadata = tag(machine.ref, NAME, MACHINE_UID_LABEL)
    labels = {**metadata["labels"], XVMG_LABEL: machine.group}
    return {
        "apiVersion": KUBEVIRT_VM.api_version,
        "kind": KUBEVIRT_VM.kind,
        "metadata": {
            "name": name,
            "namespace": machine.ref.namespace,
            "labels": labels,
            "annotations": metadata["annotations"],
            "ownerReferences": [owned_by(XVM_KIND, machine.ref)],
        },
        "spec": {
            "runStrategy": "Always",
            "instancetype": {
                "name": params.get("instancetype", machine.type_name),
                "kind": params.get("instancetypeKind", DEFAULT_INSTANCETYPE_KIND),
            },
            "dataVolumeTemplates": templates,
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "domain": {
                        "devices": {
                            "disks": [{"name": d, "disk": {"bus": "virtio"}} for d in disks]
                        }
                    },
                    "volumes": [{"name": d, "dataVolume": {"name": d}} for d in disks],
                },
            },
        },
    }


def observation(vm: Obj) -> MachineObservation:
    """What a KubeVirt VirtualMachine's status says about the machine."""
    status = vm.get("status") or {}
    printable = str(status.get("printableStatus") or "Provisioning")
    ready: dict[str, Any] = next(
        (c for c in status.get("conditions") or () if c.get("type") == "Ready"), {}
    )
    detail = str(ready.get("message") or ready.get("reason") or "")
    message = f"kubevirt: {printable}" + (f": {detail}" if detail else "")
    m = vm["metadata"]
    provider_id = f"kubevirt://{m['namespace']}/{m['name']}"
    if printable in FAILED_STATUSES:
        return MachineObservation(
            provider_id=provider_id, failure=Failure("ProvisioningFailed", message)
        )
    return MachineObservation(
        provider_id=provider_id,
        launched=ready.get("status") == "True",
        reason=printable,
        message=message,
    )


class DataVolumeVolumes(ClaimObserver):
    """Disks rendered into the KubeVirt VM: nothing to create or delete here, only the PVC
    that CDI makes for the DataVolume to observe. It is released with the machine (the
    machine's finalizer waits for the KubeVirt VM, which owns its DataVolumes)."""

    async def create(self, volume: Volume) -> VolumeObservation:
        return VolumeObservation(
            volume.ref.name,
            reason="DataVolume",
            message=f"kubevirt: the disk is a DataVolume of the machine ({volume.ref.name})",
        )

    async def delete(self, ref: ObjectRef) -> bool:
        """Nothing to release here: the DataVolume goes with its machine."""
        return True

    async def list(self) -> list[ObjectRef]:
        """Nothing of its own: the DataVolumes are released with their machine."""
        return []


class KubevirtProvider:
    """Machines as KubeVirt VirtualMachines."""

    name = NAME
    watched: ResourceType | None = KUBEVIRT_VM

    def __init__(self, client: Client) -> None:
        self.volumes: VolumeProvider = DataVolumeVolumes(client)
        self._client = client

    async def observe(self, ref: ObjectRef) -> MachineObservation | None:
        vm = await fresh_get(self._client, KUBEVIRT_VM, ref.name, ref.namespace)
        if vm is None:
            return None
        if not _ours(vm, ref):
            return MachineObservation(
                reason="NameTaken",
                message=f"kubevirt: VirtualMachine {ref.name} belongs to an earlier machine; "
                "waiting for it to go",
                retry_after=2.0,
            )
        return observation(vm)

    async def create(self, machine: Machine) -> MachineObservation:
        try:
            vm = await self._client.create(KUBEVIRT_VM, render_vm(machine))
        except AlreadyExistsError:
            return await self.observe(machine.ref) or MachineObservation(retry_after=1.0)
        except InvalidError as error:
            return MachineObservation(
                failure=Failure("ProvisioningFailed", f"kubevirt: rejected: {error.message}")
            )
        return observation(vm)

    async def delete(self, ref: ObjectRef) -> bool:
        """Delete the KubeVirt VM; True once it is gone (a later call after the event)."""
        vm = await fresh_get(self._client, KUBEVIRT_VM, ref.name, ref.namespace)
        if vm is None or not _ours(vm, ref):
            return True
        answer = await self._client.delete(
            KUBEVIRT_VM,
            ref.name,
            ref.namespace,
            preconditions={"uid": vm["metadata"]["uid"]},
            ignore_not_found=True,
        )
        return answer is None

    async def list(self) -> list[ObjectRef]:
        vms = await self._client.list(KUBEVIRT_VM, label_selector={PROVIDER_LABEL: NAME})
        return [ref for ref in (ref_of(v, MACHINE_UID_LABEL) for v in vms) if ref is not None]


def _ours(vm: Obj, ref: ObjectRef) -> bool:
    return (vm["metadata"].get("labels") or {}).get(MACHINE_UID_LABEL) == ref.key
