"""Releasing what providers hold for machines and disks that no longer exist.

Contract: ``sweep()`` asks every provider (and each distinct volume provider) for what it
holds and deletes each item whose VirtualMachine or BlockStorage (same UID) is gone. An
object missing from the cache is confirmed with a live read before anything is released,
so an object created a moment ago is never taken for an orphan. Objects in other
namespaces than the manager's (when it has one) are left to their own controller.
Finalizers make orphans rare (a finalizer removed by hand, an object force-deleted from
etcd); ``run()`` sweeps at start and then every ``interval`` seconds.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

import structlog

from xeem.controllers.children import get_or_none
from xeem.controllers.kinds import BLOCK_STORAGE, VIRTUAL_MACHINE
from xeem.controllers.machines.common import INDEX_UID
from xeem.providers.base import MachineProvider, ObjectRef, VolumeProvider
from xeem.runtime.client import Client
from xeem.runtime.informer import Informer
from xeem.runtime.resource import ResourceType, uid_of

log = structlog.get_logger("xeem.controllers.machines.orphans")


class OrphanCollector:
    def __init__(
        self,
        client: Client,
        providers: Mapping[str, MachineProvider],
        machines: Informer,
        *,
        namespace: str | None,
        interval: float,
    ) -> None:
        self._client = client
        self._providers = providers
        self._machines = machines
        self._namespace = namespace
        self._interval = interval

    async def run(self) -> None:
        while True:
            await self.sweep()
            await asyncio.sleep(self._interval)

    async def sweep(self) -> int:
        """Release every orphan once; returns how many were released."""
        released = 0
        for provider in self._providers.values():
            for ref in await provider.list():
                if await self._orphan(VIRTUAL_MACHINE, ref):
                    await provider.delete(ref)
                    released += 1
        volume_providers: dict[int, VolumeProvider] = {
            id(p.volumes): p.volumes for p in self._providers.values()
        }
        for volumes in volume_providers.values():
            for ref in await volumes.list():
                if await self._orphan(BLOCK_STORAGE, ref):
                    await volumes.delete(ref)
                    released += 1
        if released:
            log.info("released orphans", count=released)
        return released

    async def _orphan(self, rt: ResourceType, ref: ObjectRef) -> bool:
        if self._namespace is not None and ref.namespace != self._namespace:
            return False
        if rt == VIRTUAL_MACHINE and self._machines.store.by_index(INDEX_UID, ref.key):
            return False
        if not ref.namespace or not ref.name:
            return False
        live = await get_or_none(self._client, rt, ref.name, ref.namespace, live=True)
        orphan = live is None or uid_of(live) != ref.key
        if orphan:
            log.info("orphan", kind=rt.kind, namespace=ref.namespace, name=ref.name, uid=ref.key)
        return orphan
