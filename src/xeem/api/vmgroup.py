"""The VirtualMachineGroup custom resource (``xvmg``): N machines from one template.

Contract: the group owns VirtualMachines ``<group>-<i>`` (i < replicas) and, per machine and
xbs template, BlockStorages ``<group>-<i>-<xbs>``. Its status is written only by the group
reconciler. A client waiting for the group reads ``status.phase``: ``Ready`` (every machine
Running with its disks Attached, ``readyReplicas == spec.replicas``), ``Failed`` (a machine
or disk failed to provision; ``reason`` and ``message`` name it), else ``Pending`` or
``Provisioning``. Conditions ``Ready`` and ``ReplicaFailure`` say the same for tools.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any, ClassVar

from pydantic import ConfigDict, Field

from xeem.api.base import API_VERSION, ApiModel, Condition
from xeem.api.task import CONDITIONS_SCHEMA
from xeem.api.xvmg import VmTemplate

MAX_REPLICAS = 1000


class VirtualMachineGroupPhase(StrEnum):
    PENDING = "Pending"
    PROVISIONING = "Provisioning"
    READY = "Ready"
    FAILED = "Failed"


class VirtualMachineGroupConditionType(StrEnum):
    READY = "Ready"
    REPLICA_FAILURE = "ReplicaFailure"


class VirtualMachineGroupSpec(ApiModel):
    """Desired group."""

    replicas: int = Field(ge=0, le=MAX_REPLICAS, description="Number of machines (the size).")
    template: VmTemplate = Field(description="Template of each machine and its disks.")


class VirtualMachineGroupStatus(ApiModel):
    """Observed group."""

    phase: VirtualMachineGroupPhase = Field(
        default=VirtualMachineGroupPhase.PENDING,
        description="Pending, Provisioning, Ready or Failed.",
    )
    reason: str = Field(default="", description="CamelCase reason for the phase.")
    message: str = Field(
        default="", description="Why the group is in its phase; names a failed machine."
    )
    replicas: int = Field(default=0, description="Machines that exist.")
    ready_replicas: int = Field(default=0, description="Machines Running with every disk Attached.")
    ready: str = Field(default="", description="readyReplicas/spec.replicas, e.g. 2/2.")
    observed_generation: int | None = Field(
        default=None, description="The metadata.generation this status was computed for."
    )
    conditions: list[Condition] = Field(
        default_factory=list,
        description="Conditions Ready and ReplicaFailure.",
        json_schema_extra=CONDITIONS_SCHEMA,
    )


class VirtualMachineGroup(ApiModel):
    """N machines made from one template, each with its disks."""

    model_config = ConfigDict(extra="ignore")

    KIND: ClassVar[str] = "VirtualMachineGroup"
    PLURAL: ClassVar[str] = "virtualmachinegroups"
    SHORT_NAMES: ClassVar[tuple[str, ...]] = ("xvmg",)
    PRINTER_COLUMNS: ClassVar[tuple[dict[str, Any], ...]] = (
        {"name": "Ready", "type": "string", "jsonPath": ".status.ready"},
        {"name": "Phase", "type": "string", "jsonPath": ".status.phase"},
        {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"},
        {"name": "Message", "type": "string", "jsonPath": ".status.message"},
    )

    api_version: str = Field(default=API_VERSION, description=f"{API_VERSION}.")
    kind: str = Field(default="VirtualMachineGroup", description="VirtualMachineGroup.")
    metadata: dict[str, Any] = Field(default_factory=dict, description="Standard object metadata.")
    spec: VirtualMachineGroupSpec = Field(description="Desired group.")
    status: VirtualMachineGroupStatus | None = Field(default=None, description="Observed group.")
