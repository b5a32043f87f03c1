"""Informer list/watch logic against a scripted fake API (no server)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from xeem.runtime.clock import FakeClock
from xeem.runtime.informer import Backoff, EventHandlerFuncs, Informer
from xeem.runtime.kube import (
    AlreadyExistsError,
    ConflictError,
    GoneError,
    KubeConfig,
    NotFoundError,
    ServerError,
    Transport,
    TransportError,
    error_from_status,
)
from xeem.runtime.resource import CONFIG_MAP, Obj

pytestmark = pytest.mark.unit


def cm(name: str, rv: str) -> Obj:
    return {"metadata": {"name": name, "namespace": "ns", "resourceVersion": rv}}


class ScriptedTransport(Transport):
    """Lists from ``lists`` (one per call); each watch plays the next script: a list of
    events, ending with an exception to raise, or None for a normal close. When the
    scripts run out the watch blocks until cancelled."""

    def __init__(self, lists: list[list[Obj]], watches: list[list[Any]]) -> None:
        super().__init__(KubeConfig(host="http://fake"))
        self.lists = lists
        self.watches = watches
        self.list_calls: list[dict[str, Any]] = []
        self.watch_calls: list[dict[str, Any]] = []
        self.idle = asyncio.Event()

    async def request(self, method: str, path: str, **kw: Any) -> dict[str, Any]:
        self.list_calls.append(dict(kw.get("params") or {}))
        items = self.lists.pop(0)
        rv = max((int(i["metadata"]["resourceVersion"]) for i in items), default=1)
        return {"metadata": {"resourceVersion": str(rv)}, "items": items}

    async def stream(self, path: str, **kw: Any) -> AsyncIterator[dict[str, Any]]:
        self.watch_calls.append(dict(kw.get("params") or {}))
        if not self.watches:
            self.idle.set()
            await asyncio.Event().wait()
        for step in self.watches.pop(0):
            if isinstance(step, BaseException):
                raise step
            if step is None:
                return
            yield step


async def run_until_idle(informer: Informer, transport: ScriptedTransport) -> list[tuple[str, str]]:
    events: list[tuple[str, str]] = []
    informer.add_event_handler(
        EventHandlerFuncs(
            add=lambda o: events.append(("add", o["metadata"]["name"])),
            update=lambda a, b: events.append(("update", b["metadata"]["name"])),
            delete=lambda o: events.append(("delete", o["metadata"]["name"])),
        )
    )
    task = asyncio.create_task(informer.run())
    try:
        await asyncio.wait_for(transport.idle.wait(), 5)
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    return events


def ev(kind: str, obj: Obj) -> dict[str, Any]:
    return {"type": kind, "object": obj}


def fast() -> Backoff:
    return Backoff(0.001, 0.002)


async def test_list_then_watch_from_the_list_rv_with_bookmarks() -> None:
    t = ScriptedTransport(
        [[cm("a", "5")]],
        [[ev("ADDED", cm("b", "6")), ev("BOOKMARK", {"metadata": {"resourceVersion": "9"}}), None]],
    )
    informer = Informer(t, CONFIG_MAP, namespace="ns", page_size=10)
    events = await run_until_idle(informer, t)
    assert events == [("add", "a"), ("add", "b")]
    assert t.list_calls[0]["limit"] == 10
    first, second = t.watch_calls
    assert first["resourceVersion"] == "5"
    assert first["allowWatchBookmarks"] is True
    assert 300 <= first["timeoutSeconds"] <= 600
    assert second["resourceVersion"] == "9", "a normal close re-watches from the bookmark"
    assert informer.stats.lists == 1
    assert informer.stats.bookmarks == 1
    assert informer.has_synced()


async def test_410_relists_and_reports_deletes_and_changes_found_by_the_relist() -> None:
    t = ScriptedTransport(
        [[cm("a", "1"), cm("b", "2"), cm("c", "3")], [cm("a", "1"), cm("c", "7"), cm("d", "8")]],
        [[ev("MODIFIED", cm("a", "1")), error_from_status(410, {"reason": "Expired"})]],
    )
    informer = Informer(t, CONFIG_MAP, namespace="ns", backoff=fast())
    events = await run_until_idle(informer, t)
    assert events == [
        ("add", "a"),
        ("add", "b"),
        ("add", "c"),
        ("update", "a"),
        ("update", "c"),  # resourceVersion changed while we were away
        ("add", "d"),
        ("delete", "b"),  # gone during the gap: discovered by the relist
    ]
    assert informer.stats.gone == 1
    assert informer.stats.relist_deletes == 1
    assert sorted(informer.store.keys()) == ["ns/a", "ns/c", "ns/d"]


async def test_error_event_410_relists() -> None:
    t = ScriptedTransport(
        [[cm("a", "1")], [cm("a", "1")]],
        [[ev("ERROR", {"kind": "Status", "code": 410, "reason": "Expired", "message": "too old"})]],
    )
    informer = Informer(t, CONFIG_MAP, namespace="ns", backoff=fast())
    await run_until_idle(informer, t)
    assert informer.stats.lists == 2


async def test_connection_errors_back_off_and_rewatch_without_relisting() -> None:
    t = ScriptedTransport(
        [[cm("a", "1")]],
        [[TransportError("refused")], [ServerError(503, "", "")], [ev("DELETED", cm("a", "4"))]],
    )
    informer = Informer(t, CONFIG_MAP, namespace="ns", backoff=fast())
    events = await run_until_idle(informer, t)
    assert events == [("add", "a"), ("delete", "a")]
    assert informer.stats.lists == 1
    assert informer.stats.errors == 2
    assert [w["resourceVersion"] for w in t.watch_calls] == ["1", "1", "1", "4"]


async def test_inactivity_timeout_reopens_the_watch() -> None:
    t = ScriptedTransport([[cm("a", "1")]], [[ev("ADDED", cm("b", "2")), TimeoutError()]])
    informer = Informer(t, CONFIG_MAP, namespace="ns")
    await run_until_idle(informer, t)
    assert informer.stats.inactivity_timeouts == 1
    assert t.watch_calls[-1]["resourceVersion"] == "2"
    assert informer.stats.lists == 1


async def test_a_handler_exception_kills_the_informer() -> None:
    t = ScriptedTransport([[cm("a", "1")]], [])
    informer = Informer(t, CONFIG_MAP)

    def boom(obj: Obj) -> None:
        raise RuntimeError("handler bug")

    informer.add_event_handler(EventHandlerFuncs(add=boom))
    with pytest.raises(RuntimeError, match="handler bug"):
        await asyncio.wait_for(informer.run(), 5)


async def test_backoff_grows_with_jitter_to_the_cap_and_resets() -> None:
    b = Backoff()
    delays = [b.next() for _ in range(10)]
    assert 0.8 <= delays[0] < 1.6
    assert 1.6 <= delays[1] < 3.2
    assert all(d <= 30 for d in delays)
    assert delays[-1] >= 15, "the base reaches the 30 s cap"
    b.reset()
    assert b.next() < 1.6


async def test_backoff_sleeps_on_the_injected_clock() -> None:
    clock = FakeClock()
    t = ScriptedTransport([[cm("a", "1")]], [[TransportError("down")]])
    informer = Informer(t, CONFIG_MAP, clock=clock, backoff=Backoff(10, 10, jitter=0))
    task = asyncio.create_task(informer.run())
    for _ in range(50):
        await asyncio.sleep(0)
    assert len(t.watch_calls) == 1, "waiting 10 s of fake time"
    await clock.advance(10)
    await asyncio.wait_for(t.idle.wait(), 5)
    assert len(t.watch_calls) == 2
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


def test_status_codes_map_to_typed_errors() -> None:
    assert isinstance(error_from_status(404, {}), NotFoundError)
    assert isinstance(error_from_status(409, {"reason": "Conflict"}), ConflictError)
    assert isinstance(error_from_status(409, {"reason": "AlreadyExists"}), AlreadyExistsError)
    assert not isinstance(error_from_status(409, {"reason": "AlreadyExists"}), ConflictError)
    assert isinstance(error_from_status(410, {}), GoneError)
    assert isinstance(error_from_status(500, {"reason": "Expired"}), GoneError)
    e = error_from_status(503, {"message": "later"})
    assert isinstance(e, ServerError)
    assert e.message == "later"
