"""Event aggregation, deduplication and spam filtering (client-go's correlator)."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import pytest

from xeem.runtime.clock import FakeClock
from xeem.runtime.events import AGGREGATE_PREFIX, EventCorrelator, EventRecorder
from xeem.runtime.kube import NotFoundError
from xeem.runtime.resource import Obj, ResourceType

pytestmark = pytest.mark.unit


def pod(name: str = "p") -> Obj:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": "ns", "uid": f"uid-{name}"},
    }


def test_first_event_is_created_with_count_one() -> None:
    c = EventCorrelator("xeem", "host", clock=FakeClock())
    w = c.correlate(pod(), "Normal", "Started", "started")
    assert w is not None
    assert not w.patch
    e = w.event
    assert e["count"] == 1
    assert e["involvedObject"] == {
        "apiVersion": "v1",
        "kind": "Pod",
        "name": "p",
        "namespace": "ns",
        "uid": "uid-p",
    }
    assert e["metadata"]["namespace"] == "ns"
    assert e["metadata"]["name"].startswith("p.")
    assert e["source"] == {"component": "xeem", "host": "host"}
    assert e["firstTimestamp"] == e["lastTimestamp"]


def test_identical_repeats_patch_the_count() -> None:
    clock = FakeClock()
    c = EventCorrelator("xeem", clock=clock)
    first = c.correlate(pod(), "Warning", "Failed", "oops")
    assert first is not None
    for n in (2, 3, 4):
        clock.step(1)
        w = c.correlate(pod(), "Warning", "Failed", "oops")
        assert w is not None
        assert w.patch
        assert w.event["count"] == n
        assert w.event["metadata"]["name"] == first.event["metadata"]["name"]
    other = c.correlate(pod("q"), "Warning", "Failed", "oops")
    assert other is not None
    assert not other.patch, "another object is another event"


def test_similar_events_are_combined_after_ten_messages() -> None:
    clock = FakeClock()
    c = EventCorrelator("xeem", clock=clock, spam_burst=1000)
    writes = [c.correlate(pod(), "Normal", "Scaled", f"scaled to {i}") for i in range(14)]
    assert all(w is not None for w in writes)
    assert [w.event["message"] for w in writes[:10] if w] == [f"scaled to {i}" for i in range(10)]
    combined = [w for w in writes[10:] if w]
    assert combined[0].event["message"] == AGGREGATE_PREFIX + "scaled to 10"
    assert not combined[0].patch
    assert all(w.patch for w in combined[1:]), "later similar events bump the combined one"
    assert combined[-1].event["count"] == 4
    clock.step(601)  # the window passes: messages stand alone again
    w = c.correlate(pod(), "Normal", "Scaled", "scaled to 99")
    assert w is not None
    assert w.event["message"] == "scaled to 99"


def test_spam_filter_drops_beyond_the_burst_and_refills_slowly() -> None:
    clock = FakeClock()
    c = EventCorrelator("xeem", clock=clock)
    results = [c.correlate(pod(), "Normal", "R", f"m{i}") for i in range(30)]
    assert sum(r is not None for r in results) == 25
    assert c.correlate(pod("other"), "Normal", "R", "m") is not None, "per object"
    clock.step(299)
    assert c.correlate(pod(), "Normal", "R", "x") is None
    clock.step(1)
    assert c.correlate(pod(), "Normal", "R", "x") is not None, "one token per 5 minutes"


class FakeClient:
    def __init__(self) -> None:
        self.created: list[Obj] = []
        self.patched: list[tuple[str, Obj]] = []
        self.missing: set[str] = set()

    async def create(self, rt: ResourceType, obj: Obj, *, namespace: str | None = None) -> Obj:
        self.created.append(obj)
        return obj

    async def patch(
        self, rt: ResourceType, name: str, patch: Any, *, namespace: str | None = None
    ) -> Obj:
        if name in self.missing:
            raise NotFoundError(404, "NotFound", "gone")
        self.patched.append((name, patch))
        return {}


async def test_recorder_writes_creates_and_patches() -> None:
    client = FakeClient()
    rec = EventRecorder(client, "xeem", host="h", clock=FakeClock())
    rec.event(pod(), "Normal", "Synced", "ok")
    rec.event(pod(), "Normal", "Synced", "ok")
    rec.eventf(pod(), "Normal", "Synced", "%s", "ok")
    await drain(rec)
    assert len(client.created) == 1
    assert [p["count"] for _, p in client.patched] == [2, 3]
    assert rec.written == 3


async def test_recorder_recreates_an_expired_event() -> None:
    client = FakeClient()
    rec = EventRecorder(client, "xeem", host="h", clock=FakeClock())
    await rec._write(pod(), "Normal", "Synced", "ok")
    client.missing.add(client.created[0]["metadata"]["name"])
    await rec._write(pod(), "Normal", "Synced", "ok")
    assert len(client.created) == 2
    assert client.created[1]["count"] == 2
    assert client.created[1]["firstTimestamp"] == client.created[0]["firstTimestamp"]


async def test_recorder_queue_is_bounded() -> None:
    outcomes: list[str] = []
    rec = EventRecorder(
        FakeClient(), "xeem", host="h", max_queued=2, lanes=1, on_outcome=outcomes.append
    )
    for i in range(5):
        rec.event(pod(), "Normal", "R", str(i))
    assert rec.dropped == 3
    assert outcomes == ["dropped"] * 3
    await drain(rec)
    assert outcomes == ["dropped"] * 3 + ["written"] * 2


async def drain(rec: EventRecorder) -> None:
    """Run ``rec`` until everything queued is written, then stop it."""
    runner = asyncio.create_task(rec.run())
    await rec.flush()
    runner.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await runner


class SlowForOnePod(FakeClient):
    """Creates of events about pod ``slow`` wait until ``release`` is set."""

    def __init__(self) -> None:
        super().__init__()
        self.release = asyncio.Event()

    async def create(self, rt: ResourceType, obj: Obj, *, namespace: str | None = None) -> Obj:
        if obj["involvedObject"]["name"] == "slow":
            await self.release.wait()
        return await super().create(rt, obj, namespace=namespace)


async def test_a_slow_write_holds_back_only_its_own_objects_events() -> None:
    client = SlowForOnePod()
    rec = EventRecorder(client, "xeem", host="h", lanes=8)
    for i in range(3):
        rec.event(pod("slow"), "Normal", "Step", f"slow {i}")
    others = [f"p{i}" for i in range(20)]
    for name in others:
        rec.event(pod(name), "Normal", "Step", name)
    runner = asyncio.create_task(rec.run())
    for _ in range(100):
        await asyncio.sleep(0)
    written = {e["involvedObject"]["name"] for e in client.created}
    blocked = rec.lane(pod("slow"))
    assert written == {name for name in others if rec.lane(pod(name)) != blocked}
    assert len(written) > len(others) // 2
    client.release.set()
    await rec.flush()
    runner.cancel()
    slow = [e["message"] for e in client.created if e["involvedObject"]["name"] == "slow"]
    assert slow == ["slow 0", "slow 1", "slow 2"], "one object's events keep their order"
    assert len(client.created) == 23
