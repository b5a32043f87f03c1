"""Machines on demand end to end: workflows with xvmgTemplates, kwok and nodepool providers.

These run on the local control plane only: machines are simulated Nodes that the harness's
kwok makes Ready. After each test, nothing it created is left: no VirtualMachine,
BlockStorage, provider Node or PVC.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio

from tests.e2e.workflows import (
    CreationWatch,
    items,
    job_node,
    node_phases,
    wait_for_phase,
    workflow,
)
from tests.kube import Kubectl, apply, get_json
from xeem.testing import LocalControlPlane
from xeem.testing.controller import XeemController
from xeem.testing.kwok import fake_node

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("controller")]

XVMG_LABEL = "xeem.io/xvmg"


@pytest.fixture(autouse=True)
def local_only(control_plane: LocalControlPlane | None) -> None:
    if control_plane is None:
        pytest.skip("machines are simulated by the local control plane's kwok")


async def cluster_apply(kubectl: Kubectl, *objects: dict[str, Any]) -> None:
    code, _, err = await kubectl(
        "apply",
        "-f",
        "-",
        input=json.dumps({"apiVersion": "v1", "kind": "List", "items": list(objects)}),
    )
    assert code == 0, err


@pytest_asyncio.fixture(loop_scope="session")
async def machine_type(kubectl: Kubectl, namespace: str) -> AsyncIterator[str]:
    """A kwok VirtualMachineType (0 s provisioning) and PVs for its disks; all removed after."""
    name = f"small-{namespace}"
    await cluster_apply(kubectl, vm_type(name))
    pvs = [
        {
            "apiVersion": "v1",
            "kind": "PersistentVolume",
            "metadata": {"name": f"{namespace}-pv-{i}", "labels": {"e2e": namespace}},
            "spec": {
                "capacity": {"storage": "1Gi"},
                "accessModes": ["ReadWriteOnce"],
                "storageClassName": f"scratch-{namespace}",
                "hostPath": {"path": f"/tmp/{namespace}-{i}"},
            },
        }
        for i in range(4)
    ]
    await cluster_apply(kubectl, *pvs)
    yield name
    await assert_nothing_left(kubectl, namespace)
    await kubectl("delete", f"virtualmachinetype.xeem.io/{name}", "--ignore-not-found")
    await kubectl("delete", "pv", "-l", f"e2e={namespace}", "--wait=false")


def vm_type(name: str, **parameters: str) -> dict[str, Any]:
    return {
        "apiVersion": "xeem.io/v1alpha1",
        "kind": "VirtualMachineType",
        "metadata": {"name": name},
        "spec": {
            "cpu": 8,
            "memory": "32Gi",
            "provider": "kwok",
            "parameters": {"provisioningDelaySeconds": "0", **parameters},
        },
    }


def pool(name: str, vm_type_name: str, size: int = 2, disks: bool = True) -> dict[str, Any]:
    template: dict[str, Any] = {"type": vm_type_name, "rootVolumeSizeGB": 20}
    if disks:
        storage_class = vm_type_name.replace("small-", "scratch-")
        template["xbses"] = [
            {
                "name": "scratch",
                "sizeGB": 1,
                "storageClassName": storage_class,
                "mountPath": "/scratch",
            }
        ]
    return {"name": name, "minSize": size, "maxSize": size, "template": template}


def on_machines(node: dict[str, Any], template: str) -> dict[str, Any]:
    return {**node, "xvmgTemplateName": template}


async def wait_until_empty(kubectl: Kubectl, namespace: str, resource: str) -> list[Any]:
    left: list[Any] = []
    for _ in range(300):
        left = await items(kubectl, namespace, resource)
        if not left:
            return left
        await asyncio.sleep(0.2)
    return left


async def provider_nodes(kubectl: Kubectl, namespace: str) -> list[dict[str, Any]]:
    nodes = await get_json(kubectl, "default", "nodes", "-l", f"xeem.io/xvmg-namespace={namespace}")
    return list(nodes["items"])


async def assert_nothing_left(kubectl: Kubectl, namespace: str) -> None:
    for resource in ("virtualmachines.xeem.io", "blockstorages.xeem.io", "persistentvolumeclaims"):
        assert not await wait_until_empty(kubectl, namespace, resource), f"{resource} left"
    for _ in range(300):
        if not await provider_nodes(kubectl, namespace):
            break
        await asyncio.sleep(0.2)
    assert not await provider_nodes(kubectl, namespace), "provider Nodes left"


async def test_a_node_runs_on_its_own_machines_and_they_go_away_after(
    kubectl: Kubectl, namespace: str, machine_type: str
) -> None:
    wf = workflow(
        "trainer",
        [
            job_node("prepare"),
            on_machines(job_node("train", depends=["prepare"], command="echo $XEEM_XVMG"), "gpu"),
            job_node("report", depends=["train"]),
        ],
        xvmgTemplates=[pool("gpu", machine_type)],
    )
    await apply(kubectl, namespace, wf)
    done = await wait_for_phase(kubectl, namespace, "trainer")
    assert done["status"]["phase"] == "Succeeded", done["status"]
    train = next(n for n in done["status"]["nodes"] if n["name"] == "train")
    assert train["xvmg"] == "trainer-gpu"

    job = await get_json(kubectl, namespace, "job/trainer-train")
    pod_spec = job["spec"]["template"]["spec"]
    assert pod_spec["nodeSelector"] == {XVMG_LABEL: "trainer-gpu"}
    assert {
        "key": XVMG_LABEL,
        "operator": "Equal",
        "value": "trainer-gpu",
        "effect": "NoSchedule",
    } in pod_spec["tolerations"]
    env = {e["name"]: e.get("value") for e in pod_spec["containers"][0]["env"]}
    assert (env["XEEM_XVMG"], env["XEEM_XVMG_SIZE"]) == ("trainer-gpu", "2")
    pods = await get_json(kubectl, namespace, "pods", "-l", "job-name=trainer-train")
    ran_on = {p["spec"]["nodeName"] for p in pods["items"]}
    events = await get_json(
        kubectl, namespace, "events", "--field-selector", "involvedObject.name=trainer"
    )
    reasons = [e["reason"] for e in events["items"]]
    assert "MachinesRequested" in reasons
    assert "MachinesReleased" in reasons
    assert ran_on
    assert all(name.startswith("xvm-") for name in ran_on), ran_on
    # the group is released once its last user is done; everything under it goes too
    assert not await wait_until_empty(kubectl, namespace, "virtualmachinegroups.xeem.io")
    await assert_nothing_left(kubectl, namespace)


async def test_two_nodes_naming_one_template_share_one_group(
    kubectl: Kubectl, namespace: str, machine_type: str
) -> None:
    wf = workflow(
        "shared",
        [
            on_machines(job_node("left"), "pool"),
            on_machines(job_node("right"), "pool"),
            on_machines(job_node("after", depends=["left", "right"]), "pool"),
        ],
        xvmgTemplates=[pool("pool", machine_type, disks=False)],
    )
    await apply(kubectl, namespace, wf)
    done = await wait_for_phase(kubectl, namespace, "shared")
    assert done["status"]["phase"] == "Succeeded", done["status"]
    assert {n["xvmg"] for n in done["status"]["nodes"]} == {"shared-pool"}
    events = await get_json(
        kubectl, namespace, "events", "--field-selector", "involvedObject.name=shared"
    )
    requested = [e for e in events["items"] if e["reason"] == "MachinesRequested"]
    assert len(requested) == 1, requested
    assert requested[0].get("count", 1) == 1, requested
    await assert_nothing_left(kubectl, namespace)


async def test_a_machine_that_fails_to_provision_makes_its_node_error(
    kubectl: Kubectl, namespace: str, machine_type: str
) -> None:
    broken = f"broken-{namespace}"
    await cluster_apply(
        kubectl, vm_type(broken, failProvisioning="true", failMessage="no capacity in zone-a")
    )
    try:
        wf = workflow(
            "unlucky",
            [on_machines(job_node("train"), "gpu"), job_node("after", depends=["train"])],
            xvmgTemplates=[pool("gpu", broken, disks=False)],
        )
        await apply(kubectl, namespace, wf)
        done = await wait_for_phase(kubectl, namespace, "unlucky")
        assert done["status"]["phase"] == "Failed"
        assert node_phases(done) == {"train": "Error", "after": "Omitted"}
        train = next(n for n in done["status"]["nodes"] if n["name"] == "train")
        assert "no capacity in zone-a" in train["message"], train
        tasks = await items(kubectl, namespace, "tasks.xeem.io")
        assert not tasks
        await assert_nothing_left(kubectl, namespace)
    finally:
        await kubectl("delete", f"virtualmachinetype.xeem.io/{broken}", "--ignore-not-found")


async def test_a_controller_killed_mid_provisioning_leaks_nothing_and_makes_no_extra_machine(
    kubectl: Kubectl,
    kubectl_binary: str,
    kubeconfig: str,
    namespace: str,
    machine_type: str,
    controller: XeemController,
) -> None:
    slow = f"slow-{namespace}"
    await cluster_apply(kubectl, vm_type(slow, provisioningDelaySeconds="3"))
    machines = CreationWatch(kubectl_binary, kubeconfig, "virtualmachines.xeem.io", "-n", namespace)
    nodes = CreationWatch(kubectl_binary, kubeconfig, "nodes")
    try:
        async with machines, nodes:
            wf = workflow(
                "patient",
                [on_machines(job_node("train"), "gpu")],
                xvmgTemplates=[pool("gpu", slow, disks=False)],
            )
            await apply(kubectl, namespace, wf)
            for _ in range(150):
                if len(await items(kubectl, namespace, "virtualmachines.xeem.io")) == 2:
                    break
                await asyncio.sleep(0.1)
            await controller.kill()
            await asyncio.sleep(1)
            await controller.start()
            done = await wait_for_phase(kubectl, namespace, "patient", timeout=120)
            assert done["status"]["phase"] == "Succeeded", done["status"]
            await assert_nothing_left(kubectl, namespace)
    finally:
        await kubectl("delete", f"virtualmachinetype.xeem.io/{slow}", "--ignore-not-found")
    assert len(machines.created) == 2, machines.created
    assert all(len(uids) == 1 for uids in machines.created.values()), machines.created
    made_nodes = [n for n in nodes.created if n.startswith(f"xvm-{namespace}")]
    assert len(made_nodes) == 2, nodes.created


async def test_nodepool_claims_existing_nodes_and_releases_them(
    kubectl: Kubectl, namespace: str, machine_type: str
) -> None:
    pool_label = {"e2e-pool": namespace}
    nodes = [fake_node(f"pool-{namespace}-{i}", pool_label) for i in range(3)]
    await cluster_apply(kubectl, *nodes)
    pool_type = f"pool-{namespace}"
    await cluster_apply(
        kubectl,
        {
            "apiVersion": "xeem.io/v1alpha1",
            "kind": "VirtualMachineType",
            "metadata": {"name": pool_type},
            "spec": {
                "cpu": 8,
                "memory": "32Gi",
                "provider": "nodepool",
                "nodeSelector": pool_label,
            },
        },
    )
    try:
        wf = workflow(
            "pooled",
            [on_machines(job_node("train", command="sleep 2"), "gpu")],
            xvmgTemplates=[pool("gpu", pool_type, disks=False)],
        )
        await apply(kubectl, namespace, wf)
        claimed: list[str] = []
        for _ in range(150):
            labelled = await get_json(kubectl, "default", "nodes", "-l", f"{XVMG_LABEL}=pooled-gpu")
            claimed = [n["metadata"]["name"] for n in labelled["items"]]
            if len(claimed) == 2:
                break
            await asyncio.sleep(0.1)
        assert len(claimed) == 2, claimed
        done = await wait_for_phase(kubectl, namespace, "pooled")
        assert done["status"]["phase"] == "Succeeded", done["status"]
        pods = await get_json(kubectl, namespace, "pods", "-l", "job-name=pooled-train")
        assert {p["spec"]["nodeName"] for p in pods["items"]} <= set(claimed)
        for _ in range(300):
            still = await get_json(kubectl, "default", "nodes", "-l", XVMG_LABEL)
            if not [n for n in still["items"] if n["metadata"]["name"] in claimed]:
                break
            await asyncio.sleep(0.2)
        for name in claimed:
            node = await get_json(kubectl, "default", f"node/{name}")
            assert XVMG_LABEL not in node["metadata"]["labels"], node["metadata"]["labels"]
            taints = node["spec"].get("taints") or []
            assert not [t for t in taints if t["key"] == XVMG_LABEL], taints
        assert not await wait_until_empty(kubectl, namespace, "virtualmachines.xeem.io")
    finally:
        await kubectl("delete", f"virtualmachinetype.xeem.io/{pool_type}", "--ignore-not-found")
        for node in nodes:
            await kubectl("delete", "node", node["metadata"]["name"], "--wait=false")
