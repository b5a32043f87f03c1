"""The machine-group template a workflow node may run on (DESIGN §2, §6).

Contract: ``XvmgTemplate`` is the wire shape of ``spec.xvmgTemplates[]``; ``VmTemplate`` is
reused by the VirtualMachineGroup kind. ``minSize == maxSize`` (the replica count) is a CEL
rule of the CRD and a problem reported by ``xeem.engine.compile_workflow``.
"""

from __future__ import annotations

from pydantic import ConfigDict, Field

from xeem.api.base import ApiModel
from xeem.api.names import DNS1123_LABEL, DNS1123_LABEL_MAX


class XbsTemplate(ApiModel):
    """One block-storage disk attached to every machine of the group."""

    name: str = Field(pattern=DNS1123_LABEL, max_length=DNS1123_LABEL_MAX, description="Disk name.")
    size_gb: int = Field(alias="sizeGB", ge=1, description="Disk size in GiB.")
    storage_class_name: str | None = Field(
        default=None, description="StorageClass of the disk; the cluster default when empty."
    )
    mount_path: str = Field(min_length=1, description="Where the disk is mounted on the machine.")


class VmTemplate(ApiModel):
    """How each machine of the group is built."""

    type: str = Field(min_length=1, description="Name of a VirtualMachineType (xvmt).")
    root_volume_size_gb: int | None = Field(
        default=None, alias="rootVolumeSizeGB", ge=1, description="Root disk size in GiB."
    )
    xbses: list[XbsTemplate] = Field(
        default_factory=list,
        description="Block-storage disks created per machine.",
        json_schema_extra={
            "x-kubernetes-list-type": "map",
            "x-kubernetes-list-map-keys": ["name"],
            "maxItems": 16,
        },
    )


class XvmgTemplate(ApiModel):
    """A VirtualMachineGroup created on demand for the nodes that name it."""

    model_config = ConfigDict(
        json_schema_extra={
            "x-kubernetes-validations": [
                {"rule": "self.minSize == self.maxSize", "message": "minSize must equal maxSize"}
            ]
        }
    )

    name: str = Field(
        pattern=DNS1123_LABEL,
        max_length=DNS1123_LABEL_MAX,
        description="Template name, referenced by nodes' xvmgTemplateName.",
    )
    annotations: dict[str, str] = Field(
        default_factory=dict, description="Annotations copied onto the VirtualMachineGroup."
    )
    min_size: int = Field(ge=1, description="Number of machines; must equal maxSize for now.")
    max_size: int = Field(ge=1, description="Number of machines; must equal minSize for now.")
    template: VmTemplate = Field(description="Template of each machine.")
