"""Helpers of the runtime's integration tests: a CRD, bounded waits, a namespace-scoped
manager run in-process, a stallable proxy."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import replace
from typing import Any
from urllib.parse import urlsplit

from prometheus_client import CollectorRegistry

from xeem.runtime.kube import AlreadyExistsError, Transport, load_config
from xeem.runtime.manager import Manager
from xeem.runtime.resource import CUSTOM_RESOURCE_DEFINITION, ResourceType

GROUP = "rt.xeem.io"
WIDGET = ResourceType(GROUP, "v1", "widgets", "Widget")


def widget_crd() -> dict[str, Any]:
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"widgets.{GROUP}"},
        "spec": {
            "group": GROUP,
            "scope": "Namespaced",
            "names": {"plural": "widgets", "singular": "widget", "kind": "Widget"},
            "versions": [
                {
                    "name": "v1",
                    "served": True,
                    "storage": True,
                    "subresources": {"status": {}},
                    "schema": {
                        "openAPIV3Schema": {
                            "type": "object",
                            "properties": {
                                "spec": {
                                    "type": "object",
                                    "x-kubernetes-preserve-unknown-fields": True,
                                },
                                "status": {
                                    "type": "object",
                                    "x-kubernetes-preserve-unknown-fields": True,
                                },
                            },
                        }
                    },
                }
            ],
        },
    }


async def ensure_crd(transport: Transport, crd: dict[str, Any]) -> None:
    """Create ``crd`` (if absent) and wait until it is Established and served."""
    with contextlib.suppress(AlreadyExistsError):
        await transport.request("POST", CUSTOM_RESOURCE_DEFINITION.path(), body=crd)
    name = crd["metadata"]["name"]

    async def established() -> bool:
        obj = await transport.request("GET", CUSTOM_RESOURCE_DEFINITION.path(None, name))
        conditions = (obj.get("status") or {}).get("conditions") or []
        return any(c["type"] == "Established" and c["status"] == "True" for c in conditions)

    await eventually(established, timeout=30, what=f"CRD {name} established")
    spec = crd["spec"]
    path = f"/apis/{spec['group']}/{spec['versions'][0]['name']}/{spec['names']['plural']}"

    async def served() -> bool:
        try:
            await transport.request("GET", path)
        except Exception:
            return False
        return True

    await eventually(served, timeout=30, what=f"{path} served")


async def eventually(
    predicate: Callable[[], bool | Awaitable[bool]],
    *,
    timeout: float = 30.0,
    interval: float = 0.05,
    what: str = "condition",
) -> None:
    """Poll ``predicate`` until true; fail after ``timeout`` seconds (a bounded wait)."""
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if not isinstance(result, bool):
            result = await result
        if result:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        await asyncio.sleep(interval)


async def transport_via(kubeconfig: str, host: str | None = None) -> Transport:
    """A transport from ``kubeconfig``, optionally to another ``https://host:port``."""
    config = await load_config(kubeconfig)
    if host is not None:
        config = replace(config, host=host)
    return Transport(config)


@contextlib.asynccontextmanager
async def running_manager(
    kubeconfig: str, namespace: str, setup: Callable[[Manager], object]
) -> AsyncIterator[Manager]:
    """A manager watching only ``namespace`` (with a metrics registry of its own and a 5 s
    graceful shutdown), its controllers registered by ``setup``; entered once ready (60 s at
    most), stopped gracefully on exit."""
    manager = await Manager.from_kubeconfig(
        kubeconfig, namespace=namespace, registry=CollectorRegistry(), graceful_shutdown_timeout=5
    )
    setup(manager)
    run = asyncio.create_task(manager.start())
    try:
        await manager.wait_ready(60)
        yield manager
    finally:
        manager.stop()
        await asyncio.wait_for(run, 30)


def api_address(transport: Transport) -> tuple[str, int]:
    parts = urlsplit(transport.config.host)
    return parts.hostname or "127.0.0.1", parts.port or 443


class StallProxy:
    """A TCP proxy in front of the API server that a test can misbehave:

    * ``stall()``: the connections open now stop forwarding (both ways) but stay open - a
      silent stream; new connections work normally.
    * ``pause()``: close every open connection and refuse new ones until ``resume()``.
    """

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.port = 0
        self.connections = 0
        self._server: asyncio.Server | None = None
        self._conns: list[dict[str, Any]] = []
        self._paused = False

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def close(self) -> None:
        self.pause()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    def stall(self) -> None:
        for conn in self._conns:
            conn["stalled"] = True

    def pause(self) -> None:
        self._paused = True
        for conn in self._conns:
            for writer in conn["writers"]:
                writer.close()
        self._conns.clear()

    def resume(self) -> None:
        self._paused = False

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self._paused:
            writer.close()
            return
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.close()
            return
        self.connections += 1
        conn: dict[str, Any] = {"stalled": False, "writers": (writer, up_writer)}
        self._conns.append(conn)

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            try:
                while True:
                    data = await src.read(65536)
                    if not data:
                        break
                    while conn["stalled"] and not dst.is_closing():  # noqa: ASYNC110
                        await asyncio.sleep(0.05)  # hold the bytes: the stream goes silent
                    dst.write(data)
                    await dst.drain()
            except (ConnectionError, OSError):
                pass
            finally:
                dst.close()

        try:
            await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))
        finally:
            if conn in self._conns:
                self._conns.remove(conn)
