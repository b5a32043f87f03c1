"""The BlockStorage reconciler: one disk through its machine's volume provider.

Contract (level-triggered, restart-safe):
- the volume provider is the machine provider's ``volumes`` (the machine's type decides),
  PVCs when the machine or its type is unknown;
- the finalizer ``xeem.io/release`` is added before the volume is first made; every
  reconcile observes first and creates only when nothing exists for the disk's UID;
- on deletion the provider's ``delete`` is called until the volume is gone, then the
  finalizer is removed;
- the disk is woken by its volume (owned PVC), its machine, and its own changes.
"""

from __future__ import annotations

from collections.abc import Mapping

import structlog
from pydantic import ValidationError

from xeem.api.blockstorage import BlockStorage, BlockStoragePhase, BlockStorageStatus
from xeem.api.vm import VirtualMachinePhase
from xeem.controllers.children import is_deleting, parse_status, utc_now, write_status
from xeem.controllers.kinds import BLOCK_STORAGE
from xeem.controllers.machines.common import gone, has_finalizer, object_ref, set_finalizer
from xeem.controllers.machines.disk_status import disk_status
from xeem.providers.base import (
    Failure,
    MachineProvider,
    Volume,
    VolumeObservation,
    VolumeProvider,
)
from xeem.runtime.client import Client
from xeem.runtime.events import NORMAL, WARNING, EventRecorder
from xeem.runtime.informer import Informer
from xeem.runtime.kube import NotFoundError
from xeem.runtime.reconcile import Request, Result
from xeem.runtime.resource import Obj, generation_of, meta

log = structlog.get_logger("xeem.controllers.machines.disk")


class DiskReconciler:
    """Reconciles one BlockStorage per call; safe in N workers."""

    def __init__(
        self,
        client: Client,
        providers: Mapping[str, MachineProvider],
        default_volumes: VolumeProvider,
        disks: Informer,
        machines: Informer,
        types: Informer,
        recorder: EventRecorder,
    ) -> None:
        self._client = client
        self._providers = providers
        self._default = default_volumes
        self._disks = disks
        self._machines = machines
        self._types = types
        self._recorder = recorder

    def _volumes_for(self, machine: Obj | None) -> VolumeProvider:
        name = ((machine or {}).get("status") or {}).get("provider")
        if not name and machine is not None:
            vmt = self._types.get(str((machine.get("spec") or {}).get("type", "")))
            name = ((vmt or {}).get("spec") or {}).get("provider")
        provider = self._providers.get(str(name or ""))
        return provider.volumes if provider is not None else self._default

    async def reconcile(self, request: Request) -> Result | None:
        obj = self._disks.get(request.name, request.namespace)
        if obj is None:
            return None
        try:
            return await self._reconcile(obj)
        except NotFoundError:
            if await gone(self._client, BLOCK_STORAGE, obj):
                return None
            raise

    async def _reconcile(self, obj: Obj) -> Result | None:
        previous = parse_status(obj, BlockStorageStatus)
        machine_name = str((obj.get("spec") or {}).get("machine", ""))
        m = meta(obj)
        machine = self._machines.get(machine_name, m["namespace"])
        volumes = self._volumes_for(machine)
        ref = object_ref(obj)
        if is_deleting(obj):
            if not has_finalizer(obj):
                return None
            if await volumes.delete(ref):
                await set_finalizer(self._client, BLOCK_STORAGE, obj, False)
                log.info("disk released", namespace=m["namespace"], name=m["name"])
            else:
                await self._write(obj, previous, None, machine_name, False, deleting=True)
            return None
        observation: VolumeObservation | None
        try:
            spec = BlockStorage.model_validate(obj).spec
        except ValidationError as error:
            message = f"invalid spec: {error.errors()[0]['msg']}"
            observation = VolumeObservation("", failure=Failure("InvalidSpec", message))
        else:
            await set_finalizer(self._client, BLOCK_STORAGE, obj, True)
            observation = await volumes.observe(ref) or await volumes.create(
                Volume(ref, spec.size_gb, spec.storage_class_name)
            )
        running = (
            machine is not None
            and (machine.get("status") or {}).get("phase") == VirtualMachinePhase.RUNNING
        )
        await self._write(obj, previous, observation, machine_name, running)
        return None

    async def _write(
        self,
        obj: Obj,
        previous: BlockStorageStatus | None,
        observation: VolumeObservation | None,
        machine: str,
        machine_running: bool,
        *,
        deleting: bool = False,
    ) -> None:
        status = disk_status(
            previous,
            observation=observation,
            machine=machine,
            machine_running=machine_running,
            deleting=deleting,
            generation=generation_of(obj),
            now=utc_now(),
        )
        if not await write_status(self._client, BLOCK_STORAGE, obj, status, previous):
            return
        if previous is None or previous.phase != status.phase:
            m = meta(obj)
            log.info("disk phase", namespace=m["namespace"], name=m["name"], phase=status.phase)
            if status.phase == BlockStoragePhase.FAILED:
                self._recorder.event(obj, WARNING, status.reason, status.message)
            elif status.phase in (BlockStoragePhase.BOUND, BlockStoragePhase.ATTACHED):
                self._recorder.event(obj, NORMAL, status.phase.value, status.message)
