"""Inputs of a workflow or a node (DESIGN §3).

Contract: the models accept what the wire may carry and leave the one-of rules
(``value`` xor ``valueFrom``; exactly one value type) to the CRD's CEL rules and to
``xeem.engine.compile_workflow``, which reports every violation at once.
Scalars are strict: ``"1"`` is not an integer and ``1`` is not a bool.
"""

from __future__ import annotations

from pydantic import ConfigDict, Field, StrictBool, StrictInt, StrictStr

from xeem.api.base import ApiModel
from xeem.api.names import DNS1123_LABEL_MAX, INPUT_NAME, INPUT_NAME_MAX

_ONE_VALUE_RULE = (
    "(has(self.string) ? 1 : 0) + (has(self.integer) ? 1 : 0)"
    " + (has(self.bool) ? 1 : 0) + (has(self.xMount) ? 1 : 0) == 1"
)


class XMount(ApiModel):
    """A volume on a file server, mounted into every container of the node's pods."""

    server_addr: str = Field(
        min_length=1, description="Address of the file server as host:port, e.g. 10.1.2.3:9000."
    )
    mount_id: str = Field(
        alias="mountID", min_length=1, description="ID of the volume on the file server."
    )
    mount_path: str = Field(
        min_length=1, description="Absolute path where the volume is mounted in every container."
    )
    read_only: bool = Field(default=False, description="Mount the volume read-only.")
    sub_path: str | None = Field(
        default=None, description="Sub-path inside the volume to mount instead of its root."
    )


class InputValue(ApiModel):
    """A static input value: exactly one of string, integer, bool or xMount."""

    model_config = ConfigDict(
        json_schema_extra={
            "x-kubernetes-validations": [
                {
                    "rule": _ONE_VALUE_RULE,
                    "message": "exactly one of string, integer, bool or xMount must be set",
                }
            ]
        }
    )

    string: StrictStr | None = Field(default=None, description="A string value.")
    integer: StrictInt | None = Field(default=None, description="A 64-bit integer value.")
    bool: StrictBool | None = Field(default=None, description="A boolean value.")
    x_mount: XMount | None = Field(
        default=None,
        description="A file-server volume; $(inputs.<name>) expands to its mountPath.",
    )

    def set_fields(self) -> list[str]:
        """Wire names of the value types that are set (exactly one when valid)."""
        return [
            alias
            for alias, val in (
                ("string", self.string),
                ("integer", self.integer),
                ("bool", self.bool),
                ("xMount", self.x_mount),
            )
            if val is not None
        ]


class InputRef(ApiModel):
    """Reference to an input of an ancestor node, or of the workflow when nodeName is empty."""

    node_name: str | None = Field(
        default=None,
        max_length=DNS1123_LABEL_MAX,
        description="Name of an ancestor node (reachable through depends); empty for a "
        "workflow-level input.",
    )
    input_name: str = Field(
        max_length=INPUT_NAME_MAX, pattern=INPUT_NAME, description="Name of the referenced input."
    )


class ValueFrom(ApiModel):
    """Where a dynamic input takes its value from."""

    input_ref: InputRef = Field(description="The input whose value this input takes.")


class Input(ApiModel):
    """A named input: a static value or a reference (exactly one)."""

    model_config = ConfigDict(
        json_schema_extra={
            "x-kubernetes-validations": [
                {
                    "rule": "has(self.value) != has(self.valueFrom)",
                    "message": "exactly one of value or valueFrom must be set",
                }
            ]
        }
    )

    name: str = Field(
        max_length=INPUT_NAME_MAX,
        pattern=INPUT_NAME,
        description="Input name: becomes env XEEM_INPUT_<NAME> and $(inputs.<name>).",
    )
    value: InputValue | None = Field(default=None, description="A static value.")
    value_from: ValueFrom | None = Field(
        default=None, description="A value taken from an ancestor's or the workflow's input."
    )
