"""The VirtualMachineGroup reconciler: N machines and their disks from one template.

Contract (level-triggered, restart-safe, deterministic names):
- machines ``<group>-<i>`` (i < replicas) and disks ``<group>-<i>-<xbs>`` are created or
  adopted with controller ownerReferences, so deleting the group deletes them (their
  finalizers release the machines and volumes first); a name held by another controller is
  a ``ChildConflict`` failure and the object is left alone;
- a machine lost after launch (``MachineLost``) is deleted and, once gone, made again; its
  disks are kept for the new machine; a machine that failed to provision is kept and makes
  the group ``Failed`` (delete that machine to retry);
- machines and disks beyond the spec are deleted;
- children are read from the shared caches by controller UID, never polled; the status
  is written only when it changed.
"""

from __future__ import annotations

from typing import Any

import structlog
from pydantic import ValidationError

from xeem.api.base import API_VERSION
from xeem.api.blockstorage import disk_name
from xeem.api.vm import VirtualMachine, machine_name
from xeem.api.vmgroup import (
    VirtualMachineGroup,
    VirtualMachineGroupPhase,
    VirtualMachineGroupStatus,
)
from xeem.api.xvmg import VmTemplate
from xeem.controllers.children import (
    ChildConflict,
    child_metadata,
    create_or_adopt,
    inherited_labels,
    is_deleting,
    parse_status,
    utc_now,
    write_status,
)
from xeem.controllers.kinds import BLOCK_STORAGE, VIRTUAL_MACHINE, VIRTUAL_MACHINE_GROUP
from xeem.controllers.machines.group_status import Member, group_status, is_replaceable
from xeem.providers.base import XVMG_LABEL
from xeem.runtime.cache import INDEX_CONTROLLER_UID
from xeem.runtime.client import Client
from xeem.runtime.events import NORMAL, WARNING, EventRecorder
from xeem.runtime.informer import Informer
from xeem.runtime.reconcile import Request, Result
from xeem.runtime.resource import Obj, ResourceType, generation_of, name_of, uid_of

log = structlog.get_logger("xeem.controllers.machines.group")


def _child(group: Obj, kind: str, name: str, spec: dict[str, Any]) -> Obj:
    labels = {**inherited_labels(group), XVMG_LABEL: name_of(group)}
    return {
        "apiVersion": API_VERSION,
        "kind": kind,
        "metadata": child_metadata(group, name, labels, {}),
        "spec": spec,
    }


def desired_machine(group: Obj, template: VmTemplate, index: int) -> Obj:
    """The VirtualMachine ``<group>-<index>``."""
    spec = {
        "type": template.type,
        "group": name_of(group),
        "index": index,
        "xbses": [x.model_dump(by_alias=True, exclude_none=True) for x in template.xbses],
    }
    if template.root_volume_size_gb is not None:
        spec["rootVolumeSizeGB"] = template.root_volume_size_gb
    return _child(group, VirtualMachine.KIND, machine_name(name_of(group), index), spec)


def desired_disks(group: Obj, template: VmTemplate, machine: str) -> list[Obj]:
    """The BlockStorages ``<machine>-<xbs>`` of one machine."""
    out = []
    for xbs in template.xbses:
        spec: dict[str, Any] = {
            "sizeGB": xbs.size_gb,
            "machine": machine,
            "mountPath": xbs.mount_path,
        }
        if xbs.storage_class_name:
            spec["storageClassName"] = xbs.storage_class_name
        out.append(_child(group, "BlockStorage", disk_name(machine, xbs.name), spec))
    return out


