"""The providers against an in-memory API: kwok Nodes, nodepool claims (and their race),
KubeVirt rendering and status mapping."""

from __future__ import annotations

import asyncio
import dataclasses
from typing import Any, cast

import pytest

from tests.unit.providers.fake_client import FakeClient
from xeem.api.vmtype import VirtualMachineTypeSpec
from xeem.api.xvmg import XbsTemplate
from xeem.providers.base import MACHINE_UID_LABEL, XVMG_LABEL, Machine, ObjectRef
from xeem.providers.kubevirt import observation, render_vm
from xeem.providers.kwok import KwokProvider, node_name
from xeem.providers.nodepool import NodePoolProvider
from xeem.providers.pvc import PvcVolumes
from xeem.runtime.client import Client
from xeem.runtime.resource import NODE, Obj

pytestmark = pytest.mark.unit


def machine(
    key: str = "uid-1", name: str = "g-0", provider: str = "kwok", **params: str
) -> Machine:
    spec = VirtualMachineTypeSpec(
        cpu="4", memory="8Gi", gpu=2, provider=provider, parameters=params,
        node_selector={"pool": "a"},
    )  # fmt: skip
    return Machine(
        ref=ObjectRef(key, "ns", name),
        group="g",
        index=0,
        type_name="big",
        type=spec,
        root_volume_size_gb=30,
        xbses=(XbsTemplate(name="data", size_gb=5, mount_path="/d"),),
        created_at=1000.0,
    )


def kwok(client: FakeClient, now: float = 1000.0) -> KwokProvider:
    c = cast(Client, client)
    return KwokProvider(c, PvcVolumes(c), now=lambda: now)


def test_node_names_are_deterministic_short_and_unique_per_uid() -> None:
    ref = ObjectRef("a" * 36, "a-very-long-namespace-name-for-tests", "workflow-template-" * 5)
    assert node_name(ref) == node_name(ref)
    assert len(node_name(ref)) <= 63
    assert node_name(ref) != node_name(ObjectRef("b" * 36, ref.namespace, ref.name))
    assert node_name(ObjectRef("u", "ns", "g-0")).startswith("xvm-ns-g-0-")


async def test_kwok_makes_one_labelled_tainted_node_per_machine_idempotently() -> None:
    client = FakeClient()
    provider = kwok(client)
    assert await provider.observe(machine().ref) is None
    first = await provider.create(machine())
    again = await provider.create(machine())
    assert first == again
    assert first.launched
    assert first.provider_id == f"kwok://{first.node_name}"
    node = await client.get(NODE, first.node_name)
    assert node["metadata"]["labels"][XVMG_LABEL] == "g"
    assert node["metadata"]["labels"][MACHINE_UID_LABEL] == "uid-1"
    assert node["metadata"]["annotations"]["kwok.x-k8s.io/node"] == "fake"
    assert node["spec"]["taints"] == [{"key": XVMG_LABEL, "value": "g", "effect": "NoSchedule"}]
    assert node["status"]["allocatable"] == {
        "cpu": "4", "memory": "8Gi", "pods": "110", "nvidia.com/gpu": "2"
    }  # fmt: skip
    assert await provider.list() == [machine().ref]
    assert not await provider.delete(machine().ref)
    assert await provider.delete(machine().ref)


async def test_kwok_delay_and_failure_injection() -> None:
    client = FakeClient()
    waiting = await kwok(client, now=1001.0).create(machine(provisioningDelaySeconds="3"))
    assert waiting.retry_after == pytest.approx(2.0)
    assert not waiting.launched
    assert not client.objects
    assert (await kwok(client, now=1003.5).create(machine(provisioningDelaySeconds="3"))).launched
    failed = await kwok(client).create(machine(failProvisioning="true", failMessage="no capacity"))
    assert failed.failure is not None
    assert (failed.failure.reason, failed.failure.message) == ("ProvisioningFailed", "no capacity")
    bad = await kwok(client).create(machine(provisioningDelaySeconds="soon"))
    assert bad.failure is not None
    assert bad.failure.reason == "InvalidParameters"


