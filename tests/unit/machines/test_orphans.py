"""The orphan collector releases what providers hold for objects that are gone."""

from __future__ import annotations

from typing import cast

import pytest

from tests.unit.providers.fake_client import FakeClient
from xeem.api.vmtype import VirtualMachineTypeSpec
from xeem.controllers.kinds import BLOCK_STORAGE, VIRTUAL_MACHINE
from xeem.controllers.machines.common import INDEX_UID, _by_uid
from xeem.controllers.machines.orphans import OrphanCollector
from xeem.providers.base import Machine, ObjectRef, Volume
from xeem.providers.kwok import KwokProvider, node_name
from xeem.providers.pvc import PvcVolumes
from xeem.runtime.client import Client
from xeem.runtime.informer import Informer
from xeem.runtime.kube import Transport
from xeem.runtime.resource import NODE, PERSISTENT_VOLUME_CLAIM

pytestmark = pytest.mark.unit

TYPE = VirtualMachineTypeSpec(cpu="1", memory="1Gi", provider="kwok")


def kwok_machine(key: str, name: str) -> Machine:
    return Machine(ObjectRef(key, "ns", name), "g", 0, "small", TYPE)


async def test_sweep_releases_only_what_belongs_to_missing_objects() -> None:
    client = FakeClient()
    c = cast(Client, client)
    volumes = PvcVolumes(c)
    kwok = KwokProvider(c, volumes)
    machines = Informer(cast(Transport, None), VIRTUAL_MACHINE, indexers={INDEX_UID: _by_uid})
    cached = {"metadata": {"name": "g-0", "namespace": "ns", "uid": "cached"}}
    machines.store.add(cached)
    client.put(VIRTUAL_MACHINE, {"metadata": {"name": "g-1", "namespace": "ns", "uid": "live"}})
    client.put(BLOCK_STORAGE, {"metadata": {"name": "g-0-d", "namespace": "ns", "uid": "disk"}})
    for key, name in (("cached", "g-0"), ("live", "g-1"), ("gone", "g-2"), ("old", "g-1")):
        await kwok.create(kwok_machine(key, name))
    for key, name in (("disk", "g-0-d"), ("gone-disk", "g-9-d")):
        await volumes.create(Volume(ObjectRef(key, "ns", name), 1, None))

    collector = OrphanCollector(c, {"kwok": kwok}, machines, namespace="ns", interval=60)
    assert await collector.sweep() == 3

    nodes = {n["metadata"]["name"] for n in await client.list(NODE)}
    kept = {node_name(ObjectRef(k, "ns", n)) for k, n in (("cached", "g-0"), ("live", "g-1"))}
    assert nodes == kept
    claims = [c["metadata"]["name"] for c in await client.list(PERSISTENT_VOLUME_CLAIM)]
    assert claims == ["g-0-d"]
    assert await collector.sweep() == 0


async def test_other_namespaces_are_left_alone() -> None:
    client = FakeClient()
    c = cast(Client, client)
    kwok = KwokProvider(c, PvcVolumes(c))
    await kwok.create(Machine(ObjectRef("x", "elsewhere", "g-0"), "g", 0, "small", TYPE))
    machines = Informer(cast(Transport, None), VIRTUAL_MACHINE, indexers={INDEX_UID: _by_uid})
    collector = OrphanCollector(c, {"kwok": kwok}, machines, namespace="ns", interval=60)
    assert await collector.sweep() == 0
