"""The providers a controller runs with, by name (``VirtualMachineType.spec.provider``).

Contract: ``build_providers(client, names, volumes)`` makes each named provider once, the
ones whose disks are PVCs sharing ``volumes``; unknown names raise ``ValueError``.
``kubevirt`` needs the kubevirt.io CRDs (its VirtualMachines are watched), so it is enabled
only when asked for.
"""

from __future__ import annotations

from collections.abc import Iterable

from xeem.providers import kubevirt, kwok, nodepool
from xeem.providers.base import MachineProvider, VolumeProvider
from xeem.providers.kubevirt import KubevirtProvider
from xeem.providers.kwok import KwokProvider
from xeem.providers.nodepool import NodePoolProvider
from xeem.runtime.client import Client

DEFAULT_PROVIDERS = (kwok.NAME, nodepool.NAME)
KNOWN_PROVIDERS = (kwok.NAME, nodepool.NAME, kubevirt.NAME)


def build_providers(
    client: Client, names: Iterable[str], volumes: VolumeProvider
) -> dict[str, MachineProvider]:
    """The providers called ``names``, by name."""
    out: dict[str, MachineProvider] = {}
    for name in dict.fromkeys(names):
        if name == kwok.NAME:
            out[name] = KwokProvider(client, volumes)
        elif name == nodepool.NAME:
            out[name] = NodePoolProvider(client, volumes)
        elif name == kubevirt.NAME:
            out[name] = KubevirtProvider(client)
        else:
            raise ValueError(f"unknown machine provider {name!r}; known: {KNOWN_PROVIDERS}")
    return out
