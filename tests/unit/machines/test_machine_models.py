"""The machine kinds' models and CRDs: scope, short names, printer columns, validation."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from xeem.api.crds import custom_resource_definitions
from xeem.api.vmgroup import VirtualMachineGroup
from xeem.api.vmtype import VirtualMachineType

pytestmark = pytest.mark.unit


def crd(kind: str) -> dict:  # type: ignore[type-arg]
    return next(c for c in custom_resource_definitions() if c["spec"]["names"]["kind"] == kind)


@pytest.mark.parametrize(
    ("kind", "short", "scope", "columns"),
    [
        ("VirtualMachineGroup", "xvmg", "Namespaced", ["Ready", "Phase", "Age", "Message"]),
        ("VirtualMachine", "xvm", "Namespaced", ["Phase", "Node", "Provider-ID", "Age", "Message"]),
        ("BlockStorage", "xbs", "Namespaced", ["Phase", "Size", "Machine", "Age", "Message"]),
        ("VirtualMachineType", "xvmt", "Cluster", ["Provider", "CPU", "Memory", "GPU", "Age"]),
    ],
)
def test_crd_names_scope_and_columns(kind: str, short: str, scope: str, columns: list[str]) -> None:
    spec = crd(kind)["spec"]
    assert spec["names"]["shortNames"] == [short]
    assert spec["names"]["categories"] == ["xeem"]
    assert spec["scope"] == scope
    assert [c["name"] for c in spec["versions"][0]["additionalPrinterColumns"]] == columns


def test_type_quantities_are_int_or_string_checked_by_cel() -> None:
    props = crd("VirtualMachineType")["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    cpu = props["properties"]["spec"]["properties"]["cpu"]
    assert cpu["x-kubernetes-int-or-string"] is True
    assert cpu["x-kubernetes-validations"][0]["rule"] == "isQuantity(string(self))"
    vmt = VirtualMachineType.model_validate(
        {"metadata": {"name": "t"}, "spec": {"cpu": 8, "memory": "32Gi", "provider": "kwok"}}
    )
    assert vmt.spec.gpu == 0


def test_group_reuses_the_workflow_vm_template() -> None:
    group = VirtualMachineGroup.model_validate(
        {"spec": {"replicas": 2, "template": {"type": "gpu", "rootVolumeSizeGB": 10,
         "xbses": [{"name": "s", "sizeGB": 1, "mountPath": "/s"}]}}}
    )  # fmt: skip
    assert group.spec.template.xbses[0].size_gb == 1
    with pytest.raises(ValidationError):
        VirtualMachineGroup.model_validate({"spec": {"replicas": -1, "template": {"type": "x"}}})
