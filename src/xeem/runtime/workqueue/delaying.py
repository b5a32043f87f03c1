"""A workqueue with ``add_after`` (client-go's delaying queue).

Waiting items live on a heap ordered by ready time; one clock timer is armed for the
earliest. Adding an item that is already waiting only ever moves it earlier, never later.
Every ``add_after`` counts as a retry (``workqueue_retries_total``), as in client-go.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Hashable
from typing import TypeVar

from xeem.runtime.clock import Clock, Timer
from xeem.runtime.metrics import QueueMetrics
from xeem.runtime.workqueue.queue import Queue

T = TypeVar("T", bound=Hashable)


class DelayingQueue(Queue[T]):
    def __init__(
        self,
        name: str = "",
        *,
        clock: Clock | None = None,
        metrics: QueueMetrics | None = None,
    ) -> None:
        super().__init__(name, clock=clock, metrics=metrics)
        self._heap: list[tuple[float, int, T]] = []
        self._ready_at: dict[T, float] = {}
        self._seq = itertools.count()
        self._timer: Timer | None = None
        self._timer_at: float | None = None
        self._delay_metrics = metrics

    def add_after(self, item: T, delay: float) -> None:
        """Add ``item`` after ``delay`` seconds (at once when ``delay <= 0``)."""
        if self.shutting_down:
            return
        if self._delay_metrics is not None:
            self._delay_metrics.retries.inc()
        if delay <= 0:
            self.add(item)
            return
        ready_at = self.clock.now() + delay
        current = self._ready_at.get(item)
        if current is not None and current <= ready_at:
            return
        self._ready_at[item] = ready_at
        heapq.heappush(self._heap, (ready_at, next(self._seq), item))
        self._arm()

    @property
    def waiting_count(self) -> int:
        return len(self._ready_at)

    def is_waiting(self, item: T) -> bool:
        return item in self._ready_at

    def shutdown(self) -> None:
        self._disarm()
        super().shutdown()

    async def shutdown_with_drain(self) -> None:
        self._disarm()
        await super().shutdown_with_drain()

    def _disarm(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._timer = None
        self._timer_at = None

    def _arm(self) -> None:
        # drop stale heap entries (an item moved earlier leaves its old entry behind)
        while self._heap and self._ready_at.get(self._heap[0][2]) != self._heap[0][0]:
            heapq.heappop(self._heap)
        if not self._heap:
            self._disarm()
            return
        head = self._heap[0][0]
        if self._timer_at is not None and self._timer_at <= head:
            return
        self._disarm()
        self._timer_at = head
        self._timer = self.clock.call_later(head - self.clock.now(), self._fire)

    def _fire(self) -> None:
        self._timer = None
        self._timer_at = None
        if self.shutting_down:
            return
        now = self.clock.now()
        while self._heap and self._heap[0][0] <= now:
            ready_at, _, item = heapq.heappop(self._heap)
            if self._ready_at.get(item) != ready_at:
                continue  # stale entry
            del self._ready_at[item]
            self.add(item)
        self._arm()
