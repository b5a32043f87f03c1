"""The VirtualMachineType custom resource (``xvmt``): a cluster-scoped machine type.

Contract: a type says how big a machine is (cpu, memory, gpu) and which provider makes it;
``parameters`` are passed to that provider unchanged (each provider documents its own keys
in ``docs/machines.md``); ``nodeSelector`` is used by the ``nodepool`` provider to find the
existing Nodes it may claim. Types are read-only to xeem: it never writes them.
"""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import ConfigDict, Field

from xeem.api.base import API_VERSION, ApiModel
from xeem.api.names import DNS1123_LABEL, DNS1123_LABEL_MAX

QUANTITY_SCHEMA: dict[str, Any] = {
    "x-kubernetes-validations": [
        {"rule": "isQuantity(string(self))", "message": "must be a resource quantity"}
    ]
}


class VirtualMachineTypeSpec(ApiModel):
    """What a machine of this type has, and which provider makes it."""

    cpu: int | str = Field(
        description="CPU cores, a Kubernetes quantity such as 8 or 500m.",
        json_schema_extra=QUANTITY_SCHEMA,
    )
    memory: int | str = Field(
        description="Memory, a Kubernetes quantity such as 32Gi.",
        json_schema_extra=QUANTITY_SCHEMA,
    )
    gpu: int = Field(default=0, ge=0, description="GPUs (nvidia.com/gpu) per machine.")
    provider: str = Field(
        pattern=DNS1123_LABEL,
        max_length=DNS1123_LABEL_MAX,
        description="The provider that makes machines of this type: kwok, nodepool or kubevirt.",
    )
    parameters: dict[str, str] = Field(
        default_factory=dict,
        description=(
            "Provider parameters, passed unchanged. kwok: provisioningDelaySeconds, "
            "failProvisioning, failMessage. kubevirt: instancetype, image, "
            "dataVolumeStorageClassName."
        ),
    )
    node_selector: dict[str, str] = Field(
        default_factory=dict,
        description="nodepool: labels an existing Node must have to be claimed for this type.",
    )


class VirtualMachineType(ApiModel):
    """A machine type: size, provider and provider parameters (cluster-scoped)."""

    model_config = ConfigDict(extra="ignore")

    KIND: ClassVar[str] = "VirtualMachineType"
    PLURAL: ClassVar[str] = "virtualmachinetypes"
    SCOPE: ClassVar[str] = "Cluster"
    SHORT_NAMES: ClassVar[tuple[str, ...]] = ("xvmt",)
    PRINTER_COLUMNS: ClassVar[tuple[dict[str, Any], ...]] = (
        {"name": "Provider", "type": "string", "jsonPath": ".spec.provider"},
        {"name": "CPU", "type": "string", "jsonPath": ".spec.cpu"},
        {"name": "Memory", "type": "string", "jsonPath": ".spec.memory"},
        {"name": "GPU", "type": "integer", "jsonPath": ".spec.gpu"},
        {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"},
    )

    api_version: str = Field(default=API_VERSION, description=f"{API_VERSION}.")
    kind: str = Field(default="VirtualMachineType", description="VirtualMachineType.")
    metadata: dict[str, Any] = Field(default_factory=dict, description="Standard object metadata.")
    spec: VirtualMachineTypeSpec = Field(description="The machine type.")
