"""The provider interface: how machines and their disks are made, observed and released.

Contracts every provider keeps:

- Calls are idempotent and keyed by the xeem object's UID (``ObjectRef.key``): calling
  ``create`` twice for one key makes one machine; ``observe`` finds what an earlier
  ``create`` made, even one whose result was never recorded (a crash after the call).
  Reconcilers call ``observe`` first and ``create`` only when it returns None.
- ``delete`` is safe to repeat and returns True only once the resource is gone.
- ``list`` returns a reference to every machine (or volume) the provider holds, so a
  collector can release those whose xeem object no longer exists.
- A provider never raises for a machine that cannot be made: it returns an observation
  with ``failure`` set. Exceptions mean "try again" (API errors, conflicts).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from xeem.api.vmtype import VirtualMachineTypeSpec
from xeem.api.xvmg import XbsTemplate
from xeem.runtime.resource import ResourceType

MACHINE_UID_LABEL = "xeem.io/machine-uid"
"""On every provider object of a machine (and on its Node): the VirtualMachine's UID."""
XVMG_LABEL = "xeem.io/xvmg"
"""On a machine's Node: the group name (the workload's nodeSelector and taint key)."""
XVMG_NAMESPACE_LABEL = "xeem.io/xvmg-namespace"
"""On a machine's Node: the namespace of its group."""
PROVIDER_LABEL = "xeem.io/provider"
"""On objects a provider created: the provider's name."""
VOLUME_UID_LABEL = "xeem.io/blockstorage-uid"
"""On every provider object of a disk: the BlockStorage's UID."""
OBJECT_ANNOTATION = "xeem.io/object"
"""On provider objects: ``<namespace>/<name>`` of their VirtualMachine or BlockStorage."""


@dataclass(frozen=True, slots=True)
class ObjectRef:
    """Which xeem object (a VirtualMachine or a BlockStorage): its UID, the idempotency key,
    and its name."""

    key: str
    namespace: str
    name: str


@dataclass(frozen=True, slots=True)
class Machine:
    """Everything a provider needs to make one machine."""

    ref: ObjectRef
    group: str
    index: int
    type_name: str
    type: VirtualMachineTypeSpec
    root_volume_size_gb: int | None = None
    xbses: tuple[XbsTemplate, ...] = ()
    created_at: float = 0.0
    """When the VirtualMachine was created (epoch seconds): the start of any delay."""


@dataclass(frozen=True, slots=True)
class Failure:
    """Why a machine or volume cannot be made; retrying would not help."""

    reason: str
    message: str


@dataclass(frozen=True, slots=True)
class MachineObservation:
    """What the provider holds for a machine.

    ``launched``: the machine is up as far as the provider knows (its Node is expected to
    register with the label ``xeem.io/machine-uid``). ``retry_after``: the provider is still
    working and has no event to wake the reconciler: observe again after that many seconds.
    """

    provider_id: str = ""
    node_name: str = ""
    launched: bool = False
    reason: str = ""
    message: str = ""
    failure: Failure | None = None
    retry_after: float | None = None


@dataclass(frozen=True, slots=True)
class Volume:
    """One disk: a BlockStorage (``ref.key`` is its UID) and the machine it belongs to."""

    ref: ObjectRef
    size_gb: int
    storage_class_name: str | None


@dataclass(frozen=True, slots=True)
class VolumeObservation:
    """What the provider holds for a disk. ``bound``: usable now; ``binds_on_first_use``:
    not bound, but it will be when the first pod on the machine uses it."""

    claim_name: str
    bound: bool = False
    binds_on_first_use: bool = False
    reason: str = ""
    message: str = ""
    failure: Failure | None = None


class VolumeProvider(Protocol):
    """Makes and releases the disks of machines."""

    async def observe(self, ref: ObjectRef) -> VolumeObservation | None: ...

    async def create(self, volume: Volume) -> VolumeObservation: ...

    async def delete(self, ref: ObjectRef) -> bool: ...

    async def list(self) -> list[ObjectRef]: ...


class MachineProvider(Protocol):
    """Makes and releases machines; ``volumes`` makes their disks."""

    name: str
    volumes: VolumeProvider
    watched: ResourceType | None
    """A resource type whose objects carry ``xeem.io/machine-uid`` and whose changes should
    wake the machine's reconciler (None: only Nodes)."""

    async def observe(self, ref: ObjectRef) -> MachineObservation | None: ...

    async def create(self, machine: Machine) -> MachineObservation: ...

    async def delete(self, ref: ObjectRef) -> bool: ...

    async def list(self) -> list[ObjectRef]: ...
