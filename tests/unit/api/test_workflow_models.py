"""The Workflow models: the DESIGN §2 example parses and round-trips in camelCase."""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from xeem.api.inputs import InputValue
from xeem.api.phases import SATISFYING, SETTLED, TERMINAL, NodePhase, WorkflowPhase
from xeem.api.workflow import NodeStatus, Workflow, WorkflowStatus

pytestmark = pytest.mark.unit

EXAMPLE = """
apiVersion: xeem.io/v1alpha1
kind: Workflow
metadata: {name: train-and-serve}
spec:
  inputs:
    - name: model
      value: {string: resnet50}
  nodes:
    - name: prepare
      annotations: {team: vision}
      inputs:
        - name: dataset
          value: {string: "imagenet-2012"}
        - name: data
          value:
            xMount:
              {serverAddr: "10.1.2.3:9000", mountID: "vol-42", mountPath: /data, readOnly: true}
      workloadTemplate:
        job: {template: {spec: {containers: [{name: main, image: busybox}]}}}
    - name: train
      depends: [prepare]
      xvmgTemplateName: gpu-pool
      inputs:
        - name: dataset
          valueFrom: {inputRef: {nodeName: prepare, inputName: dataset}}
        - name: model
          valueFrom: {inputRef: {inputName: model}}
      workloadTemplate:
        job: {backoffLimit: 2, template: {spec: {containers: [{name: main, image: trainer}]}}}
    - name: serve
      depends: [train]
      workloadTemplate:
        deployment: {replicas: 2, template: {spec: {containers: [{name: main, image: server}]}}}
        service: {ports: [{name: http, port: 80, targetPort: 8080}]}
  skippedNodes: [prepare]
  exitPhaseExpression: 'nodes.train.phase == "Succeeded"'
  failFast: false
  xvmgTemplates:
    - name: gpu-pool
      annotations: {}
      minSize: 2
      maxSize: 2
      template:
        type: gpu-8x
        rootVolumeSizeGB: 200
        xbses:
          - {name: scratch, sizeGB: 500, storageClassName: fast, mountPath: /scratch}
"""


def example() -> dict[str, Any]:
    doc: dict[str, Any] = yaml.safe_load(EXAMPLE)
    return doc


def test_design_example_parses_into_snake_case() -> None:
    wf = Workflow.model_validate(example())
    prepare, train, serve = wf.spec.nodes
    mount = prepare.inputs[1].value.x_mount if prepare.inputs[1].value else None
    assert mount is not None
    assert (mount.mount_id, mount.read_only, mount.sub_path) == ("vol-42", True, None)
    assert train.inputs[0].value_from is not None
    assert train.inputs[0].value_from.input_ref.node_name == "prepare"
    assert train.xvmg_template_name == "gpu-pool"
    assert serve.workload_template.service is not None
    assert wf.spec.xvmg_templates[0].template.root_volume_size_gb == 200
    assert wf.spec.xvmg_templates[0].template.xbses[0].size_gb == 500
    assert wf.spec.skipped_nodes == ["prepare"]


def test_round_trip_is_the_wire_form() -> None:
    doc = example()
    wf = Workflow.model_validate(doc)
    out = wf.model_dump(by_alias=True, exclude_unset=True)
    assert out == doc
    assert Workflow.model_validate(out) == wf


def test_unknown_spec_fields_are_rejected() -> None:
    doc = example()
    doc["spec"]["nodes"][0]["dependsOn"] = ["x"]
    with pytest.raises(ValidationError, match="dependsOn"):
        Workflow.model_validate(doc)


@pytest.mark.parametrize("value", [{"integer": "1"}, {"integer": True}, {"bool": 1}, {"string": 5}])
def test_input_values_are_strict(value: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        InputValue.model_validate(value)


@pytest.mark.parametrize("name", ["Upper", "-lead", "trail-", "a" * 64, "under_score"])
def test_node_names_are_dns_labels(name: str) -> None:
    doc = example()
    doc["spec"]["nodes"][0]["name"] = name
    with pytest.raises(ValidationError):
        Workflow.model_validate(doc)


def test_status_serialises_compactly() -> None:
    status = WorkflowStatus(
        phase=WorkflowPhase.RUNNING,
        nodes=[NodeStatus(name="a", phase=NodePhase.WAITING_FOR_VMS, xvmg="wf-gpu")],
        progress="0/1",
    )
    assert status.model_dump(by_alias=True, exclude_none=True, mode="json") == {
        "phase": "Running",
        "message": "",
        "conditions": [],
        "nodes": [{"name": "a", "phase": "WaitingForVMs", "message": "", "xvmg": "wf-gpu"}],
        "progress": "0/1",
    }


def test_phase_sets_follow_the_design() -> None:
    assert {p.value for p in NodePhase} == {
        "Pending", "WaitingForVMs", "Running", "Ready", "Succeeded",
        "Failed", "Error", "Skipped", "Omitted",
    }  # fmt: skip
    assert {p.value for p in WorkflowPhase} == {
        "Pending",
        "Running",
        "Succeeded",
        "Failed",
        "Error",
    }
    assert {NodePhase.SUCCEEDED, NodePhase.SKIPPED, NodePhase.READY} == SATISFYING
    assert TERMINAL | {NodePhase.READY} == SETTLED
    assert NodePhase.RUNNING not in SETTLED
