"""Workflows end to end: the real controller (as its ServiceAccount) on a real cluster."""

from __future__ import annotations

import asyncio
import json

import pytest

from tests.e2e.workflows import (
    CreationWatch,
    condition,
    items,
    job_node,
    node_phases,
    ref,
    service_node,
    static,
    wait_for_phase,
    workflow,
)
from tests.kube import Kubectl, apply, get_json
from xeem.testing.controller import XeemController

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("controller")]


def env_of(job: dict[str, object]) -> dict[str, str]:
    container = job["spec"]["template"]["spec"]["containers"][0]  # type: ignore[index]
    return {e["name"]: e.get("value", "") for e in container.get("env", [])}


async def test_chain_resolves_inputs_through_two_generations(
    kubectl: Kubectl, namespace: str
) -> None:
    wf = workflow(
        "chain",
        [
            job_node("fetch", inputs=[static("dataset", string="imagenet-mini")]),
            job_node("clean", depends=["fetch"], inputs=[ref("dataset", "dataset", "fetch")]),
            job_node(
                "report",
                depends=["clean"],
                inputs=[ref("dataset", "dataset", "clean"), ref("modelName", "model")],
                command="echo $(inputs.dataset) $(inputs.modelName)",
            ),
        ],
        inputs=[static("model", string="resnet50")],
    )
    await apply(kubectl, namespace, wf)
    done = await wait_for_phase(kubectl, namespace, "chain")
    assert done["status"]["phase"] == "Succeeded", done["status"]
    assert node_phases(done) == {"fetch": "Succeeded", "clean": "Succeeded", "report": "Succeeded"}
    assert done["status"]["progress"] == "3/3"
    job = await get_json(kubectl, namespace, "job/chain-report")
    env = env_of(job)
    assert env["XEEM_INPUT_DATASET"] == "imagenet-mini"
    assert env["XEEM_INPUT_MODELNAME"] == "resnet50"
    assert env["XEEM_INPUT_MODEL"] == "resnet50"
    assert env["XEEM_WORKFLOW"] == "chain"
    assert env["XEEM_NODE"] == "report"
    command = job["spec"]["template"]["spec"]["containers"][0]["command"]
    assert command == ["sh", "-c", "echo imagenet-mini resnet50"]
    task = await get_json(kubectl, namespace, "task.xeem.io/chain-report")
    [owner] = task["metadata"]["ownerReferences"]
    assert (owner["kind"], owner["name"], owner["controller"]) == ("Workflow", "chain", True)


async def test_failure_omits_dependents_while_an_independent_branch_finishes(
    kubectl: Kubectl, namespace: str
) -> None:
    wf = workflow(
        "diamond",
        [
            job_node("root"),
            job_node("left", depends=["root"], fail_with=3),
            job_node("right", depends=["root"]),
            job_node("join", depends=["left", "right"]),
            job_node("after-join", depends=["join"]),
            job_node("independent", command="sleep 2"),
        ],
    )
    await apply(kubectl, namespace, wf)
    done = await wait_for_phase(kubectl, namespace, "diamond")
    assert done["status"]["phase"] == "Failed"
    assert node_phases(done) == {
        "root": "Succeeded",
        "left": "Failed",
        "right": "Succeeded",
        "join": "Omitted",
        "after-join": "Omitted",
        "independent": "Succeeded",
    }
    left = next(n for n in done["status"]["nodes"] if n["name"] == "left")
    assert "3" in left["message"], left
    tasks = {t["metadata"]["name"] for t in await items(kubectl, namespace, "tasks.xeem.io")}
    assert "diamond-join" not in tasks
    assert "diamond-after-join" not in tasks


async def test_skipped_node_and_an_exit_expression_that_forgives_a_failure(
    kubectl: Kubectl, namespace: str
) -> None:
    wf = workflow(
        "forgiving",
        [
            job_node("prepare"),
            job_node("train", depends=["prepare"]),
            job_node("optional-lint", fail_with=1),
        ],
        skippedNodes=["prepare"],
        exitPhaseExpression='nodes.train.phase == "Succeeded"',
    )
    await apply(kubectl, namespace, wf)
    done = await wait_for_phase(kubectl, namespace, "forgiving")
    assert node_phases(done) == {
        "prepare": "Skipped",
        "train": "Succeeded",
        "optional-lint": "Failed",
    }
    assert done["status"]["phase"] == "Succeeded"
    tasks = {t["metadata"]["name"] for t in await items(kubectl, namespace, "tasks.xeem.io")}
    assert tasks == {"forgiving-train", "forgiving-optional-lint"}


