"""The Task reconciler on a real control plane: Tasks applied by hand, run in-process."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from tests.integration.controllers.conftest import WaitFor
from tests.integration.runtime.rt_helpers import eventually
from tests.kube import Kubectl, apply, get_json
from xeem.runtime.manager import Manager
from xeem.testing.kwok import FAIL_EXIT_CODE_ANNOTATION, FAIL_LABEL, FAIL_REASON_ANNOTATION

pytestmark = pytest.mark.integration


def task(
    name: str,
    command: list[str] | None = None,
    *,
    inputs: list[dict[str, Any]] | None = None,
    pod_labels: dict[str, str] | None = None,
    annotations: dict[str, str] | None = None,
    container: dict[str, Any] | None = None,
) -> dict[str, Any]:
    main = container or {"name": "main", "image": "busybox:1.36", "command": command or ["true"]}
    return {
        "apiVersion": "xeem.io/v1alpha1",
        "kind": "Task",
        "metadata": {"name": name, "labels": {"xeem.io/node": "n1", "team": "other"}},
        "spec": {
            "job": {
                "backoffLimit": 0,
                "template": {
                    "metadata": {"labels": pod_labels or {}},
                    "spec": {"containers": [main]},
                },
            },
            "inputs": inputs or [],
            "annotations": annotations or {},
        },
    }


def controller_ref(obj: dict[str, Any]) -> dict[str, Any]:
    [ref] = [r for r in obj["metadata"]["ownerReferences"] if r.get("controller")]
    return dict(ref)


def condition(obj: dict[str, Any], type_: str) -> dict[str, Any]:
    return next(c for c in obj["status"]["conditions"] if c["type"] == type_)


async def test_hand_applied_task_succeeds_with_a_job_it_owns(
    controllers: Manager, kubectl: Kubectl, namespace: str, wait_for: WaitFor
) -> None:
    await apply(kubectl, namespace, task("hello", annotations={"team": "vision"}))
    done = await wait_for("xtask/hello", phase="Succeeded")
    status = done["status"]
    assert status["exitCode"] == 0
    assert status["completions"] == "1/1"
    assert status["jobRef"] == {"name": "hello"}
    assert status["observedGeneration"] == done["metadata"]["generation"]
    assert condition(done, "Succeeded")["status"] == "True"

    job = await get_json(kubectl, namespace, "job/hello")
    ref = controller_ref(job)
    assert ref["kind"] == "Task"
    assert ref["uid"] == done["metadata"]["uid"]
    assert ref["blockOwnerDeletion"] is True
    assert job["metadata"]["labels"] == {"xeem.io/task": "hello", "xeem.io/node": "n1"}
    assert job["metadata"]["annotations"]["team"] == "vision"
    pod_meta = job["spec"]["template"]["metadata"]
    assert pod_meta["labels"]["xeem.io/task"] == "hello"
    assert pod_meta["annotations"]["team"] == "vision"
    assert job["spec"]["template"]["spec"]["restartPolicy"] == "Never"

    await wait_for(
        "events",
        lambda events: any(
            e["reason"] == "Created" and e["message"] == "created job hello"
            for e in events["items"]
        ),
    )


async def test_oom_killed_task_fails_with_reason_and_exit_code(
    controllers: Manager, kubectl: Kubectl, namespace: str, wait_for: WaitFor
) -> None:
    oom = task(
        "oom",
        ["sh", "-c", "exit 137"],
        pod_labels={FAIL_LABEL: "true"},
        annotations={FAIL_EXIT_CODE_ANNOTATION: "137", FAIL_REASON_ANNOTATION: "OOMKilled"},
    )
    await apply(kubectl, namespace, oom)
    # the Job's and the pod's updates come on separate watches: wait for both to be seen
    failed = await wait_for(
        "xtask/oom", lambda t: "OOMKilled" in t["status"]["message"], phase="Failed"
    )
    status = failed["status"]
    assert status["reason"] == "BackoffLimitExceeded"
    assert "OOMKilled" in status["message"]
    assert "137" in status["message"]
    assert status["exitCode"] == 137
    assert condition(failed, "Succeeded")["status"] == "False"


async def test_inputs_are_rendered_into_the_job_of_a_hand_applied_task(
    controllers: Manager, kubectl: Kubectl, namespace: str, wait_for: WaitFor
) -> None:
    inputs = [
        {"name": "x", "value": {"string": "hello"}},
        {"name": "count", "value": {"integer": 3}},
    ]
    await apply(
        kubectl,
        namespace,
        task("render", ["sh", "-c", "echo $(inputs.x) $(inputs.count)"], inputs=inputs),
    )
    await wait_for("xtask/render", phase="Succeeded")
    job = await get_json(kubectl, namespace, "job/render")
    [container] = job["spec"]["template"]["spec"]["containers"]
    assert container["command"] == ["sh", "-c", "echo hello 3"]
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert env["XEEM_INPUT_X"] == "hello"
    assert env["XEEM_INPUT_COUNT"] == "3"


async def test_deleting_a_task_deletes_its_job(
    controllers: Manager, kubectl: Kubectl, namespace: str, wait_for: WaitFor
) -> None:
    await apply(kubectl, namespace, task("doomed", ["sleep", "3600"]))
    await wait_for("job/doomed")
    code, _, err = await kubectl("delete", "-n", namespace, "xtask/doomed")
    assert code == 0, err
    code, _, err = await kubectl(
        "wait", "-n", namespace, "--for=delete", "job/doomed", "--timeout=60s"
    )
    assert code == 0, err


async def test_a_job_spec_the_api_rejects_fails_the_task_once(
    controllers: Manager, kubectl: Kubectl, namespace: str, wait_for: WaitFor
) -> None:
    bad = task("bad", container={"name": "Not_A_DNS_Label", "image": "busybox:1.36"})
    await apply(kubectl, namespace, bad)
    failed = await wait_for("xtask/bad", phase="Failed")
    status = failed["status"]
    assert status["reason"] == "InvalidSpec"
    assert "rejected by the API server" in status["message"]
    assert "Not_A_DNS_Label" in status["message"]
    assert condition(failed, "Succeeded")["reason"] == "InvalidSpec"
    code, _, _ = await kubectl("get", "-n", namespace, "job/bad")
    assert code != 0
    # a terminal error: counted once and not retried
    await eventually(lambda: _terminal_errors(controllers) == 1, what="one terminal error")
    await asyncio.sleep(1)
    assert _terminal_errors(controllers) == 1


async def test_an_unknown_input_reference_fails_the_task(
    controllers: Manager, kubectl: Kubectl, namespace: str, wait_for: WaitFor
) -> None:
    await apply(kubectl, namespace, task("typo", ["echo", "$(inputs.nope)"]))
    failed = await wait_for("xtask/typo", phase="Failed")
    assert failed["status"]["reason"] == "InvalidSpec"
    assert "$(inputs.nope) names no input" in failed["status"]["message"]


async def test_a_job_owned_by_someone_else_is_left_alone(
    controllers: Manager, kubectl: Kubectl, namespace: str, wait_for: WaitFor
) -> None:
    await apply(
        kubectl, namespace, {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "boss"}}
    )
    boss = await get_json(kubectl, namespace, "configmap/boss")
    foreign = task("taken")
    job = {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {
            "name": "taken",
            "ownerReferences": [
                {
                    "apiVersion": "v1",
                    "kind": "ConfigMap",
                    "name": "boss",
                    "uid": boss["metadata"]["uid"],
                    "controller": True,
                }
            ],
        },
        "spec": {**foreign["spec"]["job"], "suspend": True},
    }
    job["spec"]["template"]["spec"]["restartPolicy"] = "Never"
    await apply(kubectl, namespace, job)
    await apply(kubectl, namespace, foreign)
    pending = await wait_for(
        "xtask/taken", lambda t: (t.get("status") or {}).get("reason") == "OwnedByOther"
    )
    assert pending["status"]["phase"] == "Pending"
    assert "controlled by ConfigMap boss" in pending["status"]["message"]
    after = await get_json(kubectl, namespace, "job/taken")
    assert controller_ref(after)["kind"] == "ConfigMap"
    # once the foreign Job is gone, the Task creates its own at once (no polling)
    code, _, err = await kubectl("delete", "-n", namespace, "job/taken", "--cascade=foreground")
    assert code == 0, err
    await wait_for("xtask/taken", phase="Succeeded")


def _terminal_errors(manager: Manager) -> float:
    """Terminal errors of both controllers that work on Tasks (``task-start`` meets a new
    Task's invalid spec first)."""
    return sum(
        float(
            manager.metrics.registry.get_sample_value(
                "controller_runtime_terminal_reconcile_errors_total", {"controller": controller}
            )
            or 0.0
        )
        for controller in ("task", "task-start")
    )
