"""Helpers of the machine integration tests: objects, a manager running the machine
controllers in-process, bounded waits, and the leftover check every test ends with."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Any, TypeVar

from tests.integration.runtime.rt_helpers import running_manager
from xeem.api.base import API_VERSION
from xeem.controllers.kinds import (
    BLOCK_STORAGE,
    VIRTUAL_MACHINE,
    VIRTUAL_MACHINE_GROUP,
    VIRTUAL_MACHINE_TYPE,
)
from xeem.controllers.machines import MachineControllerOptions, setup_machine_controllers
from xeem.providers.base import PROVIDER_LABEL, XVMG_NAMESPACE_LABEL
from xeem.runtime.client import Client
from xeem.runtime.kube import NotFoundError
from xeem.runtime.manager import Manager
from xeem.runtime.resource import NODE, PERSISTENT_VOLUME, PERSISTENT_VOLUME_CLAIM, Obj

T = TypeVar("T")


def machine_type(name: str, provider: str = "kwok", **parameters: str) -> Obj:
    return {
        "apiVersion": API_VERSION,
        "kind": "VirtualMachineType",
        "metadata": {"name": name},
        "spec": {"cpu": "4", "memory": "8Gi", "gpu": 1, "provider": provider,
                 "parameters": parameters},
    }  # fmt: skip


def group(
    name: str, replicas: int, type_name: str, xbses: list[dict[str, Any]] | None = None
) -> Obj:
    return {
        "apiVersion": API_VERSION,
        "kind": "VirtualMachineGroup",
        "metadata": {"name": name},
        "spec": {
            "replicas": replicas,
            "template": {"type": type_name, "rootVolumeSizeGB": 20, "xbses": xbses or []},
        },
    }


def persistent_volume(name: str, storage_class: str, size: str = "10Gi") -> Obj:
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolume",
        "metadata": {"name": name},
        "spec": {
            "capacity": {"storage": size},
            "accessModes": ["ReadWriteOnce"],
            "storageClassName": storage_class,
            "persistentVolumeReclaimPolicy": "Retain",
            "hostPath": {"path": f"/tmp/{name}"},
        },
    }


async def until(
    probe: Callable[[], Awaitable[T | None]], *, timeout: float = 30.0, what: str = "condition"
) -> T:
    """Poll ``probe`` every 20 ms until it returns something; fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = await probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        await asyncio.sleep(0.02)


async def get(api: Client, rt: Any, name: str, namespace: str | None = None) -> Obj | None:
    try:
        return await api.get(rt, name, namespace, live=True)
    except NotFoundError:
        return None


async def group_in_phase(
    api: Client, namespace: str, name: str, phase: str, timeout: float = 30.0
) -> Obj:
    async def probe() -> Obj | None:
        obj = await get(api, VIRTUAL_MACHINE_GROUP, name, namespace)
        return obj if obj and (obj.get("status") or {}).get("phase") == phase else None

    return await until(probe, timeout=timeout, what=f"group {name} {phase}")


async def kwok_nodes(api: Client, namespace: str) -> list[Obj]:
    """The kwok provider's Nodes of machines in ``namespace``."""
    return await api.list(
        NODE, label_selector={PROVIDER_LABEL: "kwok", XVMG_NAMESPACE_LABEL: namespace}, live=True
    )


@asynccontextmanager
async def running(
    kubeconfig: str, namespace: str, options: MachineControllerOptions | None = None
) -> AsyncIterator[Manager]:
    """A manager of ``namespace`` running the machine controllers; stopped on exit."""
    options = options or MachineControllerOptions(workers=4)

    def setup(manager: Manager) -> None:
        setup_machine_controllers(manager, options)

    async with running_manager(kubeconfig, namespace, setup) as manager:
        yield manager


async def release_all(api: Client, namespace: str, *, pvs: Sequence[str] = ()) -> None:
    """Delete every group, machine and disk in ``namespace`` (with the controllers still
    running) and check nothing is left: no machine, disk, kwok Node or PVC; then delete
    the test's PersistentVolumes."""
    for rt in (VIRTUAL_MACHINE_GROUP, VIRTUAL_MACHINE, BLOCK_STORAGE):
        for obj in await api.list(rt, namespace, live=True):
            await api.delete(rt, obj["metadata"]["name"], namespace, ignore_not_found=True)

    async def released() -> bool:
        left = [
            *await api.list(VIRTUAL_MACHINE, namespace, live=True),
            *await api.list(BLOCK_STORAGE, namespace, live=True),
            *await api.list(PERSISTENT_VOLUME_CLAIM, namespace, live=True),
            *await kwok_nodes(api, namespace),
        ]
        return not left

    await until(released, timeout=30, what="machines, disks, nodes and PVCs released")
    for name in pvs:
        await api.delete(PERSISTENT_VOLUME, name, ignore_not_found=True)


async def delete_type(api: Client, name: str) -> None:
    await api.delete(VIRTUAL_MACHINE_TYPE, name, ignore_not_found=True)
