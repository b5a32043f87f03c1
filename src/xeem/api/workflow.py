"""The Workflow kind (DESIGN §2 to §4): spec, compact status and the object itself.

Contract: these models are the single source of the CRD schema
(``xeem.api.schema.crd_schema(Workflow)``). Embedded Kubernetes specs (JobSpec,
DeploymentSpec, ServicePort) are plain dicts kept with x-kubernetes-preserve-unknown-fields.
Cross-reference rules (depends, inputRef, skippedNodes, xvmgTemplateName, cycles) are
checked by ``xeem.engine.compile_workflow``, not by the models.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar, Literal

from pydantic import ConfigDict, Field

from xeem.api.base import API_VERSION, ApiModel, Condition
from xeem.api.inputs import Input
from xeem.api.names import DNS1123_LABEL, DNS1123_LABEL_MAX
from xeem.api.phases import NodePhase, WorkflowPhase
from xeem.api.xvmg import XvmgTemplate

MAX_NODES = 5000
MAX_INPUTS = 64
_PRESERVE: dict[str, Any] = {"x-kubernetes-preserve-unknown-fields": True}


def _map_list(max_items: int, key: str = "name") -> dict[str, Any]:
    """Schema extras of a list keyed by ``key`` (unique keys enforced by the apiserver)."""
    return {
        "x-kubernetes-list-type": "map",
        "x-kubernetes-list-map-keys": [key],
        "maxItems": max_items,
    }


class ServiceTemplate(ApiModel):
    """A core Service in front of the node's Deployment."""

    ports: list[dict[str, Any]] = Field(
        min_length=1,
        description="Ports of the core Service (core/v1 ServicePort objects).",
        json_schema_extra={"items": {"type": "object", **_PRESERVE}},
    )


class WorkloadTemplate(ApiModel):
    """What the node runs: exactly one of job (a Task) or deployment (a Service)."""

    model_config = ConfigDict(
        json_schema_extra={
            "x-kubernetes-validations": [
                {
                    "rule": "has(self.job) != has(self.deployment)",
                    "message": "exactly one of job or deployment must be set",
                },
                {
                    "rule": "!has(self.service) || has(self.deployment)",
                    "message": "service requires deployment",
                },
            ]
        }
    )

    job: dict[str, Any] | None = Field(
        default=None,
        description="A batch/v1 JobSpec; the node becomes a Task. Pod labels are set by xeem.",
        json_schema_extra=_PRESERVE,
    )
    deployment: dict[str, Any] | None = Field(
        default=None,
        description="An apps/v1 DeploymentSpec; the node becomes a Service. The selector and "
        "pod labels are set by xeem.",
        json_schema_extra=_PRESERVE,
    )
    service: ServiceTemplate | None = Field(
        default=None, description="An optional core Service for the deployment."
    )


class Node(ApiModel):
    """One step of the workflow: a Task or a Service and where and when it runs."""

    name: str = Field(
        pattern=DNS1123_LABEL,
        max_length=DNS1123_LABEL_MAX,
        description="Node name; the child object is named <workflow>-<node>.",
    )
    annotations: dict[str, str] = Field(
        default_factory=dict, description="Copied onto the child Task/Service and its pods."
    )
    inputs: list[Input] = Field(
        default_factory=list,
        description="Inputs of this node.",
        json_schema_extra=_map_list(MAX_INPUTS),
    )
    workload_template: WorkloadTemplate = Field(description="The workload this node runs.")
    depends: list[str] = Field(
        default_factory=list,
        description="Names of the nodes that must be Succeeded, Skipped or Ready first.",
        json_schema_extra={"x-kubernetes-list-type": "set"},
    )
    xvmg_template_name: str | None = Field(
        default=None, description="Name of an xvmgTemplate whose machines this node runs on."
    )


