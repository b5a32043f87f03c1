"""The VirtualMachine custom resource (``xvm``): one machine, made by its type's provider.

Contract: a VirtualMachineGroup creates its machines as ``<group>-<index>``; a machine may
also be created by hand. The status is written only by the VirtualMachine reconciler:
conditions ``Launched`` (the provider made the machine), ``Registered`` (a Node for it
exists) and ``Ready`` (that Node is Ready), and a display ``phase``. The finalizer
``xeem.io/release`` keeps the object until the provider confirms the machine is gone.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any, ClassVar

from pydantic import ConfigDict, Field

from xeem.api.base import API_VERSION, ApiModel, Condition
from xeem.api.names import DNS1123_LABEL, DNS1123_LABEL_MAX
from xeem.api.task import CONDITIONS_SCHEMA
from xeem.api.xvmg import XbsTemplate

RELEASE_FINALIZER = "xeem.io/release"
"""Finalizer on VirtualMachines and BlockStorages: the external resource is not yet released."""


def machine_name(group: str, index: int) -> str:
    """The VirtualMachine ``<group>-<index>`` of a VirtualMachineGroup."""
    return f"{group}-{index}"


class VirtualMachinePhase(StrEnum):
    """Display phase of a VirtualMachine."""

    PENDING = "Pending"
    PROVISIONING = "Provisioning"
    RUNNING = "Running"
    DELETING = "Deleting"
    FAILED = "Failed"


class VirtualMachineConditionType(StrEnum):
    LAUNCHED = "Launched"
    REGISTERED = "Registered"
    READY = "Ready"


class VirtualMachineReason(StrEnum):
    """Reasons of a machine's phase that other controllers act on."""

    TYPE_NOT_FOUND = "TypeNotFound"
    UNKNOWN_PROVIDER = "UnknownProvider"
    PROVISIONING_FAILED = "ProvisioningFailed"
    MACHINE_LOST = "MachineLost"
    """The machine was launched and has since vanished: its group replaces it."""


class VirtualMachineSpec(ApiModel):
    """Desired machine."""

    type: str = Field(min_length=1, description="Name of the VirtualMachineType (xvmt).")
    root_volume_size_gb: int | None = Field(
        default=None, alias="rootVolumeSizeGB", ge=1, description="Root disk size in GiB."
    )
    group: str = Field(
        pattern=DNS1123_LABEL,
        max_length=DNS1123_LABEL_MAX,
        description=(
            "The VirtualMachineGroup the machine belongs to; its Node is labelled "
            "xeem.io/xvmg=<group> and tainted xeem.io/xvmg=<group>:NoSchedule."
        ),
    )
    index: int = Field(default=0, ge=0, description="Index of the machine in its group.")
    xbses: list[XbsTemplate] = Field(
        default_factory=list,
        description=(
            "The machine's disks; each is a BlockStorage named <machine>-<xbs> (providers that "
            "attach disks themselves, such as kubevirt, render them into the machine)."
        ),
        json_schema_extra={
            "x-kubernetes-list-type": "map",
            "x-kubernetes-list-map-keys": ["name"],
            "maxItems": 16,
        },
    )


class VirtualMachineStatus(ApiModel):
    """Observed machine."""

    phase: VirtualMachinePhase = Field(
        default=VirtualMachinePhase.PENDING,
        description="Pending, Provisioning, Running, Deleting or Failed.",
    )
    reason: str = Field(default="", description="CamelCase reason for the phase.")
    message: str = Field(default="", description="Why the machine is in its phase.")
    provider: str = Field(default="", description="The provider that made the machine.")
    provider_id: str = Field(
        default="", alias="providerID", description="The provider's id of the machine."
    )
    node_name: str = Field(default="", description="The Node the machine registered as.")
    observed_generation: int | None = Field(
        default=None, description="The metadata.generation this status was computed for."
    )
    conditions: list[Condition] = Field(
        default_factory=list,
        description="Conditions Launched, Registered and Ready.",
        json_schema_extra=CONDITIONS_SCHEMA,
    )


class VirtualMachine(ApiModel):
    """One machine of a VirtualMachineGroup, made by its type's provider."""

    model_config = ConfigDict(extra="ignore")

    KIND: ClassVar[str] = "VirtualMachine"
    PLURAL: ClassVar[str] = "virtualmachines"
    SHORT_NAMES: ClassVar[tuple[str, ...]] = ("xvm",)
    PRINTER_COLUMNS: ClassVar[tuple[dict[str, Any], ...]] = (
        {"name": "Phase", "type": "string", "jsonPath": ".status.phase"},
        {"name": "Node", "type": "string", "jsonPath": ".status.nodeName"},
        {"name": "Provider-ID", "type": "string", "jsonPath": ".status.providerID"},
        {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"},
        {"name": "Message", "type": "string", "jsonPath": ".status.message", "priority": 1},
    )

    api_version: str = Field(default=API_VERSION, description=f"{API_VERSION}.")
    kind: str = Field(default="VirtualMachine", description="VirtualMachine.")
    metadata: dict[str, Any] = Field(default_factory=dict, description="Standard object metadata.")
    spec: VirtualMachineSpec = Field(description="Desired machine.")
    status: VirtualMachineStatus | None = Field(default=None, description="Observed machine.")
