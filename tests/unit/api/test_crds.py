"""The committed CRDs are exactly what the models generate, with the kubectl-facing parts."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from xeem.api.crds import custom_resource_definitions, manifest_name, render

pytestmark = pytest.mark.unit

CRD_DIR = Path(__file__).resolve().parents[3] / "config" / "crd"


@pytest.mark.parametrize("crd", custom_resource_definitions(), ids=lambda c: c["metadata"]["name"])
def test_committed_crd_matches_the_models(crd: dict[str, object]) -> None:
    path = CRD_DIR / manifest_name(crd)
    assert path.read_text() == render(crd), f"{path} is stale: run `make manifests`"


def test_every_generated_crd_is_listed_in_the_kustomization() -> None:
    kustomization = yaml.safe_load((CRD_DIR / "kustomization.yaml").read_text())
    generated = {manifest_name(crd) for crd in custom_resource_definitions()}
    assert set(kustomization["resources"]) == generated


def test_workflow_crd_is_kubectl_friendly() -> None:
    [workflow] = [
        c for c in custom_resource_definitions() if c["spec"]["names"]["kind"] == "Workflow"
    ]
    names = workflow["spec"]["names"]
    assert names["shortNames"] == ["xwf"]
    assert names["categories"] == ["xeem"]
    version = workflow["spec"]["versions"][0]
    assert version["subresources"] == {"status": {}}
    columns = [c["name"] for c in version["additionalPrinterColumns"]]
    assert columns == ["Phase", "Progress", "Age", "Message"]
    value = version["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"]["nodes"][
        "items"
    ]["properties"]["inputs"]["items"]["properties"]["value"]
    assert set(value["properties"]) == {"string", "integer", "bool", "xMount"}
    assert all(p.get("description") for p in value["properties"].values())
    assert value["x-kubernetes-validations"]
