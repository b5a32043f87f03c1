"""Helpers the machine, disk and group reconcilers share: finalizers, indexes, requests.

Contracts: finalizers are added and removed with patches that fail on a stale read (a
conflict, retried) instead of dropping someone else's finalizer. The indexes below are
added once to the shared informers; the map functions turn Node and disk events into
machine and disk requests.
"""

from __future__ import annotations

from collections.abc import Callable

from xeem.api.vm import RELEASE_FINALIZER
from xeem.controllers.children import get_or_none
from xeem.controllers.kinds import BLOCK_STORAGE, VIRTUAL_MACHINE
from xeem.providers.base import MACHINE_UID_LABEL, ObjectRef
from xeem.providers.nodepool import NO_FREE_NODE
from xeem.runtime.cache import IndexFunc
from xeem.runtime.client import Client, PatchType
from xeem.runtime.informer import Informer
from xeem.runtime.manager import Manager
from xeem.runtime.reconcile import Request
from xeem.runtime.resource import Obj, ResourceType, meta, name_of, namespace_of, uid_of

INDEX_UID = "xeem.io/uid"
"""VirtualMachine informer: by metadata.uid (provider objects name their machine's UID)."""
INDEX_WAITING_FOR_NODE = "xeem.io/waiting-for-node"
"""VirtualMachine informer: machines waiting for a free nodepool Node, under ``WAITING``."""
WAITING = "waiting"
INDEX_MACHINE = "xeem.io/machine"
"""BlockStorage informer: ``namespace/machine`` of the machine a disk belongs to."""


def object_ref(obj: Obj) -> ObjectRef:
    """The provider-facing reference of a VirtualMachine or BlockStorage (UID, name)."""
    return ObjectRef(uid_of(obj), namespace_of(obj), name_of(obj))


async def gone(client: Client, rt: ResourceType, obj: Obj) -> bool:
    """Whether ``obj`` no longer exists (deleted while it was being reconciled)."""
    live = await get_or_none(client, rt, name_of(obj), namespace_of(obj), live=True)
    return live is None or uid_of(live) != uid_of(obj)


def has_finalizer(obj: Obj) -> bool:
    return RELEASE_FINALIZER in (meta(obj).get("finalizers") or ())


async def set_finalizer(client: Client, rt: ResourceType, obj: Obj, present: bool) -> None:
    """Add or remove the release finalizer (no call when it already is as wanted). Adding
    carries the resourceVersion; removing tests the finalizer list instead, so a status
    written meanwhile does not make it conflict."""
    current = list(meta(obj).get("finalizers") or ())
    wanted = [f for f in current if f != RELEASE_FINALIZER]
    if present:
        wanted.append(RELEASE_FINALIZER)
    if wanted == current:
        return
    name, namespace = name_of(obj), namespace_of(obj)
    if present:
        patch = {
            "metadata": {"finalizers": wanted, "resourceVersion": meta(obj)["resourceVersion"]}
        }
        await client.patch(rt, name, patch, namespace=namespace)
        return
    operations = [
        {"op": "test", "path": "/metadata/finalizers", "value": current},
        {"op": "replace", "path": "/metadata/finalizers", "value": wanted},
    ]
    await client.patch(rt, name, operations, namespace=namespace, patch_type=PatchType.JSON)


def _by_uid(obj: Obj) -> list[str]:
    return [uid_of(obj)]


def _waiting_for_node(obj: Obj) -> list[str]:
    return [WAITING] if (obj.get("status") or {}).get("reason") == NO_FREE_NODE else []


def _by_machine(obj: Obj) -> list[str]:
    machine = (obj.get("spec") or {}).get("machine")
    return [f"{namespace_of(obj)}/{machine}"] if machine else []


def _add_indexers(informer: Informer, indexers: dict[str, IndexFunc]) -> Informer:
    missing = {k: v for k, v in indexers.items() if k not in informer.store.indexers}
    if missing:
        informer.store.add_indexers(missing)
    return informer


def machine_informer(manager: Manager) -> Informer:
    """The shared VirtualMachine informer with ``INDEX_UID`` and ``INDEX_WAITING_FOR_NODE``."""
    return _add_indexers(
        manager.informer(VIRTUAL_MACHINE),
        {INDEX_UID: _by_uid, INDEX_WAITING_FOR_NODE: _waiting_for_node},
    )


def disk_informer(manager: Manager) -> Informer:
    """The shared BlockStorage informer with ``INDEX_MACHINE``."""
    return _add_indexers(manager.informer(BLOCK_STORAGE), {INDEX_MACHINE: _by_machine})


def requests(objs: list[Obj]) -> list[Request]:
    return [Request(namespace_of(o), name_of(o)) for o in objs]


def machines_of_provider_object(machines: Informer) -> Callable[[Obj], list[Request]]:
    """Map a Node (or another provider object) to the machine whose UID it is labelled with;
    an unclaimed Node to the machines waiting for a free one."""

    def map_object(obj: Obj) -> list[Request]:
        uid = (meta(obj).get("labels") or {}).get(MACHINE_UID_LABEL)
        if uid:
            return requests(machines.store.by_index(INDEX_UID, str(uid)))
        return requests(machines.store.by_index(INDEX_WAITING_FOR_NODE, WAITING))

    return map_object


def disks_of_machine(disks: Informer) -> Callable[[Obj], list[Request]]:
    """Map a VirtualMachine to its BlockStorages (by ``spec.machine``)."""

    def map_machine(machine: Obj) -> list[Request]:
        key = f"{namespace_of(machine)}/{name_of(machine)}"
        return requests(disks.store.by_index(INDEX_MACHINE, key))

    return map_machine
