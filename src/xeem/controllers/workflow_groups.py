"""Between a Workflow's engine decisions and its VirtualMachineGroups.

Contract: ``group_object`` is the xvmg to create for an ``XvmgCreate`` (named
``<workflow>-<template>``, controlled by the workflow, ``replicas`` = the template's size);
``observe_groups`` reads the workflow's groups back as ``XvmgObservation``s, leaving out
groups already being deleted (the engine then neither releases them again nor waits on
them).
"""

from __future__ import annotations

from collections.abc import Iterable

from xeem.api.vmgroup import VirtualMachineGroupPhase
from xeem.controllers.kinds import VIRTUAL_MACHINE_GROUP
from xeem.engine import XvmgCreate, XvmgObservation
from xeem.engine.naming import LABEL_WORKFLOW
from xeem.runtime.resource import Obj, owner_reference


def group_object(workflow: Obj, create: XvmgCreate) -> Obj:
    """The VirtualMachineGroup for ``create``, owned (controller) by ``workflow``."""
    template = create.template
    return {
        "apiVersion": VIRTUAL_MACHINE_GROUP.api_version,
        "kind": VIRTUAL_MACHINE_GROUP.kind,
        "metadata": {
            "name": create.name,
            "namespace": workflow["metadata"]["namespace"],
            "labels": {LABEL_WORKFLOW: workflow["metadata"]["name"]},
            "annotations": dict(template.annotations),
            "ownerReferences": [owner_reference(workflow, controller=True)],
        },
        "spec": {
            "replicas": template.min_size,
            "template": template.template.model_dump(mode="json", by_alias=True, exclude_none=True),
        },
    }


def observe_groups(groups: Iterable[Obj]) -> dict[str, XvmgObservation]:
    """The engine's view of a workflow's live groups, by name."""
    observed = {}
    for group in groups:
        metadata = group["metadata"]
        if metadata.get("deletionTimestamp"):
            continue
        status = group.get("status") or {}
        phase = status.get("phase")
        observed[metadata["name"]] = XvmgObservation(
            ready=phase == VirtualMachineGroupPhase.READY,
            failed=phase == VirtualMachineGroupPhase.FAILED,
            message=status.get("message", ""),
            size=int(group["spec"].get("replicas", 0)),
        )
    return observed
