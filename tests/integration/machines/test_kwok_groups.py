"""A VirtualMachineGroup with the kwok provider on the local control plane: machines, Nodes,
disks bound by the real PV binder, failure injection, replacement, WaitForFirstConsumer."""

from __future__ import annotations

import time

import pytest
import structlog

from tests.integration.machines.machine_helpers import (
    delete_type,
    get,
    group,
    group_in_phase,
    kwok_nodes,
    machine_type,
    persistent_volume,
    release_all,
    running,
    until,
)
from tests.kube import Kubectl
from xeem.controllers.kinds import (
    BLOCK_STORAGE,
    VIRTUAL_MACHINE,
    VIRTUAL_MACHINE_GROUP,
    VIRTUAL_MACHINE_TYPE,
)
from xeem.providers.base import MACHINE_UID_LABEL, XVMG_LABEL
from xeem.providers.pvc import STORAGE_CLASS
from xeem.runtime.client import Client
from xeem.runtime.resource import NODE, PERSISTENT_VOLUME, PERSISTENT_VOLUME_CLAIM

pytestmark = pytest.mark.integration
log = structlog.get_logger("tests.machines")

XBSES = [
    {"name": "scratch", "sizeGB": 1, "storageClassName": "", "mountPath": "/scratch"},
    {"name": "data", "sizeGB": 1, "storageClassName": "", "mountPath": "/data"},
]


def conditions(obj: dict) -> dict[str, str]:  # type: ignore[type-arg]
    return {c["type"]: c["status"] for c in (obj.get("status") or {}).get("conditions") or ()}


async def test_two_machines_become_ready_with_their_nodes_and_disks(
    api: Client, kubeconfig: str, namespace: str, kubectl: Kubectl
) -> None:
    type_name, storage_class = f"kwok-{namespace}", f"sc-{namespace}"
    xbses = [{**x, "storageClassName": storage_class} for x in XBSES]
    pvs = [f"{namespace}-pv-{i}" for i in range(4)]
    await api.create(VIRTUAL_MACHINE_TYPE, machine_type(type_name))
    for pv in pvs:
        await api.create(PERSISTENT_VOLUME, persistent_volume(pv, storage_class))
    try:
        async with running(kubeconfig, namespace):
            started = time.monotonic()
            await api.create(
                VIRTUAL_MACHINE_GROUP, group("gpu", 2, type_name, xbses), namespace=namespace
            )
            ready = await group_in_phase(api, namespace, "gpu", "Ready")
            log.info(
                "group ready (2 machines, 4 disks)", seconds=round(time.monotonic() - started, 3)
            )
            status = ready["status"]
            assert (status["replicas"], status["readyReplicas"], status["ready"]) == (2, 2, "2/2")
            assert conditions(ready) == {"Ready": "True", "ReplicaFailure": "False"}

            nodes = await kwok_nodes(api, namespace)
            assert len(nodes) == 2
            for node in nodes:
                assert node["metadata"]["labels"][XVMG_LABEL] == "gpu"
                assert {"key": XVMG_LABEL, "value": "gpu", "effect": "NoSchedule"} in node["spec"][
                    "taints"
                ]
                assert node["status"]["allocatable"]["nvidia.com/gpu"] == "1"
                assert node["status"]["allocatable"]["cpu"] == "4"
                assert conditions(node)["Ready"] == "True"
            machines = await api.list(VIRTUAL_MACHINE, namespace)
            assert sorted(m["metadata"]["name"] for m in machines) == ["gpu-0", "gpu-1"]
            for machine in machines:
                assert machine["status"]["phase"] == "Running"
                assert machine["status"]["nodeName"] in {n["metadata"]["name"] for n in nodes}
                assert machine["status"]["providerID"].startswith("kwok://")
                assert conditions(machine) == {
                    "Launched": "True",
                    "Registered": "True",
                    "Ready": "True",
                }
                assert "xeem.io/release" in machine["metadata"]["finalizers"]
            disks = await api.list(BLOCK_STORAGE, namespace)
            assert sorted(d["metadata"]["name"] for d in disks) == [
                "gpu-0-data", "gpu-0-scratch", "gpu-1-data", "gpu-1-scratch"
            ]  # fmt: skip
            assert {d["status"]["phase"] for d in disks} == {"Attached"}
            claims = await api.list(PERSISTENT_VOLUME_CLAIM, namespace)
            assert {c["status"]["phase"] for c in claims} == {"Bound"}
            assert len(claims) == 4

            code, out, _ = await kubectl("get", "xvmg", "-n", namespace)
            assert code == 0
            assert "2/2" in out, out
            assert "Ready" in out, out

            await api.delete(VIRTUAL_MACHINE_GROUP, "gpu", namespace)
            await release_all(api, namespace, pvs=pvs)
    finally:
        await delete_type(api, type_name)


