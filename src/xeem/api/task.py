"""The Task custom resource (``xtask``): a run-to-completion workload that owns one batch/v1 Job.

Contract: the models here are the wire format of ``xeem.io/v1alpha1`` Task objects. The status
is written only by the Task reconciler from :func:`xeem.status.observe_task`; see
``docs/status.md`` for the phase and condition rules.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any, ClassVar

from pydantic import ConfigDict, Field

from xeem.api.base import API_VERSION, ApiModel, Condition
from xeem.api.inputs import Input
from xeem.api.workflow import MAX_INPUTS

PRESERVE_UNKNOWN: dict[str, Any] = {"x-kubernetes-preserve-unknown-fields": True}
"""Schema marker for embedded Kubernetes specs that xeem passes through unvalidated."""

INPUTS_DESCRIPTION = (
    "Resolved inputs of this workload, each {name, value} with exactly one of string, "
    "integer, bool or xMount. Shown for inspection and used to render $(inputs.<name>) and "
    "XEEM_INPUT_<NAME> when the object is applied by hand."
)
INPUTS_SCHEMA: dict[str, Any] = {
    "x-kubernetes-list-type": "map",
    "x-kubernetes-list-map-keys": ["name"],
    "maxItems": MAX_INPUTS,
    "x-kubernetes-validations": [
        {
            "rule": "self.all(i, has(i.value))",
            "message": "inputs must be resolved: each needs value, not valueFrom",
        }
    ],
}
ANNOTATIONS_DESCRIPTION = "Annotations copied onto the child workload object and its pods."
CONDITIONS_SCHEMA: dict[str, Any] = {
    "x-kubernetes-list-type": "map",
    "x-kubernetes-list-map-keys": ["type"],
}


class LocalObjectReference(ApiModel):
    """A reference to an object in the same namespace."""

    name: str = Field(description="Name of the referenced object.")


class TaskPhase(StrEnum):
    """Display phase of a Task."""

    PENDING = "Pending"
    RUNNING = "Running"
    SUCCEEDED = "Succeeded"
    FAILED = "Failed"


class TaskConditionType(StrEnum):
    """Condition types a Task reports (Tekton-style ``Succeeded``: Unknown, True or False)."""

    RUNNING = "Running"
    SUCCEEDED = "Succeeded"


class TaskSpec(ApiModel):
    """Desired state of a Task."""

    job: dict[str, Any] = Field(
        description=(
            "A batch/v1 JobSpec. xeem fills in the selector, pod labels, annotations and "
            "input delivery; $(inputs.<name>) references are rendered."
        ),
        json_schema_extra=PRESERVE_UNKNOWN,
    )
    inputs: list[Input] = Field(
        default_factory=list,
        description=INPUTS_DESCRIPTION,
        json_schema_extra=INPUTS_SCHEMA,
    )
    annotations: dict[str, str] = Field(default_factory=dict, description=ANNOTATIONS_DESCRIPTION)


class TaskStatus(ApiModel):
    """Observed state of a Task, derived from its Job, the Job's pods and their events."""

    phase: TaskPhase = Field(
        default=TaskPhase.PENDING, description="Pending, Running, Succeeded or Failed."
    )
    reason: str = Field(
        default="",
        description="CamelCase reason for the phase, e.g. BackoffLimitExceeded or OOMKilled.",
    )
    message: str = Field(
        default="",
        description="Why the Task is in its phase: Job condition, exit code, termination message.",
    )
    exit_code: int | None = Field(
        default=None, description="Exit code of the container that decided the outcome."
    )
    completions: str = Field(
        default="", description="Succeeded pods out of the completions wanted, e.g. 1/1."
    )
    started_at: datetime | None = Field(
        default=None, description="When the Task's Job was created."
    )
    finished_at: datetime | None = Field(
        default=None, description="When the Job completed or failed."
    )
    job_ref: LocalObjectReference | None = Field(
        default=None, description="The batch/v1 Job this Task owns."
    )
    succeeded: int = Field(default=0, description="Pods of the Job that succeeded.")
    failed: int = Field(default=0, description="Pods of the Job that failed.")
    observed_generation: int | None = Field(
        default=None, description="The metadata.generation this status was computed for."
    )
    conditions: list[Condition] = Field(
        default_factory=list,
        description="Conditions Running and Succeeded.",
        json_schema_extra=CONDITIONS_SCHEMA,
    )


class Task(ApiModel):
    """A run-to-completion workload: xeem creates and watches one batch/v1 Job for it."""

    model_config = ConfigDict(extra="ignore")

    KIND: ClassVar[str] = "Task"
    PLURAL: ClassVar[str] = "tasks"
    SHORT_NAMES: ClassVar[tuple[str, ...]] = ("xtask",)
    PRINTER_COLUMNS: ClassVar[tuple[dict[str, Any], ...]] = (
        {"name": "Phase", "type": "string", "jsonPath": ".status.phase"},
        {"name": "Completions", "type": "string", "jsonPath": ".status.completions"},
        {"name": "Exit", "type": "integer", "jsonPath": ".status.exitCode"},
        {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"},
        {"name": "Message", "type": "string", "jsonPath": ".status.message"},
    )

    api_version: str = Field(default=API_VERSION, description=f"{API_VERSION}.")
    kind: str = Field(default="Task", description="Task.")
    metadata: dict[str, Any] = Field(default_factory=dict, description="Standard object metadata.")
    spec: TaskSpec = Field(description="Desired state of the Task.")
    status: TaskStatus | None = Field(default=None, description="Observed state of the Task.")
