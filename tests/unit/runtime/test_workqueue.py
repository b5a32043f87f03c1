"""Every workqueue rule of client-go, on a fake clock."""

from __future__ import annotations

import asyncio

import pytest
from prometheus_client import CollectorRegistry

from xeem.runtime.clock import FakeClock
from xeem.runtime.metrics import metrics_for, sample_value
from xeem.runtime.workqueue import (
    DelayingQueue,
    ItemExponentialFailureRateLimiter,
    Queue,
    QueueShutDown,
    RateLimitingQueue,
)

pytestmark = pytest.mark.unit


async def settle(turns: int = 5) -> None:
    for _ in range(turns):
        await asyncio.sleep(0)


# -- the basic queue -------------------------------------------------------------------------


async def test_fifo() -> None:
    q: Queue[str] = Queue()
    for item in ("a", "b", "c"):
        q.add(item)
    assert [await q.get() for _ in range(3)] == ["a", "b", "c"]


async def test_add_while_queued_is_kept_once() -> None:
    q: Queue[str] = Queue()
    q.add("a")
    q.add("b")
    q.add("a")
    assert len(q) == 2
    assert await q.get() == "a"
    assert await q.get() == "b"
    assert q.get_nowait() is None


async def test_add_while_processing_runs_once_more_after_done() -> None:
    q: Queue[str] = Queue()
    q.add("a")
    item = await q.get()
    q.add("a")
    q.add("a")
    assert len(q) == 0, "not handed out again while processing"
    assert q.is_dirty("a")
    q.done(item)
    assert len(q) == 1
    assert await q.get() == "a"
    q.done("a")
    assert len(q) == 0
    assert not q.is_dirty("a")


async def test_never_the_same_item_in_two_workers() -> None:
    q: Queue[int] = Queue()
    in_flight: set[int] = set()
    overlaps: list[int] = []
    processed: list[int] = []

    async def worker() -> None:
        while True:
            try:
                item = await q.get()
            except QueueShutDown:
                return
            if item in in_flight:
                overlaps.append(item)
            in_flight.add(item)
            await asyncio.sleep(0)
            if len(processed) < 200:
                q.add(item)  # re-add while processing
            await asyncio.sleep(0)
            in_flight.discard(item)
            processed.append(item)
            q.done(item)

    for i in range(3):
        q.add(i)
    workers = [asyncio.create_task(worker()) for _ in range(8)]
    for _ in range(1000):
        await asyncio.sleep(0)
        if len(processed) >= 200 and len(q) == 0 and q.processing_count == 0:
            break
    q.shutdown()
    await asyncio.gather(*workers)
    assert overlaps == []
    assert len(processed) >= 200


async def test_get_blocks_until_add() -> None:
    q: Queue[str] = Queue()
    getter = asyncio.create_task(q.get())
    await settle()
    assert not getter.done()
    q.add("x")
    assert await asyncio.wait_for(getter, 1) == "x"


async def test_cancelled_getter_passes_wakeup_on() -> None:
    q: Queue[str] = Queue()
    first = asyncio.create_task(q.get())
    second = asyncio.create_task(q.get())
    await settle()
    q.add("x")  # wakes `first`
    first.cancel()
    await settle()
    assert await asyncio.wait_for(second, 1) == "x"
    assert first.cancelled()


async def test_shutdown_ignores_adds_and_drains_queue_then_raises() -> None:
    q: Queue[str] = Queue()
    q.add("a")
    q.shutdown()
    q.add("b")
    assert q.shutting_down
    assert await q.get() == "a", "client-go hands out queued items after shutdown"
    with pytest.raises(QueueShutDown):
        await q.get()


async def test_shutdown_wakes_blocked_getters() -> None:
    q: Queue[str] = Queue()
    getters = [asyncio.create_task(q.get()) for _ in range(3)]
    await settle()
    q.shutdown()
    results = await asyncio.gather(*getters, return_exceptions=True)
    assert all(isinstance(r, QueueShutDown) for r in results)


async def test_shutdown_with_drain_waits_for_done() -> None:
    q: Queue[str] = Queue()
    q.add("a")
    q.add("b")
    a = await q.get()
    drain = asyncio.create_task(q.shutdown_with_drain())
    await settle()
    assert not drain.done()
    b = await q.get()  # still handed out while draining
    q.done(a)
    await settle()
    assert not drain.done(), "b is still processing"
    q.done(b)
    await asyncio.wait_for(drain, 1)


async def test_shutdown_with_drain_returns_at_once_when_idle() -> None:
    q: Queue[str] = Queue()
    await asyncio.wait_for(q.shutdown_with_drain(), 1)


async def test_shutdown_releases_a_drain() -> None:
    q: Queue[str] = Queue()
    q.add("a")
    await q.get()
    drain = asyncio.create_task(q.shutdown_with_drain())
    await settle()
    q.shutdown()
    await asyncio.wait_for(drain, 1)


async def test_queue_metrics() -> None:
    reg = CollectorRegistry()
    clock = FakeClock()
    q: Queue[str] = Queue("m", clock=clock, metrics=metrics_for(reg).queue("m"))
    labels = {"name": "m", "controller": "m"}
    q.add("a")
    q.add("a")
    q.add("b")
    assert sample_value(reg, "workqueue_adds_total", labels) == 2
    assert sample_value(reg, "workqueue_depth", {**labels, "priority": ""}) == 2
    clock.step(2)
    a = await q.get()
    assert sample_value(reg, "workqueue_queue_duration_seconds_count", labels) == 1
    assert sample_value(reg, "workqueue_queue_duration_seconds_sum", labels) == 2
    clock.step(3)
    assert sample_value(reg, "workqueue_unfinished_work_seconds", labels) == 3
    b = await q.get()
    clock.step(1)
    assert sample_value(reg, "workqueue_unfinished_work_seconds", labels) == 5
    assert sample_value(reg, "workqueue_longest_running_processor_seconds", labels) == 4
    q.done(a)
    q.done(b)
    assert sample_value(reg, "workqueue_work_duration_seconds_count", labels) == 2
    assert sample_value(reg, "workqueue_work_duration_seconds_sum", labels) == 5
    assert sample_value(reg, "workqueue_depth", {**labels, "priority": ""}) == 0
    assert sample_value(reg, "workqueue_longest_running_processor_seconds", labels) == 0