async def test_time_to_ready_for_two_machines(api: Client, kubeconfig: str, namespace: str) -> None:
    """The number the issue asks for: group created -> group Ready, kwok, 0 s delay."""
    type_name = f"kwok-{namespace}"
    await api.create(VIRTUAL_MACHINE_TYPE, machine_type(type_name))
    try:
        async with running(kubeconfig, namespace):
            samples = []
            for attempt in range(3):
                name = f"fast-{attempt}"
                started = time.monotonic()
                await api.create(
                    VIRTUAL_MACHINE_GROUP, group(name, 2, type_name), namespace=namespace
                )
                await group_in_phase(api, namespace, name, "Ready")
                samples.append(round(time.monotonic() - started, 3))
            log.info("group created -> Ready, 2 kwok machines, 0 s delay", seconds=samples)
            print(f"\nxvmg 2 machines kwok 0s delay: created -> Ready in {samples} s")
            await release_all(api, namespace)
    finally:
        await delete_type(api, type_name)


async def test_injected_failure_fails_the_group_with_the_reason(
    api: Client, kubeconfig: str, namespace: str
) -> None:
    type_name = f"broken-{namespace}"
    await api.create(
        VIRTUAL_MACHINE_TYPE,
        machine_type(type_name, failProvisioning="true", failMessage="no capacity in zone-a"),
    )
    try:
        async with running(kubeconfig, namespace):
            await api.create(VIRTUAL_MACHINE_GROUP, group("bad", 2, type_name), namespace=namespace)
            failed = await group_in_phase(api, namespace, "bad", "Failed")
            status = failed["status"]
            assert status["reason"] == "ProvisioningFailed"
            assert status["message"].startswith("machine bad-")
            assert "no capacity in zone-a" in status["message"]
            assert conditions(failed)["ReplicaFailure"] == "True"
            machine = await get(api, VIRTUAL_MACHINE, "bad-0", namespace)
            assert machine is not None
            assert machine["status"]["phase"] == "Failed"
            assert not await kwok_nodes(api, namespace)
            await release_all(api, namespace)
    finally:
        await delete_type(api, type_name)


async def test_a_lost_machine_is_replaced(api: Client, kubeconfig: str, namespace: str) -> None:
    type_name = f"kwok-{namespace}"
    await api.create(VIRTUAL_MACHINE_TYPE, machine_type(type_name))
    try:
        async with running(kubeconfig, namespace):
            await api.create(VIRTUAL_MACHINE_GROUP, group("g", 1, type_name), namespace=namespace)
            await group_in_phase(api, namespace, "g", "Ready")
            first = await get(api, VIRTUAL_MACHINE, "g-0", namespace)
            assert first is not None
            await api.delete(NODE, first["status"]["nodeName"])

            async def replaced() -> dict | None:  # type: ignore[type-arg]
                vm = await get(api, VIRTUAL_MACHINE, "g-0", namespace)
                if vm and vm["metadata"]["uid"] != first["metadata"]["uid"]:
                    return vm if (vm.get("status") or {}).get("phase") == "Running" else None
                return None

            second = await until(replaced, what="g-0 replaced and Running")
            nodes = await kwok_nodes(api, namespace)
            assert [n["metadata"]["labels"][MACHINE_UID_LABEL] for n in nodes] == [
                second["metadata"]["uid"]
            ]
            await group_in_phase(api, namespace, "g", "Ready")
            await release_all(api, namespace)
    finally:
        await delete_type(api, type_name)


async def test_wait_for_first_consumer_disks_are_attached_once_the_machine_runs(
    api: Client, kubeconfig: str, namespace: str
) -> None:
    type_name, storage_class = f"kwok-{namespace}", f"wffc-{namespace}"
    await api.create(VIRTUAL_MACHINE_TYPE, machine_type(type_name))
    await api.create(
        STORAGE_CLASS,
        {
            "apiVersion": "storage.k8s.io/v1",
            "kind": "StorageClass",
            "metadata": {"name": storage_class},
            "provisioner": "kubernetes.io/no-provisioner",
            "volumeBindingMode": "WaitForFirstConsumer",
        },
    )
    xbses = [{**XBSES[0], "storageClassName": storage_class}]
    try:
        async with running(kubeconfig, namespace):
            await api.create(
                VIRTUAL_MACHINE_GROUP, group("w", 1, type_name, xbses), namespace=namespace
            )
            await group_in_phase(api, namespace, "w", "Ready")
            disk = await get(api, BLOCK_STORAGE, "w-0-scratch", namespace)
            assert disk is not None
            assert disk["status"]["phase"] == "Attached"
            assert "first pod" in disk["status"]["message"]
            claim = await get(api, PERSISTENT_VOLUME_CLAIM, "w-0-scratch", namespace)
            assert claim is not None
            assert claim["status"]["phase"] == "Pending"
            await release_all(api, namespace)
    finally:
        await api.delete(STORAGE_CLASS, storage_class, ignore_not_found=True)
        await delete_type(api, type_name)
