"""CustomResourceDefinitions of every xeem kind, generated from the pydantic models.

Contract: ``custom_resource_definitions()`` returns one apiextensions.k8s.io/v1 CRD dict per
kind in ``KINDS``, each with the status subresource, the ``xeem`` category, the kind's
short names and printer columns, and the structural schema from ``crd_schema``. The
committed YAML in ``config/crd/`` is exactly ``write_manifests``' output (a test checks it);
``python -m xeem.api.crds [DIR]`` regenerates it (``make manifests``).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import yaml

from xeem.api.base import GROUP, VERSION
from xeem.api.blockstorage import BlockStorage
from xeem.api.schema import crd_schema
from xeem.api.service import Service
from xeem.api.task import Task
from xeem.api.vm import VirtualMachine
from xeem.api.vmgroup import VirtualMachineGroup
from xeem.api.vmtype import VirtualMachineType
from xeem.api.workflow import Workflow

CATEGORY = "xeem"


KINDS: tuple[Any, ...] = (
    Workflow,
    Task,
    Service,
    VirtualMachineGroup,
    VirtualMachine,
    BlockStorage,
    VirtualMachineType,
)
"""Top-level models; each declares KIND, PLURAL, SHORT_NAMES, PRINTER_COLUMNS (and SCOPE)."""


def custom_resource_definition(model: Any) -> dict[str, Any]:
    """The CRD of one top-level kind model."""
    plural = model.PLURAL
    scope = getattr(model, "SCOPE", "Namespaced")
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{plural}.{GROUP}"},
        "spec": {
            "group": GROUP,
            "scope": scope,
            "names": {
                "kind": model.KIND,
                "listKind": f"{model.KIND}List",
                "plural": plural,
                "singular": model.KIND.lower(),
                "shortNames": list(model.SHORT_NAMES),
                "categories": [CATEGORY],
            },
            "versions": [
                {
                    "name": VERSION,
                    "served": True,
                    "storage": True,
                    "subresources": {"status": {}},
                    "additionalPrinterColumns": list(model.PRINTER_COLUMNS),
                    "schema": {"openAPIV3Schema": crd_schema(model)},
                }
            ],
        },
    }


def custom_resource_definitions() -> list[dict[str, Any]]:
    """The CRDs of every xeem kind, in ``KINDS`` order."""
    return [custom_resource_definition(model) for model in KINDS]


def manifest_name(crd: dict[str, Any]) -> str:
    """The file name of a CRD in ``config/crd/`` (kubebuilder's ``<group>_<plural>.yaml``)."""
    return f"{crd['spec']['group']}_{crd['spec']['names']['plural']}.yaml"


def render(crd: dict[str, Any]) -> str:
    return yaml.safe_dump(crd, sort_keys=False, width=100)


def write_manifests(directory: Path) -> list[Path]:
    """Write every CRD as ``<directory>/<group>_<plural>.yaml``; returns the paths."""
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for crd in custom_resource_definitions():
        path = directory / manifest_name(crd)
        path.write_text(render(crd))
        paths.append(path)
    return paths


if __name__ == "__main__":
    for written in write_manifests(Path(sys.argv[1] if len(sys.argv) > 1 else "config/crd")):
        print(written)
