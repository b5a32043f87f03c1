"""The Task and Service API models: wire format, validation and CRD schema."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import cel
import pytest
from pydantic import BaseModel, ValidationError

from xeem.api.schema import crd_schema
from xeem.api.service import Service, ServicePhase, ServiceStatus
from xeem.api.task import Task, TaskPhase, TaskStatus

pytestmark = pytest.mark.unit

JOB = {
    "backoffLimit": 2,
    "template": {"spec": {"containers": [{"name": "main", "image": "busybox"}]}},
}

TASK = {
    "apiVersion": "xeem.io/v1alpha1",
    "kind": "Task",
    "metadata": {"name": "train", "namespace": "default"},
    "spec": {
        "job": JOB,
        "inputs": [
            {"name": "epochs", "value": {"integer": 3}},
            {
                "name": "data",
                "value": {
                    "xMount": {
                        "serverAddr": "10.1.2.3:9000",
                        "mountID": "vol-42",
                        "mountPath": "/data",
                    }
                },
            },
        ],
        "annotations": {"team": "vision"},
    },
    "status": {
        "phase": "Failed",
        "reason": "BackoffLimitExceeded",
        "message": "BackoffLimitExceeded: ...; pod train-a container main: OOMKilled (exit 137)",
        "exitCode": 137,
        "completions": "0/1",
        "startedAt": "2024-05-01T10:00:00Z",
        "finishedAt": "2024-05-01T10:09:00Z",
        "jobRef": {"name": "train"},
        "succeeded": 0,
        "failed": 3,
        "observedGeneration": 1,
        "conditions": [
            {
                "type": "Succeeded",
                "status": "False",
                "reason": "BackoffLimitExceeded",
                "message": "...",
                "lastTransitionTime": "2024-05-01T10:09:00Z",
                "observedGeneration": 1,
            }
        ],
    },
}

SERVICE = {
    "apiVersion": "xeem.io/v1alpha1",
    "kind": "Service",
    "metadata": {"name": "web"},
    "spec": {
        "deployment": {"replicas": 2, "template": JOB["template"]},
        "service": {
            "ports": [
                {"name": "http", "port": 80, "targetPort": 8080, "protocol": "TCP"},
                {"name": "metrics", "port": 9090, "targetPort": "metrics", "protocol": "TCP"},
            ]
        },
    },
    "status": {
        "phase": "Ready",
        "reason": "RolloutComplete",
        "message": "2/2 replicas ready",
        "ready": "2/2",
        "replicas": 2,
        "readyReplicas": 2,
        "updatedReplicas": 2,
        "availableReplicas": 2,
        "deploymentRef": {"name": "web"},
        "serviceRef": {"name": "web"},
        "observedGeneration": 3,
        "conditions": [],
    },
}


def wire(model: BaseModel) -> dict[str, Any]:
    return model.model_dump(mode="json", by_alias=True, exclude_none=True)


@pytest.mark.parametrize(
    ("model", "obj"), [(Task, TASK), (Service, SERVICE)], ids=["Task", "Service"]
)
def test_round_trips_the_wire_format(model: type[BaseModel], obj: dict[str, Any]) -> None:
    parsed = model.model_validate(obj)
    dumped = wire(parsed)
    assert model.model_validate(dumped) == parsed
    assert dumped["metadata"] == obj["metadata"]
    assert set(dumped["status"]) == set(obj["status"])
    workload = "job" if model is Task else "deployment"
    assert dumped["spec"][workload] == obj["spec"][workload]


def test_wire_values() -> None:
    task, service = Task.model_validate(TASK), Service.model_validate(SERVICE)
    assert task.status is not None
    assert (task.status.phase, task.status.exit_code) == (TaskPhase.FAILED, 137)
    assert task.spec.inputs[1].value is not None
    assert task.spec.inputs[1].value.x_mount is not None
    assert task.spec.inputs[1].value.x_mount.mount_id == "vol-42"
    assert service.status is not None
    assert service.status.phase is ServicePhase.READY
    assert service.spec.service is not None
    assert [p.target_port for p in service.spec.service.ports] == [8080, "metrics"]


def test_minimal_objects_get_defaults() -> None:
    task = Task.model_validate({"metadata": {"name": "t"}, "spec": {"job": JOB}})
    assert (task.api_version, task.kind, task.spec.inputs, task.spec.annotations) == (
        "xeem.io/v1alpha1",
        "Task",
        [],
        {},
    )
    assert TaskStatus().phase is TaskPhase.PENDING
    assert ServiceStatus().phase is ServicePhase.PROGRESSING
    port = Service.model_validate(
        {"spec": {"deployment": {}, "service": {"ports": [{"port": 80}]}}}
    )
    assert port.spec.service is not None
    assert wire(port.spec.service) == {"ports": [{"port": 80, "protocol": "TCP"}]}


@pytest.mark.parametrize(
    ("model", "obj"),
    [
        (Task, {"spec": {"job": JOB, "jobs": {}}}),
        (Task, {"spec": {}}),
        (Task, {"spec": {"job": JOB, "inputs": [{"name": "x", "value": {"integer": "1"}}]}}),
        (Service, {"spec": {"deployment": {}, "service": {"ports": []}}}),
        (Service, {"spec": {"deployment": {}, "service": {"ports": [{"port": 0}]}}}),
        (
            Service,
            {"spec": {"deployment": {}, "service": {"ports": [{"port": 80, "protocol": "HTTP"}]}}},
        ),
        (
            Service,
            {"spec": {"deployment": {}, "service": {"ports": [{"port": 80, "targetPort": 1.5}]}}},
        ),
    ],
    ids=[
        "unknown spec field",
        "job missing",
        "integer input given as a string",
        "no ports",
        "port 0",
        "unknown protocol",
        "float target port",
    ],
)
def test_invalid_specs_are_rejected(model: type[BaseModel], obj: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        model.model_validate(obj)


def properties(schema: dict[str, Any], path: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    """Every property of a structural schema with its dotted path."""
    for key, sub in schema.get("properties", {}).items():
        yield f"{path}.{key}", sub
        yield from properties(sub, f"{path}.{key}")
    if "items" in schema:
        yield from properties(schema["items"], f"{path}[]")


@pytest.mark.parametrize("model", [Task, Service])
def test_every_field_is_described_for_kubectl_explain(model: type[BaseModel]) -> None:
    undocumented = [
        path
        for path, sub in properties(crd_schema(model))
        if path != ".metadata" and not sub.get("description")
    ]
    assert undocumented == []


def test_crd_schema_shapes() -> None:
    task, service = crd_schema(Task), crd_schema(Service)
    task_spec = task["properties"]["spec"]["properties"]
    assert task_spec["job"]["x-kubernetes-preserve-unknown-fields"] is True
    assert task_spec["inputs"]["x-kubernetes-list-map-keys"] == ["name"]
    assert set(task_spec["inputs"]["items"]["properties"]["value"]["properties"]) == {
        "string",
        "integer",
        "bool",
        "xMount",
    }
    task_status = task["properties"]["status"]["properties"]
    assert {"exitCode", "jobRef", "startedAt", "finishedAt", "observedGeneration"} <= set(
        task_status
    )
    assert task_status["conditions"]["x-kubernetes-list-map-keys"] == ["type"]
    ports = service["properties"]["spec"]["properties"]["service"]["properties"]["ports"]
    assert ports["items"]["properties"]["targetPort"]["x-kubernetes-int-or-string"] is True
    service_status = service["properties"]["status"]["properties"]
    assert service_status["phase"]["enum"] == ["Progressing", "Ready", "Failed"]
    assert {"readyReplicas", "deploymentRef", "serviceRef"} <= set(service_status)


@pytest.mark.parametrize("model", [Task, Service])
def test_printer_columns_point_at_status_fields(model: type[Task] | type[Service]) -> None:
    schema = crd_schema(model)
    for column in model.PRINTER_COLUMNS:
        top, *rest = column["jsonPath"].strip(".").split(".")
        if top == "status":
            assert rest[0] in schema["properties"]["status"]["properties"], column
        else:
            assert column["jsonPath"] == ".metadata.creationTimestamp"


@pytest.mark.parametrize(
    ("inputs", "valid"),
    [
        ([{"name": "a", "value": {"string": "x"}}], True),
        ([], True),
        ([{"name": "a", "valueFrom": {"inputRef": {"inputName": "b"}}}], False),
    ],
    ids=["static value", "none", "unresolved reference"],
)
def test_inputs_must_be_resolved(inputs: list[dict[str, Any]], valid: bool) -> None:
    rule = crd_schema(Task)["properties"]["spec"]["properties"]["inputs"]
    assert cel.evaluate(rule["x-kubernetes-validations"][0]["rule"], {"self": inputs}) is valid