class GroupReconciler:
    """Reconciles one VirtualMachineGroup per call; safe in N workers."""

    def __init__(
        self,
        client: Client,
        groups: Informer,
        machines: Informer,
        disks: Informer,
        recorder: EventRecorder,
    ) -> None:
        self._client = client
        self._groups = groups
        self._machines = machines
        self._disks = disks
        self._recorder = recorder

    async def reconcile(self, request: Request) -> Result | None:
        obj = self._groups.get(request.name, request.namespace)
        if obj is None or is_deleting(obj):
            return None
        previous = parse_status(obj, VirtualMachineGroupStatus)
        try:
            spec = VirtualMachineGroup.model_validate(obj).spec
        except ValidationError as error:
            invalid = ("InvalidSpec", f"invalid spec: {error.errors()[0]['msg']}")
            await self._write(obj, previous, [], [invalid])
            return None
        uid = uid_of(obj)
        machines = {name_of(m): m for m in self._machines.store.by_index(INDEX_CONTROLLER_UID, uid)}
        disks = {name_of(d): d for d in self._disks.store.by_index(INDEX_CONTROLLER_UID, uid)}
        members: list[Member] = []
        problems: list[tuple[str, str]] = []
        for index in range(spec.replicas):
            want = desired_machine(obj, spec.template, index)
            name = name_of(want)
            machine = machines.pop(name, None)
            if machine is not None and is_replaceable(machine):
                await self._replace(obj, machine)
            elif machine is None:
                machine = await self._ensure(obj, VIRTUAL_MACHINE, want, problems)
            member_disks: dict[str, Obj | None] = {}
            for disk in desired_disks(obj, spec.template, name):
                disk_key = name_of(disk)
                existing = disks.pop(disk_key, None)
                member_disks[disk_key] = existing or await self._ensure(
                    obj, BLOCK_STORAGE, disk, problems
                )
            members.append(Member(name, machine, member_disks))
        for rt, surplus in ((VIRTUAL_MACHINE, machines), (BLOCK_STORAGE, disks)):
            for child in surplus.values():
                if not is_deleting(child):
                    await self._delete(rt, child)
        await self._write(obj, previous, members, problems, generation_of(obj))
        return None

    async def _ensure(
        self, group: Obj, rt: ResourceType, desired: Obj, problems: list[tuple[str, str]]
    ) -> Obj | None:
        """Create or adopt a child; None (and a problem noted) when another owns the name.
        A child just created is reported as not existing yet (the cache will say more)."""
        try:
            claim = await create_or_adopt(self._client, rt, desired, group)
        except ChildConflict as conflict:
            problems.append(("ChildConflict", str(conflict)))
            return None
        if claim.created:
            log.info("created", kind=rt.kind, namespace=desired["metadata"]["namespace"],
                     name=name_of(desired))  # fmt: skip
            return None
        return claim.obj

    async def _replace(self, group: Obj, machine: Obj) -> None:
        message = f"replacing machine {name_of(machine)}: {machine['status'].get('message', '')}"
        self._recorder.event(group, WARNING, "ReplacingMachine", message)
        await self._delete(VIRTUAL_MACHINE, machine)

    async def _delete(self, rt: ResourceType, child: Obj) -> None:
        await self._client.delete(
            rt,
            name_of(child),
            child["metadata"]["namespace"],
            preconditions={"uid": uid_of(child)},
            ignore_not_found=True,
        )

    async def _write(
        self,
        obj: Obj,
        previous: VirtualMachineGroupStatus | None,
        members: list[Member],
        problems: list[tuple[str, str]],
        generation: int | None = None,
    ) -> None:
        status = group_status(
            previous, members, problems=problems, generation=generation, now=utc_now()
        )
        if not await write_status(self._client, VIRTUAL_MACHINE_GROUP, obj, status, previous):
            return
        if previous is not None and previous.phase == status.phase:
            return
        m = obj["metadata"]
        log.info("group phase", namespace=m["namespace"], name=m["name"], phase=status.phase,
                 ready=status.ready, message=status.message)  # fmt: skip
        if status.phase == VirtualMachineGroupPhase.READY:
            self._recorder.event(obj, NORMAL, "Ready", f"{status.ready} machines ready")
        elif status.phase == VirtualMachineGroupPhase.FAILED:
            self._recorder.event(obj, WARNING, status.reason, status.message)
