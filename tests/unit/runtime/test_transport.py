"""The JSON transport against a local aiohttp server: watch framing, timeouts, errors."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio
from aiohttp import web

from xeem.runtime.kube import (
    ConflictError,
    KubeConfig,
    NotFoundError,
    TooManyRequestsError,
    Transport,
    TransportError,
)

pytestmark = pytest.mark.unit

EVENTS = [
    {"type": "ADDED", "object": {"metadata": {"name": f"o{i}", "big": "x" * 3000 * i}}}
    for i in range(4)
]


async def chunked(request: web.Request) -> web.StreamResponse:
    resp = web.StreamResponse()
    await resp.prepare(request)
    data = b"".join(json.dumps(e).encode() + b"\n" for e in EVENTS)
    for i in range(0, len(data), 777):  # lines split across chunks, chunks across lines
        await resp.write(data[i : i + 777])
        await asyncio.sleep(0)
    if request.query.get("truncate"):
        await resp.write(b'{"type": "ADD')
    if request.query.get("stall"):
        await asyncio.sleep(1)
    return resp


state = {"429": 0}


async def status(request: web.Request) -> web.Response:
    code = int(request.match_info["code"])
    if code == 429 and state["429"] < 2:
        state["429"] += 1
        return web.json_response(
            {"kind": "Status", "code": 429}, status=429, headers={"Retry-After": "0"}
        )
    if code == 429:
        return web.json_response({"ok": True, "params": dict(request.query)})
    reason = {404: "NotFound", 409: "Conflict"}.get(code, "")
    return web.json_response(
        {"kind": "Status", "code": code, "reason": reason, "message": "m"}, status=code
    )


@pytest_asyncio.fixture(loop_scope="session")
async def server() -> AsyncIterator[Transport]:
    app = web.Application()
    app.router.add_get("/watch", chunked)
    app.router.add_get("/status/{code}", status)
    runner = web.AppRunner(app, shutdown_timeout=0.5)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    t = Transport(KubeConfig(host=f"http://127.0.0.1:{port}"))
    try:
        yield t
    finally:
        await t.close()
        await runner.cleanup()


async def collect(stream: AsyncIterator[dict[str, Any]], into: list[dict[str, Any]]) -> None:
    async for event in stream:
        into.append(event)


async def test_watch_lines_are_reassembled_across_chunks(server: Transport) -> None:
    got = [e async for e in server.stream("/watch")]
    assert got == EVENTS


async def test_a_stream_cut_inside_an_event_is_a_transport_error(server: Transport) -> None:
    got: list[dict[str, Any]] = []
    with pytest.raises(TransportError, match="inside an event"):
        await collect(server.stream("/watch", params={"truncate": "1"}), got)
    assert got == EVENTS


async def test_a_silent_stream_times_out(server: Transport) -> None:
    got: list[dict[str, Any]] = []
    with pytest.raises(TimeoutError):
        await collect(server.stream("/watch", params={"stall": "1"}, inactivity_timeout=0.3), got)
    assert got == EVENTS


async def test_typed_errors_and_429_retries(server: Transport) -> None:
    with pytest.raises(NotFoundError):
        await server.request("GET", "/status/404")
    with pytest.raises(ConflictError):
        await server.request("GET", "/status/409")
    ok = await server.request("GET", "/status/429", params={"a": True, "b": None, "n": 3})
    assert ok["params"] == {"a": "true", "n": "3"}
    server.max_429_retries = 0
    state["429"] = 0
    with pytest.raises(TooManyRequestsError):
        await server.request("GET", "/status/429")


async def test_connection_refused_is_a_transport_error() -> None:
    async with Transport(KubeConfig(host="http://127.0.0.1:9")) as t:
        with pytest.raises(TransportError):
            await t.request("GET", "/x")
        with pytest.raises(TransportError):
            await collect(t.stream("/x"), [])
