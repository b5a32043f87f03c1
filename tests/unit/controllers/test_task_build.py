"""Building a Task's Job (pure) and mapping Job, pod and event changes back to Tasks."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from pydantic import ValidationError

from xeem.controllers.children import (
    ChildConflict,
    InvalidSpec,
    controller_or_namesake,
    invalid_spec,
    is_controlled_by,
)
from xeem.controllers.kinds import TASK
from xeem.controllers.task import _task_of_event, build_job
from xeem.engine import CsiXMount, NfsXMount, RenderError
from xeem.runtime.informer import Informer
from xeem.runtime.kube import ApiError, InvalidError
from xeem.runtime.reconcile import Request
from xeem.runtime.resource import JOB, POD

pytestmark = pytest.mark.unit

UID = "0f0e-task"


def task(**spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "xeem.io/v1alpha1",
        "kind": "Task",
        "metadata": {
            "name": "train",
            "namespace": "ml",
            "uid": UID,
            "labels": {"xeem.io/workflow": "wf", "xeem.io/node": "train", "team": "x"},
            "annotations": {"kubectl.kubernetes.io/last-applied-configuration": "{}"},
        },
        "spec": {
            "job": {
                "backoffLimit": 1,
                "template": {
                    "spec": {
                        "containers": [
                            {"name": "main", "image": "img", "command": ["run", "$(inputs.data)"]}
                        ]
                    }
                },
            },
            "inputs": [
                {
                    "name": "data",
                    "value": {
                        "xMount": {
                            "serverAddr": "10.0.0.1:9000",
                            "mountID": "v1",
                            "mountPath": "/d",
                        }
                    },
                },
                {"name": "epochs", "value": {"integer": 3}},
            ],
            "annotations": {"owner": "vision"},
            **spec,
        },
    }


def test_the_job_is_named_like_the_task_controlled_by_it_and_labelled() -> None:
    job = build_job(task(), NfsXMount())
    meta = job["metadata"]
    assert (job["apiVersion"], job["kind"]) == ("batch/v1", "Job")
    assert (meta["name"], meta["namespace"]) == ("train", "ml")
    assert meta["ownerReferences"] == [
        {
            "apiVersion": "xeem.io/v1alpha1",
            "kind": "Task",
            "name": "train",
            "uid": UID,
            "controller": True,
            "blockOwnerDeletion": True,
        }
    ]
    assert is_controlled_by(job, task())
    labels = {"xeem.io/task": "train", "xeem.io/workflow": "wf", "xeem.io/node": "train"}
    assert meta["labels"] == labels
    assert meta["annotations"] == {"owner": "vision"}
    template = job["spec"]["template"]
    assert template["metadata"] == {"labels": labels, "annotations": {"owner": "vision"}}
    assert job["spec"]["backoffLimit"] == 1


def test_inputs_are_rendered_and_restart_policy_defaults_to_never() -> None:
    pod = build_job(task(), NfsXMount())["spec"]["template"]["spec"]
    assert pod["restartPolicy"] == "Never"
    [container] = pod["containers"]
    assert container["command"] == ["run", "/d"]
    assert {"name": "XEEM_INPUT_EPOCHS", "value": "3"} in container["env"]
    assert container["volumeMounts"][0]["mountPath"] == "/d"
    assert pod["volumes"][0]["nfs"] == {"server": "10.0.0.1", "path": "/v1", "readOnly": False}


def test_the_configured_xmount_renderer_is_used() -> None:
    pod = build_job(task(), CsiXMount("fs.example.com"))["spec"]["template"]["spec"]
    assert pod["volumes"][0]["csi"]["driver"] == "fs.example.com"


def test_rendering_is_idempotent_and_pure() -> None:
    source = task()
    before = copy.deepcopy(source)
    once = build_job(source, NfsXMount())
    assert source == before
    rendered = task(job=once["spec"])
    assert build_job(rendered, NfsXMount())["spec"] == once["spec"]


def test_an_explicit_restart_policy_is_kept() -> None:
    t = task()
    t["spec"]["job"]["template"]["spec"]["restartPolicy"] = "OnFailure"
    assert build_job(t, NfsXMount())["spec"]["template"]["spec"]["restartPolicy"] == "OnFailure"


def test_unknown_inputs_and_unresolved_inputs_are_render_errors() -> None:
    t = task()
    t["spec"]["job"]["template"]["spec"]["containers"][0]["args"] = ["$(inputs.nope)"]
    with pytest.raises(RenderError, match=r"\$\(inputs.nope\) names no input"):
        build_job(t, NfsXMount())
    unresolved = task(inputs=[{"name": "a", "valueFrom": {"inputRef": {"inputName": "b"}}}])
    with pytest.raises(RenderError, match="has no value"):
        build_job(unresolved, NfsXMount())


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (RenderError("x: bad"), "cannot render the workload: x: bad"),
        (InvalidError(422, "Invalid", "spec.x: Required"), "rejected by the API server: spec.x"),
        (ApiError(400, "BadRequest", "cannot decode"), "rejected by the API server: cannot"),
    ],
)
def test_spec_errors_become_invalid_spec(error: Exception, expected: str) -> None:
    found = invalid_spec(error)
    assert isinstance(found, InvalidSpec)
    assert str(found).startswith(expected)


def test_other_errors_are_not_spec_errors() -> None:
    assert invalid_spec(ApiError(500, "InternalError", "etcd")) is None
    assert invalid_spec(ApiError(409, "Conflict", "stale")) is None
    assert not issubclass(ChildConflict, ApiError)
    with pytest.raises(ValidationError) as caught:
        build_job({"metadata": {"name": "x"}, "spec": {}}, NfsXMount())
    assert isinstance(invalid_spec(caught.value), InvalidSpec)


def _informer(rt: Any, *objs: dict[str, Any]) -> Informer:
    informer = Informer(None, rt)  # type: ignore[arg-type]  # never started: a store only
    for obj in objs:
        informer.store.add(obj)
    return informer


def test_a_job_maps_to_its_controlling_task_or_to_its_namesake() -> None:
    tasks = _informer(TASK, task())
    to_task = controller_or_namesake(TASK, tasks)
    ours = build_job(task(), NfsXMount())
    assert to_task(ours) == [Request("ml", "train")]
    orphan = {"metadata": {"name": "train", "namespace": "ml"}}
    assert to_task(orphan) == [Request("ml", "train")]
    stranger = {"metadata": {"name": "other", "namespace": "ml"}}
    assert to_task(stranger) == []


def test_warning_events_about_the_job_or_its_pods_map_to_the_task() -> None:
    job = build_job(task(), NfsXMount())
    jobs = _informer(JOB, job)
    pod = {"metadata": {"name": "train-x1", "namespace": "ml", "labels": {"job-name": "train"}}}
    pods = _informer(POD, pod)

    def event(kind: str, name: str) -> dict[str, Any]:
        return {
            "metadata": {"name": "e", "namespace": "ml"},
            "type": "Warning",
            "involvedObject": {"kind": kind, "name": name, "namespace": "ml"},
        }

    assert _task_of_event(jobs, pods, event("Job", "train")) == [Request("ml", "train")]
    assert _task_of_event(jobs, pods, event("Pod", "train-x1")) == [Request("ml", "train")]
    assert _task_of_event(jobs, pods, event("Pod", "gone")) == []
    assert _task_of_event(jobs, pods, event("Node", "n1")) == []
    assert _task_of_event(jobs, pods, {"metadata": {}}) == []
