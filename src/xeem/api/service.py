"""The Service custom resource (``xsvc``): a long-running workload that owns one apps/v1
Deployment and, when ports are given, one core/v1 Service.

Contract: the models here are the wire format of ``xeem.io/v1alpha1`` Service objects. The
status is written only by the Service reconciler from :func:`xeem.status.observe_service`; see
``docs/status.md`` for the phase and condition rules.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any, ClassVar, Literal

from pydantic import ConfigDict, Field

from xeem.api.base import API_VERSION, ApiModel, Condition
from xeem.api.inputs import Input
from xeem.api.task import (
    ANNOTATIONS_DESCRIPTION,
    CONDITIONS_SCHEMA,
    INPUTS_DESCRIPTION,
    INPUTS_SCHEMA,
    PRESERVE_UNKNOWN,
    LocalObjectReference,
)


class ServicePhase(StrEnum):
    """Display phase of a Service."""

    PROGRESSING = "Progressing"
    READY = "Ready"
    FAILED = "Failed"


class ServiceConditionType(StrEnum):
    """Condition types a Service reports, named after the Deployment's."""

    AVAILABLE = "Available"
    PROGRESSING = "Progressing"


class ServicePort(ApiModel):
    """One port of the core/v1 Service in front of the Deployment's pods."""

    name: str | None = Field(
        default=None, description="Port name; required when there is more than one port."
    )
    port: int = Field(ge=1, le=65535, description="Port the core Service exposes.")
    target_port: int | str | None = Field(
        default=None,
        description="Container port number or name the traffic goes to; defaults to port.",
        json_schema_extra={"x-kubernetes-int-or-string": True},
    )
    protocol: Literal["TCP", "UDP", "SCTP"] = Field(default="TCP", description="TCP, UDP or SCTP.")


class ServiceExposure(ApiModel):
    """The optional core/v1 Service xeem creates for the Deployment's pods."""

    ports: list[ServicePort] = Field(min_length=1, description="Ports to expose.")


class ServiceSpec(ApiModel):
    """Desired state of a Service."""

    deployment: dict[str, Any] = Field(
        description=(
            "An apps/v1 DeploymentSpec. xeem fills in the selector, pod labels, annotations "
            "and input delivery; $(inputs.<name>) references are rendered."
        ),
        json_schema_extra=PRESERVE_UNKNOWN,
    )
    service: ServiceExposure | None = Field(
        default=None, description="When set, a core/v1 Service with these ports is created."
    )
    inputs: list[Input] = Field(
        default_factory=list, description=INPUTS_DESCRIPTION, json_schema_extra=INPUTS_SCHEMA
    )
    annotations: dict[str, str] = Field(default_factory=dict, description=ANNOTATIONS_DESCRIPTION)


class ServiceStatus(ApiModel):
    """Observed state of a Service, derived from its Deployment, pods and their events."""

    phase: ServicePhase = Field(
        default=ServicePhase.PROGRESSING, description="Progressing, Ready or Failed."
    )
    reason: str = Field(
        default="",
        description="CamelCase reason for the phase, e.g. ImagePullBackOff or FailedScheduling.",
    )
    message: str = Field(
        default="", description="Why the Service is in its phase, e.g. what blocks the rollout."
    )
    ready: str = Field(default="", description="Ready replicas out of desired, e.g. 2/3.")
    replicas: int = Field(default=0, description="Pods of the Deployment (all revisions).")
    ready_replicas: int = Field(default=0, description="Pods that are ready.")
    updated_replicas: int = Field(default=0, description="Pods of the latest revision.")
    available_replicas: int = Field(
        default=0, description="Pods ready for at least minReadySeconds."
    )
    deployment_ref: LocalObjectReference | None = Field(
        default=None, description="The apps/v1 Deployment this Service owns."
    )
    service_ref: LocalObjectReference | None = Field(
        default=None, description="The core/v1 Service this Service owns, if ports are set."
    )
    observed_generation: int | None = Field(
        default=None, description="The metadata.generation this status was computed for."
    )
    conditions: list[Condition] = Field(
        default_factory=list,
        description="Conditions Available and Progressing.",
        json_schema_extra=CONDITIONS_SCHEMA,
    )


class Service(ApiModel):
    """A long-running workload: xeem creates and watches one apps/v1 Deployment for it."""

    model_config = ConfigDict(extra="ignore")

    KIND: ClassVar[str] = "Service"
    PLURAL: ClassVar[str] = "services"
    SHORT_NAMES: ClassVar[tuple[str, ...]] = ("xsvc",)
    PRINTER_COLUMNS: ClassVar[tuple[dict[str, Any], ...]] = (
        {"name": "Phase", "type": "string", "jsonPath": ".status.phase"},
        {"name": "Ready", "type": "string", "jsonPath": ".status.ready"},
        {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"},
        {"name": "Message", "type": "string", "jsonPath": ".status.message"},
    )

    api_version: str = Field(default=API_VERSION, description=f"{API_VERSION}.")
    kind: str = Field(default="Service", description="Service.")
    metadata: dict[str, Any] = Field(default_factory=dict, description="Standard object metadata.")
    spec: ServiceSpec = Field(description="Desired state of the Service.")
    status: ServiceStatus | None = Field(default=None, description="Observed state of the Service.")
