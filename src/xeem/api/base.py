"""Shared building blocks of every xeem API model.

Contract: every model is camelCase on the wire and snake_case in Python, rejects unknown
fields in spec objects, and serialises with ``model_dump(by_alias=True, exclude_none=True)``.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

GROUP = "xeem.io"
VERSION = "v1alpha1"
API_VERSION = f"{GROUP}/{VERSION}"


class ApiModel(BaseModel):
    """Base of all API models: camelCase aliases, population by field name allowed."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="forbid",
    )


class ConditionStatus(StrEnum):
    TRUE = "True"
    FALSE = "False"
    UNKNOWN = "Unknown"


class Condition(ApiModel):
    """A standard Kubernetes condition (metav1.Condition)."""

    type: str = Field(description="Type of condition in CamelCase, e.g. Ready or Valid.")
    status: ConditionStatus = Field(description="Status of the condition: True, False or Unknown.")
    reason: str = Field(default="", description="Machine-readable CamelCase reason.")
    message: str = Field(default="", description="Human-readable details.")
    last_transition_time: datetime | None = Field(
        default=None, description="When the condition last changed status."
    )
    observed_generation: int | None = Field(
        default=None, description="The metadata.generation the condition was set from."
    )