# -- the delaying queue ----------------------------------------------------------------------


async def test_add_after_waits_for_the_clock() -> None:
    clock = FakeClock()
    q: DelayingQueue[str] = DelayingQueue(clock=clock)
    q.add_after("a", 5)
    assert len(q) == 0
    assert q.is_waiting("a")
    clock.step(4.999)
    assert len(q) == 0
    clock.step(0.001)
    assert len(q) == 1
    assert not q.is_waiting("a")
    assert await q.get() == "a"


async def test_add_after_non_positive_adds_now() -> None:
    q: DelayingQueue[str] = DelayingQueue(clock=FakeClock())
    q.add_after("a", 0)
    q.add_after("b", -1)
    assert len(q) == 2


async def test_add_after_orders_by_ready_time() -> None:
    clock = FakeClock()
    q: DelayingQueue[str] = DelayingQueue(clock=clock)
    q.add_after("late", 3)
    q.add_after("early", 1)
    q.add_after("mid", 2)
    clock.step(1)
    assert [q.get_nowait()] == ["early"]
    clock.step(5)
    assert [q.get_nowait(), q.get_nowait()] == ["mid", "late"]


async def test_add_after_duplicate_only_moves_earlier() -> None:
    clock = FakeClock()
    q: DelayingQueue[str] = DelayingQueue(clock=clock)
    q.add_after("a", 10)
    q.add_after("a", 20)  # later: ignored
    clock.step(10)
    assert len(q) == 1
    q.get_nowait()
    q.done("a")
    clock.step(20)
    assert len(q) == 0, "the later request was dropped, not kept"

    q.add_after("b", 10)
    q.add_after("b", 2)  # earlier: moves up
    clock.step(2)
    assert q.get_nowait() == "b"
    q.done("b")
    clock.step(10)
    assert len(q) == 0, "the stale heap entry does not fire again"
    assert clock.pending_timers() == 0


async def test_add_after_while_queued_dedups() -> None:
    clock = FakeClock()
    q: DelayingQueue[str] = DelayingQueue(clock=clock)
    q.add("a")
    q.add_after("a", 1)
    clock.step(1)
    assert len(q) == 1


async def test_add_after_on_shut_down_queue_is_ignored() -> None:
    clock = FakeClock()
    q: DelayingQueue[str] = DelayingQueue(clock=clock)
    q.add_after("a", 1)
    q.shutdown()
    q.add_after("b", 1)
    clock.step(5)
    assert len(q) == 0
    assert clock.pending_timers() == 0


async def test_add_after_wakes_a_blocked_getter() -> None:
    clock = FakeClock()
    q: DelayingQueue[str] = DelayingQueue(clock=clock)
    getter = asyncio.create_task(q.get())
    q.add_after("a", 1)
    await settle()
    assert not getter.done()
    clock.step(1)
    assert await asyncio.wait_for(getter, 1) == "a"


async def test_add_after_counts_retries() -> None:
    reg = CollectorRegistry()
    q: DelayingQueue[str] = DelayingQueue(
        "d", clock=FakeClock(), metrics=metrics_for(reg).queue("d")
    )
    q.add_after("a", 0)
    q.add_after("b", 1)
    assert sample_value(reg, "workqueue_retries_total", {"name": "d", "controller": "d"}) == 2


async def test_add_after_with_real_clock() -> None:
    q: DelayingQueue[str] = DelayingQueue()
    q.add_after("a", 0.02)
    assert await asyncio.wait_for(q.get(), 2) == "a"


# -- the rate-limiting queue -----------------------------------------------------------------


async def test_add_rate_limited_forget_num_requeues() -> None:
    clock = FakeClock()
    q: RateLimitingQueue[str] = RateLimitingQueue(
        clock=clock, rate_limiter=ItemExponentialFailureRateLimiter(1, 100)
    )
    q.add_rate_limited("a")  # 1 s
    assert q.num_requeues("a") == 1
    clock.step(0.9)
    assert len(q) == 0
    clock.step(0.1)
    assert q.get_nowait() == "a"
    q.done("a")
    q.add_rate_limited("a")  # 2 s
    clock.step(1.9)
    assert len(q) == 0
    clock.step(0.1)
    assert q.get_nowait() == "a"
    q.done("a")
    assert q.num_requeues("a") == 2
    q.forget("a")
    assert q.num_requeues("a") == 0
    q.add_rate_limited("a")  # back to 1 s
    clock.step(1)
    assert len(q) == 1


async def test_default_rate_limiter_is_max_of_exponential_and_bucket() -> None:
    clock = FakeClock()
    q: RateLimitingQueue[int] = RateLimitingQueue(clock=clock)
    # the bucket's burst of 100 admits 100 items at the 5 ms exponential floor ...
    for i in range(102):
        q.add_rate_limited(i)
    clock.step(0.005)
    assert len(q) == 100
    # ... the next ones are spaced at 10 qps
    clock.step(0.094)
    assert len(q) == 100
    clock.step(0.001)
    assert len(q) == 101
    clock.step(0.1)
    assert len(q) == 102
