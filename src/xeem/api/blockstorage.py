"""The BlockStorage custom resource (``xbs``): one disk of one machine.

Contract: a VirtualMachineGroup creates ``<group>-<index>-<xbs>`` per machine and xbs
template; one may also be created by hand. The volume provider is the machine provider's
(a PVC named like the BlockStorage by default). Phases: ``Pending`` (not bound yet),
``Bound`` (the volume is bound), ``Attached`` (bound, or binding on first use, and its
machine is Running), ``Released`` (being deleted), ``Failed``; condition ``Ready`` is True
exactly when the phase is Attached. See ``docs/machines.md``.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any, ClassVar

from pydantic import ConfigDict, Field

from xeem.api.base import API_VERSION, ApiModel, Condition
from xeem.api.task import CONDITIONS_SCHEMA


def disk_name(machine: str, xbs: str) -> str:
    """The BlockStorage (and its PVC or DataVolume) of template ``xbs`` on ``machine``."""
    return f"{machine}-{xbs}"


class BlockStoragePhase(StrEnum):
    PENDING = "Pending"
    BOUND = "Bound"
    ATTACHED = "Attached"
    RELEASED = "Released"
    FAILED = "Failed"


class BlockStorageSpec(ApiModel):
    """Desired disk."""

    size_gb: int = Field(alias="sizeGB", ge=1, description="Disk size in GiB.")
    storage_class_name: str | None = Field(
        default=None, description="StorageClass of the disk; the cluster default when empty."
    )
    machine: str = Field(min_length=1, description="The VirtualMachine (xvm) the disk is for.")
    mount_path: str = Field(min_length=1, description="Where the disk is mounted on the machine.")


class BlockStorageStatus(ApiModel):
    """Observed disk."""

    phase: BlockStoragePhase = Field(
        default=BlockStoragePhase.PENDING,
        description="Pending, Bound, Attached, Released or Failed.",
    )
    reason: str = Field(default="", description="CamelCase reason for the phase.")
    message: str = Field(default="", description="Why the disk is in its phase.")
    claim_name: str = Field(default="", description="The PersistentVolumeClaim backing the disk.")
    observed_generation: int | None = Field(
        default=None, description="The metadata.generation this status was computed for."
    )
    conditions: list[Condition] = Field(
        default_factory=list,
        description="Condition Ready: the disk can be used on its running machine.",
        json_schema_extra=CONDITIONS_SCHEMA,
    )


class BlockStorage(ApiModel):
    """One disk of one machine, backed by a PersistentVolumeClaim by default."""

    model_config = ConfigDict(extra="ignore")

    KIND: ClassVar[str] = "BlockStorage"
    PLURAL: ClassVar[str] = "blockstorages"
    SHORT_NAMES: ClassVar[tuple[str, ...]] = ("xbs",)
    PRINTER_COLUMNS: ClassVar[tuple[dict[str, Any], ...]] = (
        {"name": "Phase", "type": "string", "jsonPath": ".status.phase"},
        {"name": "Size", "type": "integer", "jsonPath": ".spec.sizeGB"},
        {"name": "Machine", "type": "string", "jsonPath": ".spec.machine"},
        {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"},
        {"name": "Message", "type": "string", "jsonPath": ".status.message", "priority": 1},
    )

    api_version: str = Field(default=API_VERSION, description=f"{API_VERSION}.")
    kind: str = Field(default="BlockStorage", description="BlockStorage.")
    metadata: dict[str, Any] = Field(default_factory=dict, description="Standard object metadata.")
    spec: BlockStorageSpec = Field(description="Desired disk.")
    status: BlockStorageStatus | None = Field(default=None, description="Observed disk.")
