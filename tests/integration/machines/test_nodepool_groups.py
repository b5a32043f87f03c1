"""The nodepool provider on the local control plane: it claims free Nodes matching the
type's selector, never one Node twice (even for two groups racing), and releases them."""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from tests.integration.machines.machine_helpers import (
    delete_type,
    group,
    group_in_phase,
    machine_type,
    release_all,
    running,
    until,
)
from xeem.controllers.kinds import VIRTUAL_MACHINE, VIRTUAL_MACHINE_GROUP, VIRTUAL_MACHINE_TYPE
from xeem.providers.base import MACHINE_UID_LABEL, XVMG_LABEL
from xeem.runtime.client import Client
from xeem.runtime.resource import NODE, Obj
from xeem.testing.kwok import fake_node

pytestmark = pytest.mark.integration


@pytest_asyncio.fixture(loop_scope="session")
async def pool(api: Client, namespace: str) -> AsyncIterator[str]:
    """Three kwok-managed Nodes labelled ``pool=<namespace>`` and a nodepool type selecting
    them (named like the namespace); all deleted after the test."""
    names = [f"pool-{namespace}-{i}" for i in range(3)]
    for name in names:
        await api.create(NODE, fake_node(name, {"pool": namespace}))
    vmt = machine_type(namespace, "nodepool")
    vmt["spec"]["nodeSelector"] = {"pool": namespace}
    await api.create(VIRTUAL_MACHINE_TYPE, vmt)
    try:
        yield namespace
    finally:
        await delete_type(api, namespace)
        for name in names:
            await api.delete(NODE, name, ignore_not_found=True)


async def pool_nodes(api: Client, pool: str) -> list[Obj]:
    return await api.list(NODE, label_selector={"pool": pool}, live=True)


def claims(nodes: list[Obj]) -> dict[str, str]:
    """Node name -> the machine UID that claimed it (claimed nodes only)."""
    return {
        n["metadata"]["name"]: n["metadata"]["labels"][MACHINE_UID_LABEL]
        for n in nodes
        if MACHINE_UID_LABEL in n["metadata"].get("labels", {})
    }


async def assert_all_released(api: Client, pool: str) -> None:
    for node in await pool_nodes(api, pool):
        labels = node["metadata"]["labels"]
        assert MACHINE_UID_LABEL not in labels
        assert XVMG_LABEL not in labels
        assert not [t for t in node["spec"].get("taints") or () if t["key"] == XVMG_LABEL]


async def test_claims_two_of_three_nodes_and_releases_them(
    api: Client, kubeconfig: str, namespace: str, pool: str
) -> None:
    async with running(kubeconfig, namespace):
        await api.create(VIRTUAL_MACHINE_GROUP, group("np", 2, pool), namespace=namespace)
        await group_in_phase(api, namespace, "np", "Ready")
        nodes = await pool_nodes(api, pool)
        claimed = claims(nodes)
        assert len(claimed) == 2
        machines = await api.list(VIRTUAL_MACHINE, namespace, live=True)
        assert sorted(claimed.values()) == sorted(m["metadata"]["uid"] for m in machines)
        assert {m["status"]["nodeName"] for m in machines} == set(claimed)
        for node in nodes:
            if node["metadata"]["name"] in claimed:
                assert node["metadata"]["labels"][XVMG_LABEL] == "np"
                taint = {"key": XVMG_LABEL, "value": "np", "effect": "NoSchedule"}
                assert taint in node["spec"]["taints"]
        await release_all(api, namespace)
        await assert_all_released(api, pool)
        assert len(await pool_nodes(api, pool)) == 3


async def test_two_groups_racing_never_share_a_node(
    api: Client, kubeconfig: str, namespace: str, pool: str
) -> None:
    async with running(kubeconfig, namespace):
        for name in ("a", "b"):
            await api.create(VIRTUAL_MACHINE_GROUP, group(name, 2, pool), namespace=namespace)

        async def settled() -> list[Obj] | None:
            machines = await api.list(VIRTUAL_MACHINE, namespace, live=True)
            phases = Counter((m.get("status") or {}).get("reason") for m in machines)
            return machines if phases == {"Running": 3, "NoFreeNode": 1} else None

        machines = await until(settled, what="3 machines Running, 1 waiting for a node")
        claimed = claims(await pool_nodes(api, pool))
        assert len(claimed) == 3
        assert len(set(claimed.values())) == 3, "a machine holds two nodes"
        running_nodes = [m["status"]["nodeName"] for m in machines if m["status"]["nodeName"]]
        assert len(running_nodes) == len(set(running_nodes)) == 3

        waiting = next(m for m in machines if m["status"]["reason"] == "NoFreeNode")
        other = "a" if waiting["spec"]["group"] == "b" else "b"
        await api.delete(VIRTUAL_MACHINE_GROUP, other, namespace)
        for machine in machines:  # not waiting for the garbage collector to find the CRD
            if machine["spec"]["group"] == other:
                await api.delete(VIRTUAL_MACHINE, machine["metadata"]["name"], namespace)
        await group_in_phase(api, namespace, waiting["spec"]["group"], "Ready")
        claimed = claims(await pool_nodes(api, pool))
        assert len(claimed) == 2
        await release_all(api, namespace)
        await assert_all_released(api, pool)
