"""A controller restarted mid-provisioning (no extra machine, nothing leaked), and the
kubevirt provider against a minimal kubevirt.io VirtualMachine CRD of our own."""

from __future__ import annotations

import pytest
import pytest_asyncio

from tests.integration.machines.machine_helpers import (
    delete_type,
    get,
    group,
    group_in_phase,
    kwok_nodes,
    machine_type,
    release_all,
    running,
    until,
)
from tests.integration.runtime.rt_helpers import ensure_crd, transport_via
from xeem.controllers.kinds import VIRTUAL_MACHINE, VIRTUAL_MACHINE_GROUP, VIRTUAL_MACHINE_TYPE
from xeem.controllers.machines import MachineControllerOptions
from xeem.providers.base import MACHINE_UID_LABEL
from xeem.providers.kubevirt import KUBEVIRT_VM
from xeem.runtime.client import Client
from xeem.runtime.resource import Obj

pytestmark = pytest.mark.integration


async def test_restart_mid_provisioning_creates_no_extra_machine(
    api: Client, kubeconfig: str, namespace: str
) -> None:
    type_name = f"slow-{namespace}"
    await api.create(VIRTUAL_MACHINE_TYPE, machine_type(type_name, provisioningDelaySeconds="2"))
    try:
        async with running(kubeconfig, namespace):
            await api.create(VIRTUAL_MACHINE_GROUP, group("r", 2, type_name), namespace=namespace)

            async def first_machine() -> list[Obj]:
                return await api.list(VIRTUAL_MACHINE, namespace, live=True)

            await until(first_machine, what="the first machine")
        before = {m["metadata"]["name"]: m["metadata"]["uid"] for m in await first_machine()}
        assert not await kwok_nodes(api, namespace), "the delay has not passed yet"

        async with running(kubeconfig, namespace):
            await group_in_phase(api, namespace, "r", "Ready")
            machines = await api.list(VIRTUAL_MACHINE, namespace, live=True)
            assert sorted(m["metadata"]["name"] for m in machines) == ["r-0", "r-1"]
            for name, uid in before.items():
                assert (
                    next(m for m in machines if m["metadata"]["name"] == name)["metadata"]["uid"]
                    == uid
                )
            nodes = await kwok_nodes(api, namespace)
            assert sorted(n["metadata"]["labels"][MACHINE_UID_LABEL] for n in nodes) == sorted(
                m["metadata"]["uid"] for m in machines
            )
            await release_all(api, namespace)
    finally:
        await delete_type(api, type_name)


def kubevirt_crd() -> Obj:
    """A minimal kubevirt.io/v1 VirtualMachine CRD (the real one's schema is not needed)."""
    loose = {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "virtualmachines.kubevirt.io"},
        "spec": {
            "group": "kubevirt.io",
            "scope": "Namespaced",
            "names": {"plural": "virtualmachines", "singular": "virtualmachine",
                      "kind": "VirtualMachine", "shortNames": ["vm"]},
            "versions": [{
                "name": "v1", "served": True, "storage": True,
                "subresources": {"status": {}},
                "schema": {"openAPIV3Schema": {
                    "type": "object",
                    "properties": {"spec": loose, "status": loose},
                }},
            }],
        },
    }  # fmt: skip


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def kubevirt_installed(kubeconfig: str) -> None:
    transport = await transport_via(kubeconfig)
    try:
        await ensure_crd(transport, kubevirt_crd())
    finally:
        await transport.close()


async def test_kubevirt_renders_a_vm_and_reads_its_status_back(
    api: Client, kubeconfig: str, namespace: str, kubevirt_installed: None
) -> None:
    type_name = f"kv-{namespace}"
    await api.create(VIRTUAL_MACHINE_TYPE, machine_type(type_name, "kubevirt", image="fedora:40"))
    xbses = [{"name": "scratch", "sizeGB": 5, "storageClassName": "fast", "mountPath": "/s"}]
    options = MachineControllerOptions(providers=("kwok", "kubevirt"))
    try:
        async with running(kubeconfig, namespace, options):
            await api.create(
                VIRTUAL_MACHINE_GROUP, group("kv", 1, type_name, xbses), namespace=namespace
            )

            async def rendered() -> Obj | None:
                return await get(api, KUBEVIRT_VM, "kv-0", namespace)

            vm = await until(rendered, what="the KubeVirt VirtualMachine")
            xvm = await get(api, VIRTUAL_MACHINE, "kv-0", namespace)
            assert xvm is not None
            spec = vm["spec"]
            assert spec["runStrategy"] == "Always"
            assert spec["instancetype"]["name"] == type_name
            templates = {t["metadata"]["name"]: t["spec"] for t in spec["dataVolumeTemplates"]}
            assert templates["kv-0-root"]["storage"]["resources"]["requests"]["storage"] == "20Gi"
            assert templates["kv-0-root"]["source"] == {"registry": {"url": "docker://fedora:40"}}
            assert templates["kv-0-scratch"]["storage"]["storageClassName"] == "fast"
            assert vm["metadata"]["labels"][MACHINE_UID_LABEL] == xvm["metadata"]["uid"]
            assert vm["metadata"]["ownerReferences"][0]["uid"] == xvm["metadata"]["uid"]

            status = {
                "printableStatus": "Running",
                "conditions": [{"type": "Ready", "status": "True", "reason": "GuestBooted"}],
            }
            await api.patch_status(KUBEVIRT_VM, "kv-0", {"status": status}, namespace=namespace)

            async def launched() -> Obj | None:
                xvm = await get(api, VIRTUAL_MACHINE, "kv-0", namespace)
                conditions = {
                    c["type"]: c for c in (xvm or {}).get("status", {}).get("conditions", [])
                }
                launch = conditions.get("Launched", {})
                return xvm if launch.get("status") == "True" else None

            xvm = await until(launched, what="Launched=True from the KubeVirt status")
            assert xvm["status"]["providerID"] == f"kubevirt://{namespace}/kv-0"
            assert xvm["status"]["phase"] == "Provisioning"  # no guest Node registered

            status["printableStatus"] = "ErrorUnschedulable"
            status["conditions"] = [{"type": "Ready", "status": "False", "message": "0/3 nodes"}]
            await api.patch_status(KUBEVIRT_VM, "kv-0", {"status": status}, namespace=namespace)
            failed = await group_in_phase(api, namespace, "kv", "Failed")
            assert "ErrorUnschedulable" in failed["status"]["message"]

            await release_all(api, namespace)
            assert await get(api, KUBEVIRT_VM, "kv-0", namespace) is None
    finally:
        await delete_type(api, type_name)
