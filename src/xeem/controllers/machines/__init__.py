"""Machines and disks on demand (DESIGN §6): the VirtualMachineGroup, VirtualMachine and
BlockStorage reconcilers and the providers they drive.

Contract: ``setup_machine_controllers(manager, options)`` registers the three controllers,
the informers they share (VirtualMachineGroups, VirtualMachines, BlockStorages,
VirtualMachineTypes, Nodes, PVCs, StorageClasses, and each enabled provider's watched
type) and the orphan collector; ``manager.start()`` runs them. It returns the providers by
name. A caller that waits for a group reads its status: see ``xeem.api.vmgroup``.
"""

from __future__ import annotations

from dataclasses import dataclass

from xeem.controllers.kinds import (
    BLOCK_STORAGE,
    VIRTUAL_MACHINE,
    VIRTUAL_MACHINE_GROUP,
    VIRTUAL_MACHINE_TYPE,
)
from xeem.controllers.machines.common import (
    disk_informer,
    disks_of_machine,
    machine_informer,
    machines_of_provider_object,
)
from xeem.controllers.machines.disk import DiskReconciler
from xeem.controllers.machines.group import GroupReconciler
from xeem.controllers.machines.machine import MachineReconciler
from xeem.controllers.machines.orphans import OrphanCollector
from xeem.providers import DEFAULT_PROVIDERS, MachineProvider, build_providers
from xeem.providers.pvc import STORAGE_CLASS, PvcVolumes
from xeem.runtime.manager import Manager
from xeem.runtime.resource import NODE, PERSISTENT_VOLUME_CLAIM


@dataclass(frozen=True)
class MachineControllerOptions:
    """``workers`` per controller; the enabled ``providers`` (``kubevirt`` needs KubeVirt's
    CRDs); seconds between orphan sweeps (0: no collector)."""

    workers: int = 4
    providers: tuple[str, ...] = DEFAULT_PROVIDERS
    orphan_interval: float = 600.0


def setup_machine_controllers(
    manager: Manager, options: MachineControllerOptions | None = None
) -> dict[str, MachineProvider]:
    """Register the group, machine and disk controllers; returns the providers by name."""
    options = options or MachineControllerOptions()
    client = manager.client
    volumes = PvcVolumes(client)
    providers = build_providers(client, options.providers, volumes)
    machines = machine_informer(manager)
    disks = disk_informer(manager)
    types = manager.informer(VIRTUAL_MACHINE_TYPE)
    nodes = manager.informer(NODE)
    manager.informer(STORAGE_CLASS)
    recorder = manager.event_recorder("xeem-machines")

    (
        manager.controller("virtualmachinegroup")
        .for_(VIRTUAL_MACHINE_GROUP)
        .owns(VIRTUAL_MACHINE)
        .owns(BLOCK_STORAGE)
        .with_options(max_concurrent_reconciles=options.workers)
        .complete(
            GroupReconciler(
                client, manager.informer(VIRTUAL_MACHINE_GROUP), machines, disks, recorder
            )
        )
    )

    to_machines = machines_of_provider_object(machines)
    builder = manager.controller("virtualmachine").for_(VIRTUAL_MACHINE).watches(NODE, to_machines)
    for watched in {p.watched for p in providers.values() if p.watched is not None}:
        builder = builder.watches(watched, to_machines)
    builder.with_options(max_concurrent_reconciles=options.workers).complete(
        MachineReconciler(client, providers, machines, types, nodes, recorder)
    )

    (
        manager.controller("blockstorage")
        .for_(BLOCK_STORAGE)
        .owns(PERSISTENT_VOLUME_CLAIM)
        .watches(VIRTUAL_MACHINE, disks_of_machine(disks))
        .with_options(max_concurrent_reconciles=options.workers)
        .complete(DiskReconciler(client, providers, volumes, disks, machines, types, recorder))
    )

    if options.orphan_interval > 0:
        collector = OrphanCollector(
            client,
            providers,
            machines,
            namespace=manager.namespace,
            interval=options.orphan_interval,
        )
        manager.add_runnable(collector.run, name="machine-orphan-collector")
    return providers
