"""The basic workqueue, with client-go's semantics (``k8s.io/client-go/util/workqueue``).

* FIFO.
* An item added while it is queued is kept once (the ``dirty`` set).
* An item added while it is being processed is not handed out again until ``done`` is
  called for it; then it is queued once more. So one item is never processed by two
  workers at the same time.
* After ``shutdown`` adds are ignored; ``get`` still hands out what is queued and raises
  ``QueueShutDown`` once the queue is empty. ``shutdown_with_drain`` also waits until every
  item handed out has been marked ``done``.

Single event loop, no locks: every method except ``get`` and ``shutdown_with_drain`` is
synchronous and can be called from informer event handlers.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import Hashable
from typing import Generic, TypeVar

from xeem.runtime.clock import Clock, RealClock
from xeem.runtime.metrics import QueueMetrics

T = TypeVar("T", bound=Hashable)


class QueueShutDown(Exception):
    """Raised by ``get`` when the queue is shut down and empty."""


class Queue(Generic[T]):
    def __init__(
        self,
        name: str = "",
        *,
        clock: Clock | None = None,
        metrics: QueueMetrics | None = None,
    ) -> None:
        self.name = name
        self.clock: Clock = clock or RealClock()
        self._queue: deque[T] = deque()
        self._dirty: set[T] = set()
        self._processing: set[T] = set()
        self._waiters: deque[asyncio.Future[None]] = deque()
        self._shutting_down = False
        self._drain = False
        self._drained: asyncio.Event | None = None
        self._metrics = metrics
        self._add_times: dict[T, float] = {}
        self._processing_start: dict[T, float] = {}
        if metrics is not None:
            metrics.bind_processing(self.unfinished_work_seconds, self.longest_running_seconds)

    # -- public API ------------------------------------------------------------------------

    def add(self, item: T) -> None:
        """Mark ``item`` as needing processing."""
        if self._shutting_down or item in self._dirty:
            return
        self._metric_add(item)
        self._dirty.add(item)
        if item in self._processing:
            return
        self._queue.append(item)
        self._wake_one()

    def __len__(self) -> int:
        return len(self._queue)

    async def get(self) -> T:
        """Block until an item is available and hand it out (marking it processing).

        Raises ``QueueShutDown`` when the queue is shut down and empty.
        """
        while not self._queue and not self._shutting_down:
            waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._waiters.append(waiter)
            try:
                await waiter
            except asyncio.CancelledError:
                if waiter.done() and not waiter.cancelled():
                    self._wake_one()  # we were woken but won't take the item: pass it on
                else:
                    self._remove_waiter(waiter)
                raise
        if not self._queue:
            raise QueueShutDown(self.name)
        return self._pop()

    def get_nowait(self) -> T | None:
        """An item if one is queued, else None (raises ``QueueShutDown`` like ``get``)."""
        if self._queue:
            return self._pop()
        if self._shutting_down:
            raise QueueShutDown(self.name)
        return None

    def done(self, item: T) -> None:
        """Mark ``item`` as done; if it was added while processing, queue it again."""
        self._metric_done(item)
        self._processing.discard(item)
        if item in self._dirty:
            self._queue.append(item)
            self._wake_one()
        elif not self._processing and self._drained is not None:
            self._drained.set()

    def shutdown(self) -> None:
        """Ignore further adds; ``get`` raises once the queue is empty."""
        self._drain = False
        self._shutting_down = True
        self._wake_all()
        if self._drained is not None:
            self._drained.set()

    async def shutdown_with_drain(self) -> None:
        """Like ``shutdown``, then wait until every handed-out item is ``done``."""
        self._drain = True
        self._shutting_down = True
        self._wake_all()
        if self._processing:
            if self._drained is None:
                self._drained = asyncio.Event()
            await self._drained.wait()

    @property
    def shutting_down(self) -> bool:
        return self._shutting_down

    def is_processing(self, item: T) -> bool:
        return item in self._processing

    def is_dirty(self, item: T) -> bool:
        return item in self._dirty

    @property
    def processing_count(self) -> int:
        return len(self._processing)

    def unfinished_work_seconds(self) -> float:
        now = self.clock.now()
        return sum(now - start for start in self._processing_start.values())

    def longest_running_seconds(self) -> float:
        now = self.clock.now()
        return max((now - start for start in self._processing_start.values()), default=0.0)

    # -- internals -------------------------------------------------------------------------

    def _pop(self) -> T:
        item = self._queue.popleft()
        self._metric_get(item)
        self._processing.add(item)
        self._dirty.discard(item)
        return item

    def _wake_one(self) -> None:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return

    def _wake_all(self) -> None:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)

    def _remove_waiter(self, waiter: asyncio.Future[None]) -> None:
        with contextlib.suppress(ValueError):
            self._waiters.remove(waiter)

    def _metric_add(self, item: T) -> None:
        m = self._metrics
        if item not in self._add_times:
            self._add_times[item] = self.clock.now()
        if m is not None:
            m.adds.inc()
            m.depth.inc()

    def _metric_get(self, item: T) -> None:
        now = self.clock.now()
        added = self._add_times.pop(item, None)
        self._processing_start[item] = now
        m = self._metrics
        if m is not None:
            m.depth.dec()
            if added is not None:
                m.latency.observe(now - added)

    def _metric_done(self, item: T) -> None:
        start = self._processing_start.pop(item, None)
        if self._metrics is not None and start is not None:
            self._metrics.work_duration.observe(self.clock.now() - start)
