"""Machine and disk providers behind one interface (DESIGN §6).

Contract: see ``xeem.providers.base`` for the interface every provider keeps; providers are
selected by ``VirtualMachineType.spec.provider`` through ``build_providers``.
"""

from xeem.providers.base import (
    MACHINE_UID_LABEL,
    XVMG_LABEL,
    Failure,
    Machine,
    MachineObservation,
    MachineProvider,
    ObjectRef,
    Volume,
    VolumeObservation,
    VolumeProvider,
)
from xeem.providers.registry import DEFAULT_PROVIDERS, KNOWN_PROVIDERS, build_providers

__all__ = [
    "DEFAULT_PROVIDERS",
    "KNOWN_PROVIDERS",
    "MACHINE_UID_LABEL",
    "XVMG_LABEL",
    "Failure",
    "Machine",
    "MachineObservation",
    "MachineProvider",
    "ObjectRef",
    "Volume",
    "VolumeObservation",
    "VolumeProvider",
    "build_providers",
]