async def test_a_service_holds_its_dependent_back_until_ready(
    kubectl: Kubectl, namespace: str
) -> None:
    label = f"xeem-e2e-{namespace}"
    wf = workflow(
        "serving",
        [
            service_node("api", node_selector={label: "yes"}),
            job_node("smoke-test", depends=["api"]),
        ],
    )
    await apply(kubectl, namespace, wf)
    await asyncio.sleep(3)
    held = await get_json(kubectl, namespace, "workflow.xeem.io/serving")
    assert node_phases(held) == {"api": "Running", "smoke-test": "Pending"}
    service = await get_json(kubectl, namespace, "service.xeem.io/serving-api")
    assert service["status"]["phase"] == "Progressing"
    assert "FailedScheduling" in service["status"]["message"]
    code, _, _ = await kubectl("get", "-n", namespace, "task.xeem.io/serving-smoke-test")
    assert code != 0, "the dependent must not start before the Service is Ready"

    nodes = await get_json(kubectl, namespace, "nodes")
    node = nodes["items"][0]["metadata"]["name"]
    code, _, err = await kubectl("label", "node", node, f"{label}=yes")
    assert code == 0, err
    try:
        done = await wait_for_phase(kubectl, namespace, "serving")
    finally:
        await kubectl("label", "node", node, f"{label}-")
    assert done["status"]["phase"] == "Succeeded"
    assert node_phases(done) == {"api": "Ready", "smoke-test": "Succeeded"}
    deployment = await get_json(kubectl, namespace, "deployment/serving-api")
    assert deployment["status"]["readyReplicas"] == 2
    core = await get_json(kubectl, namespace, "service/serving-api")
    assert core["spec"]["ports"][0]["port"] == 80


async def test_an_xmount_input_becomes_a_volume_in_the_job(
    kubectl: Kubectl, namespace: str
) -> None:
    mount = {
        "serverAddr": "10.1.2.3:9000",
        "mountID": "vol-42",
        "mountPath": "/data",
        "readOnly": True,
    }
    wf = workflow(
        "mounted",
        [job_node("read", inputs=[static("data", xMount=mount)], command="ls $(inputs.data)")],
    )
    await apply(kubectl, namespace, wf)
    for _ in range(100):
        code, out, _ = await kubectl("get", "-n", namespace, "job/mounted-read", "-o", "json")
        if code == 0:
            break
        await asyncio.sleep(0.2)
    assert code == 0, "the Job was not created"
    pod = json.loads(out)["spec"]["template"]["spec"]
    [volume] = [v for v in pod["volumes"] if "nfs" in v]
    assert volume["nfs"] == {"server": "10.1.2.3", "path": "/vol-42", "readOnly": True}
    container = pod["containers"][0]
    [mounted] = [m for m in container["volumeMounts"] if m["name"] == volume["name"]]
    assert mounted["mountPath"] == "/data"
    assert container["command"] == ["sh", "-c", "ls /data"]


