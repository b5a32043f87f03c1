"""Pluggable rendering of xMount inputs into pod volumes (DESIGN §3).

Contract: an ``XMountRenderer`` turns one xMount into the source part of a core/v1 Volume
(everything but ``name``). ``NfsXMount`` (the default) mounts ``/<mountID>`` from the host
of ``serverAddr``; ``CsiXMount`` makes a CSI inline volume of a configured driver with
``volumeAttributes {serverAddr, mountID}``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from xeem.api.inputs import XMount


class XMountRenderer(Protocol):
    """Renders the volume source of an xMount."""

    def volume_source(self, mount: XMount) -> dict[str, Any]:
        """A Volume without its name, e.g. ``{"nfs": {...}}``."""
        ...


def server_host(server_addr: str) -> str:
    """The host part of ``host:port``, ``[v6]:port``, ``v6`` or ``host``."""
    if server_addr.startswith("["):
        return server_addr[1:].split("]", 1)[0]
    if server_addr.count(":") == 1:
        return server_addr.split(":", 1)[0]
    return server_addr


@dataclass(frozen=True, slots=True)
class NfsXMount:
    """An ``nfs`` volume: server = host of serverAddr, path = ``/<mountID>``."""

    def volume_source(self, mount: XMount) -> dict[str, Any]:
        return {
            "nfs": {
                "server": server_host(mount.server_addr),
                "path": "/" + mount.mount_id.lstrip("/"),
                "readOnly": mount.read_only,
            }
        }


@dataclass(frozen=True, slots=True)
class CsiXMount:
    """A CSI inline volume of ``driver`` with ``volumeAttributes {serverAddr, mountID}``."""

    driver: str

    def volume_source(self, mount: XMount) -> dict[str, Any]:
        return {
            "csi": {
                "driver": self.driver,
                "readOnly": mount.read_only,
                "volumeAttributes": {"serverAddr": mount.server_addr, "mountID": mount.mount_id},
            }
        }