class WorkflowSpec(ApiModel):
    """A DAG of nodes, their inputs, and how the run ends."""

    inputs: list[Input] = Field(
        default_factory=list,
        description="Workflow-level inputs: delivered to every node and referable by "
        "inputRef without nodeName.",
        json_schema_extra=_map_list(MAX_INPUTS),
    )
    nodes: list[Node] = Field(
        default_factory=list,
        description="The nodes of the DAG; names are unique.",
        json_schema_extra=_map_list(MAX_NODES),
    )
    skipped_nodes: list[str] = Field(
        default_factory=list,
        description="Nodes that do not run; they count as satisfied for their dependents.",
        json_schema_extra={"x-kubernetes-list-type": "set"},
    )
    exit_phase_expression: str | None = Field(
        default=None,
        description="CEL over nodes, workflow and inputs, evaluated when every node is "
        'settled: a bool (true: Succeeded) or "Succeeded", "Failed" or "Error".',
    )
    fail_fast: bool = Field(
        default=False, description="Once a node fails, start nothing new (the rest is Omitted)."
    )
    xvmg_templates: list[XvmgTemplate] = Field(
        default_factory=list,
        description="Machine groups created on demand for the nodes that name them.",
        json_schema_extra=_map_list(64),
    )


class ChildRef(ApiModel):
    """The Task or Service a node created."""

    kind: Literal["Task", "Service"] = Field(description="Kind of the child (group xeem.io).")
    name: str = Field(description="Name of the child, <workflow>-<node>.")


class NodeStatus(ApiModel):
    """Compact status of one node; the detail lives on its child."""

    name: str = Field(description="Node name.")
    phase: NodePhase = Field(description="Phase of the node.")
    message: str = Field(default="", description="Why the node is in this phase.")
    started_at: datetime | None = Field(default=None, description="When the child started.")
    finished_at: datetime | None = Field(default=None, description="When the node settled.")
    child_ref: ChildRef | None = Field(default=None, description="The child Task or Service.")
    xvmg: str | None = Field(default=None, description="The VirtualMachineGroup it runs on.")


class WorkflowStatus(ApiModel):
    """Observed state of a workflow."""

    phase: WorkflowPhase = Field(default=WorkflowPhase.PENDING, description="Workflow phase.")
    message: str = Field(default="", description="Why the workflow is in this phase.")
    observed_generation: int | None = Field(
        default=None, description="The metadata.generation this status was computed from."
    )
    conditions: list[Condition] = Field(
        default_factory=list,
        description="Standard conditions (Valid, Running, Finished).",
        json_schema_extra={"x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["type"]},
    )
    nodes: list[NodeStatus] = Field(
        default_factory=list,
        description="Status of every node, keyed by name.",
        json_schema_extra={"x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["name"]},
    )
    progress: str = Field(default="", description="Settled nodes out of all, e.g. 3/5.")
    started_at: datetime | None = Field(default=None, description="When the run started.")
    finished_at: datetime | None = Field(default=None, description="When the run finished.")


class Workflow(ApiModel):
    """A Workflow object (xeem.io/v1alpha1)."""

    model_config = ConfigDict(extra="ignore")

    KIND: ClassVar[str] = "Workflow"
    PLURAL: ClassVar[str] = "workflows"
    SHORT_NAMES: ClassVar[tuple[str, ...]] = ("xwf",)
    PRINTER_COLUMNS: ClassVar[tuple[dict[str, Any], ...]] = (
        {"name": "Phase", "type": "string", "jsonPath": ".status.phase"},
        {"name": "Progress", "type": "string", "jsonPath": ".status.progress"},
        {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"},
        {"name": "Message", "type": "string", "jsonPath": ".status.message"},
    )

    api_version: str = Field(default=API_VERSION, description="xeem.io/v1alpha1.")
    kind: str = Field(default="Workflow", description="Workflow.")
    metadata: dict[str, Any] = Field(default_factory=dict, description="Standard metadata.")
    spec: WorkflowSpec = Field(description="The DAG and its inputs.")
    status: WorkflowStatus | None = Field(default=None, description="Observed state.")