async def test_invalid_workflows_are_reported_while_others_keep_running(
    kubectl: Kubectl, namespace: str
) -> None:
    cycle = workflow(
        "cycle",
        [job_node("a", depends=["c"]), job_node("b", depends=["a"]), job_node("c", depends=["b"])],
    )
    stranger = workflow(
        "stranger",
        [
            job_node("left", inputs=[static("token", string="x")]),
            job_node("right", inputs=[ref("token", "token", "left")]),
        ],
    )
    healthy = workflow("healthy", [job_node("one"), job_node("two", depends=["one"])])
    await apply(kubectl, namespace, cycle, stranger, healthy)

    for name, expected in (
        ("cycle", ["a", "b", "c", "cycle"]),
        ("stranger", ["spec.nodes[right].inputs[token].valueFrom.inputRef", "left"]),
    ):
        bad = await wait_for_phase(kubectl, namespace, name, ("Error",))
        valid = condition(bad, "Valid")
        assert valid["status"] == "False"
        assert valid["reason"] == "InvalidSpec"
        for fragment in expected:
            assert fragment in valid["message"], (fragment, valid["message"])
    done = await wait_for_phase(kubectl, namespace, "healthy")
    assert done["status"]["phase"] == "Succeeded"
    tasks = {t["metadata"]["name"] for t in await items(kubectl, namespace, "tasks.xeem.io")}
    assert tasks == {"healthy-one", "healthy-two"}
    events = await get_json(
        kubectl, namespace, "events", "--field-selector", "involvedObject.name=cycle"
    )
    assert any(e["reason"] == "InvalidSpec" for e in events["items"])


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (
            {
                "nodes": [job_node("a", inputs=[static("x", string="s", integer=1)])],
            },
            "exactly one of string, integer, bool or xMount must be set",
        ),
        (
            {
                "nodes": [job_node("a")],
                "xvmgTemplates": [
                    {"name": "pool", "minSize": 1, "maxSize": 2, "template": {"type": "small"}}
                ],
            },
            "minSize must equal maxSize",
        ),
    ],
    ids=["two-value-types", "min-size-not-max-size"],
)
async def test_the_apiserver_rejects_what_the_schema_forbids(
    kubectl: Kubectl, namespace: str, spec: dict[str, object], message: str
) -> None:
    manifest = {**workflow("rejected", []), "spec": spec}
    code, _, err = await kubectl("apply", "-n", namespace, "-f", "-", input=json.dumps(manifest))
    assert code != 0
    assert message in err


async def test_deleting_a_workflow_deletes_everything_it_created(
    kubectl: Kubectl, namespace: str
) -> None:
    wf = workflow("doomed", [service_node("web", replicas=1), job_node("batch", command="sleep 1")])
    await apply(kubectl, namespace, wf)
    await wait_for_phase(kubectl, namespace, "doomed")
    kinds = ("tasks.xeem.io", "services.xeem.io", "jobs", "deployments", "services")
    for kind in kinds:
        assert await items(kubectl, namespace, kind), f"no {kind} before the delete"
    code, _, err = await kubectl(
        "delete", "-n", namespace, "workflow.xeem.io/doomed", "--wait=true"
    )
    assert code == 0, err
    for kind in kinds:
        for _ in range(150):
            if not await items(kubectl, namespace, kind):
                break
            await asyncio.sleep(0.2)
        assert not await items(kubectl, namespace, kind), f"{kind} left after the delete"


async def test_a_killed_controller_finishes_the_run_without_creating_a_job_twice(
    kubectl: Kubectl,
    kubectl_binary: str,
    kubeconfig: str,
    namespace: str,
    controller: XeemController,
) -> None:
    fan = [job_node(f"step-{i}", depends=["start"]) for i in range(8)]
    nodes = [job_node("start"), *fan, job_node("end", depends=[n["name"] for n in fan])]
    async with CreationWatch(kubectl_binary, kubeconfig, "jobs", "-n", namespace) as jobs:
        await apply(kubectl, namespace, workflow("tenacious", nodes))
        for _ in range(150):
            if len(await items(kubectl, namespace, "tasks.xeem.io")) >= 2:
                break
            await asyncio.sleep(0.1)
        await controller.kill()
        await asyncio.sleep(2)
        await controller.start()
        done = await wait_for_phase(kubectl, namespace, "tenacious", timeout=120)
    assert done["status"]["phase"] == "Succeeded", done["status"]
    assert set(node_phases(done).values()) == {"Succeeded"}
    assert len(jobs.created) == 10
    assert all(len(uids) == 1 for uids in jobs.created.values()), jobs.created


async def test_the_controller_runs_as_its_service_account_only(kubectl: Kubectl) -> None:
    account = "system:serviceaccount:xeem-system:xeem-controller"
    for verb, resource, allowed in (
        ("create", "tasks.xeem.io", "yes"),
        ("list", "secrets", "no"),
        ("delete", "namespaces", "no"),
        ("create", "pods", "no"),
    ):
        _, out, _ = await kubectl("auth", "can-i", verb, resource, f"--as={account}")
        assert out.strip() == allowed, (verb, resource)