def pool_node(name: str, **labels: str) -> Obj:
    return {"metadata": {"name": name, "labels": {"pool": "a", **labels}}, "spec": {}}


async def test_nodepool_never_claims_a_node_twice_when_machines_race() -> None:
    client = FakeClient()
    for i in range(3):
        client.put(NODE, pool_node(f"n{i}"))
    c = cast(Client, client)
    provider = NodePoolProvider(c, PvcVolumes(c))
    machines = [machine(key=f"uid-{i}", name=f"g-{i}", provider="nodepool") for i in range(5)]
    results = await asyncio.gather(*(provider.create(m) for m in machines))
    claimed = [r.node_name for r in results if r.launched]
    assert sorted(claimed) == ["n0", "n1", "n2"]
    assert [r.reason for r in results if not r.launched] == ["NoFreeNode", "NoFreeNode"]
    owners = [(await client.get(NODE, n))["metadata"]["labels"][MACHINE_UID_LABEL] for n in claimed]
    assert len(set(owners)) == 3


async def test_nodepool_release_removes_exactly_the_claim() -> None:
    client = FakeClient()
    client.put(NODE, pool_node("n0", keep="me"))
    c = cast(Client, client)
    provider = NodePoolProvider(c, PvcVolumes(c))
    m = machine(provider="nodepool")
    await provider.create(m)
    assert (await provider.observe(m.ref)) is not None
    assert await provider.delete(m.ref)
    node = await client.get(NODE, "n0")
    assert node["metadata"]["labels"] == {"pool": "a", "keep": "me"}
    assert node["spec"]["taints"] == []
    assert await provider.observe(m.ref) is None


async def test_nodepool_without_a_selector_fails_the_machine() -> None:
    c = cast(Client, FakeClient())
    m = machine(provider="nodepool")
    m = dataclasses.replace(m, type=m.type.model_copy(update={"node_selector": {}}))
    result = await NodePoolProvider(c, PvcVolumes(c)).create(m)
    assert result.failure is not None
    assert result.failure.reason == "InvalidType"


def test_kubevirt_rendering() -> None:
    vm = render_vm(machine(provider="kubevirt", image="fedora:40"))
    spec: dict[str, Any] = vm["spec"]
    assert spec["runStrategy"] == "Always"
    assert spec["instancetype"] == {"name": "big", "kind": "VirtualMachineClusterInstancetype"}
    names = [t["metadata"]["name"] for t in spec["dataVolumeTemplates"]]
    assert names == ["g-0-root", "g-0-data"]
    root = spec["dataVolumeTemplates"][0]["spec"]
    assert root["storage"]["resources"]["requests"]["storage"] == "30Gi"
    assert root["source"] == {"registry": {"url": "docker://fedora:40"}}
    volumes = spec["template"]["spec"]["volumes"]
    assert volumes == [{"name": n, "dataVolume": {"name": n}} for n in names]
    assert vm["metadata"]["ownerReferences"][0]["uid"] == "uid-1"


@pytest.mark.parametrize(
    ("status", "launched", "failed"),
    [
        ({}, False, False),
        ({"printableStatus": "Starting"}, False, False),
        ({"printableStatus": "Running", "conditions": [{"type": "Ready", "status": "True"}]},
         True, False),
        ({"printableStatus": "ErrorUnschedulable"}, False, True),
    ],
)  # fmt: skip
def test_kubevirt_status_mapping(status: Obj, launched: bool, failed: bool) -> None:
    vm = {"metadata": {"name": "g-0", "namespace": "ns"}, "status": status}
    result = observation(vm)
    assert result.launched is launched
    assert (result.failure is not None) is failed
    assert result.provider_id == "kubevirt://ns/g-0"
