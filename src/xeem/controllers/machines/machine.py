"""The VirtualMachine reconciler: one machine through its type's provider.

Contract (level-triggered, restart-safe):
- the provider is the one named by the machine's VirtualMachineType, and stays the one
  recorded in ``status.provider`` once chosen; a missing type or unknown provider fails
  the machine (``TypeNotFound``, ``UnknownProvider``) before anything is made;
- the finalizer ``xeem.io/release`` is added before the provider is first called;
- every reconcile observes first and calls ``create`` only when the provider holds
  nothing for the machine's UID; a machine once launched and now gone is ``MachineLost``;
- a Failed machine is left as it is (delete it to retry; its group recreates it);
- on deletion the provider's ``delete`` is called until it confirms the machine is gone,
  then the finalizer is removed;
- Node and provider-object events wake the machine (``xeem.io/machine-uid`` label); only a
  provider that asks for it (``retry_after``) makes the reconciler poll.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

import structlog
from pydantic import ValidationError

from xeem.api.vm import (
    VirtualMachine,
    VirtualMachinePhase,
    VirtualMachineReason,
    VirtualMachineStatus,
)
from xeem.api.vmtype import VirtualMachineType
from xeem.controllers.children import is_deleting, parse_status, utc_now, write_status
from xeem.controllers.kinds import VIRTUAL_MACHINE
from xeem.controllers.machines.common import gone, has_finalizer, object_ref, set_finalizer
from xeem.controllers.machines.machine_status import machine_status, was_launched
from xeem.providers.base import (
    MACHINE_UID_LABEL,
    Failure,
    Machine,
    MachineObservation,
    MachineProvider,
)
from xeem.runtime.cache import INDEX_LABEL
from xeem.runtime.client import Client
from xeem.runtime.events import NORMAL, WARNING, EventRecorder
from xeem.runtime.informer import Informer
from xeem.runtime.kube import NotFoundError
from xeem.runtime.reconcile import Request, Result
from xeem.runtime.resource import Obj, generation_of, meta, uid_of

log = structlog.get_logger("xeem.controllers.machines.machine")


def _created_at(obj: Obj) -> float:
    stamp = meta(obj).get("creationTimestamp")
    return datetime.fromisoformat(stamp).timestamp() if isinstance(stamp, str) else 0.0


class MachineReconciler:
    """Reconciles one VirtualMachine per call; safe in N workers (keys never overlap)."""

    def __init__(
        self,
        client: Client,
        providers: Mapping[str, MachineProvider],
        machines: Informer,
        types: Informer,
        nodes: Informer,
        recorder: EventRecorder,
    ) -> None:
        self._client = client
        self._providers = providers
        self._machines = machines
        self._types = types
        self._nodes = nodes
        self._recorder = recorder

    async def reconcile(self, request: Request) -> Result | None:
        obj = self._machines.get(request.name, request.namespace)
        if obj is None:
            return None
        try:
            return await self._reconcile(obj)
        except NotFoundError:
            if await gone(self._client, VIRTUAL_MACHINE, obj):
                return None
            raise

    async def _reconcile(self, obj: Obj) -> Result | None:
        previous = parse_status(obj, VirtualMachineStatus)
        if is_deleting(obj):
            await self._release(obj, previous)
            return None
        try:
            vm = VirtualMachine.model_validate(obj)
        except ValidationError as error:
            invalid = Failure("InvalidSpec", f"invalid spec: {error.errors()[0]['msg']}")
            await self._write(obj, previous, "", None, invalid)
            return None
        if previous is not None and previous.phase == VirtualMachinePhase.FAILED:
            return None
        provider, failure, type_spec = self._provider_for(vm.spec.type, previous)
        if provider is None or type_spec is None:
            await self._write(obj, previous, "", None, failure)
            return None
        await set_finalizer(self._client, VIRTUAL_MACHINE, obj, True)
        ref = object_ref(obj)
        observation = await provider.observe(ref)
        if observation is None and was_launched(previous):
            failure = Failure(
                VirtualMachineReason.MACHINE_LOST,
                f"{provider.name}: the machine ({previous.provider_id if previous else ''}) "
                "is gone",
            )
        elif observation is None:
            machine = Machine(
                ref=ref,
                group=vm.spec.group,
                index=vm.spec.index,
                type_name=vm.spec.type,
                type=type_spec.spec,
                root_volume_size_gb=vm.spec.root_volume_size_gb,
                xbses=tuple(vm.spec.xbses),
                created_at=_created_at(obj),
            )
            observation = await provider.create(machine)
        await self._write(obj, previous, provider.name, observation, failure)
        if observation is not None and observation.retry_after and failure is None:
            return Result(requeue_after=observation.retry_after)
        return None

    def _provider_for(
        self, type_name: str, previous: VirtualMachineStatus | None
    ) -> tuple[MachineProvider | None, Failure | None, VirtualMachineType | None]:
        """The machine's provider and type, or why there is none."""
        raw = self._types.get(type_name)
        if raw is None:
            message = f"VirtualMachineType {type_name} not found"
            return None, Failure(VirtualMachineReason.TYPE_NOT_FOUND, message), None
        try:
            vmt = VirtualMachineType.model_validate(raw)
        except ValidationError as error:
            message = f"VirtualMachineType {type_name} is invalid: {error.errors()[0]['msg']}"
            return None, Failure(VirtualMachineReason.TYPE_NOT_FOUND, message), None
        name = (previous.provider if previous else "") or vmt.spec.provider
        provider = self._providers.get(name)
        if provider is None:
            message = (
                f"VirtualMachineType {type_name}: provider {name!r} is not enabled "
                f"(enabled: {', '.join(sorted(self._providers))})"
            )
            return None, Failure(VirtualMachineReason.UNKNOWN_PROVIDER, message), None
        return provider, None, vmt

    async def _release(self, obj: Obj, previous: VirtualMachineStatus | None) -> None:
        """Delete through the provider (the recorded one, else the type's: a crash may have
        come between create and the status write), then drop the finalizer."""
        if not has_finalizer(obj):
            return
        provider = self._providers.get(previous.provider) if previous else None
        if provider is None:
            provider, _, _ = self._provider_for(str(obj["spec"].get("type", "")), previous)
        if provider is not None:
            if not await provider.delete(object_ref(obj)):
                await self._write(obj, previous, provider.name, None, None, deleting=True)
                return
            self._recorder.event(obj, NORMAL, "Released", f"{provider.name}: machine released")
        await set_finalizer(self._client, VIRTUAL_MACHINE, obj, False)
        log.info("machine released", namespace=meta(obj)["namespace"], name=meta(obj)["name"])

    def _node_of(self, obj: Obj, observation: MachineObservation | None) -> Obj | None:
        labelled = self._nodes.store.by_index(INDEX_LABEL, f"{MACHINE_UID_LABEL}={uid_of(obj)}")
        if labelled:
            return labelled[0]
        if observation is not None and observation.node_name:
            return self._nodes.get(observation.node_name)
        return None

    async def _write(
        self,
        obj: Obj,
        previous: VirtualMachineStatus | None,
        provider: str,
        observation: MachineObservation | None,
        failure: Failure | None,
        *,
        deleting: bool = False,
    ) -> None:
        status = machine_status(
            previous,
            provider=provider,
            observation=observation,
            node=None if deleting else self._node_of(obj, observation),
            failure=failure,
            deleting=deleting,
            generation=generation_of(obj),
            now=utc_now(),
        )
        if not await write_status(self._client, VIRTUAL_MACHINE, obj, status, previous):
            return
        before = previous.phase if previous else None
        if status.phase != before:
            self._transition(obj, status)

    def _transition(self, obj: Obj, status: VirtualMachineStatus) -> None:
        bound = log.bind(namespace=meta(obj)["namespace"], name=meta(obj)["name"])
        bound.info("machine phase", phase=status.phase.value, reason=status.reason)
        if status.phase == VirtualMachinePhase.FAILED:
            self._recorder.event(obj, WARNING, status.reason, status.message)
        elif status.phase == VirtualMachinePhase.RUNNING:
            self._recorder.event(obj, NORMAL, "Running", status.message)
