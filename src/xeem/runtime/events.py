"""An event recorder that aggregates repeats (client-go ``tools/record``).

``recorder.event(obj, "Normal", "Created", "created pod x")`` never blocks: events go to
bounded queues that ``run()`` writes out as core/v1 Events, ``lanes`` writes at a time.
The events of one object always share a lane, so they are written in the order recorded
(and an aggregated event's count never goes back); a burst of events about many objects
does not queue behind one slow write. A full queue drops the event. ``on_outcome`` (when
given) is told ``written`` or ``dropped`` for every event. Before writing, each event
goes through client-go's correlator:

* **spam filter**: a token bucket per (source, involved object), burst 25, refilled one
  every 5 minutes; events beyond it are dropped.
* **aggregation**: when more than 10 events with the same source, object, type and reason
  but *different* messages arrive within 10 minutes, they are folded into one event whose
  message starts with ``(combined from similar events):``.
* **deduplication**: an event identical to one already written (same object, type, reason,
  message) is not created again: the existing Event's ``count`` and ``lastTimestamp`` are
  patched.
"""

from __future__ import annotations

import asyncio
import socket
import zlib
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import structlog

from xeem.runtime.clock import Clock, RealClock
from xeem.runtime.kube import ApiError, NotFoundError
from xeem.runtime.resource import EVENT, Obj, meta

log = structlog.get_logger("xeem.runtime.events")

NORMAL = "Normal"
WARNING = "Warning"

AGGREGATE_PREFIX = "(combined from similar events): "


def _rfc3339(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class _LRU(OrderedDict[Any, Any]):
    def __init__(self, size: int) -> None:
        super().__init__()
        self.size = size

    def get_touch(self, key: Any) -> Any:
        value = self.get(key)
        if value is not None:
            self.move_to_end(key)
        return value

    def put(self, key: Any, value: Any) -> None:
        self[key] = value
        self.move_to_end(key)
        while len(self) > self.size:
            self.popitem(last=False)


@dataclass
class EventWrite:
    """What the correlator decided: create a new Event, or patch an existing one."""

    event: Obj
    patch: bool = False


@dataclass
class _Aggregate:
    messages: set[str] = field(default_factory=set)
    last: float = 0.0


@dataclass
class _Seen:
    name: str
    namespace: str
    count: int
    first_timestamp: str


@dataclass
class _Bucket:
    tokens: float
    last: float


class EventCorrelator:
    """Pure decision logic, driven by a clock (unit-testable without a server)."""

    def __init__(
        self,
        component: str,
        host: str = "",
        *,
        clock: Clock | None = None,
        cache_size: int = 4096,
        max_similar: int = 10,
        similar_window: float = 600.0,
        spam_burst: int = 25,
        spam_qps: float = 1.0 / 300.0,
    ) -> None:
        self.component = component
        self.host = host
        self.clock: Clock = clock or RealClock()
        self.max_similar = max_similar
        self.similar_window = similar_window
        self.spam_burst = spam_burst
        self.spam_qps = spam_qps
        self._aggregates: _LRU = _LRU(cache_size)
        self._seen: _LRU = _LRU(cache_size)
        self._buckets: _LRU = _LRU(cache_size)

    @staticmethod
    def involved_object(obj: Obj) -> dict[str, Any]:
        m = meta(obj)
        ref = {
            "apiVersion": obj.get("apiVersion", ""),
            "kind": obj.get("kind", ""),
            "name": m.get("name", ""),
            "namespace": m.get("namespace", ""),
            "uid": m.get("uid", ""),
            "resourceVersion": m.get("resourceVersion", ""),
        }
        return {k: v for k, v in ref.items() if v}

    def _allow(self, source_key: tuple[Any, ...]) -> bool:
        now = self.clock.now()
        bucket: _Bucket | None = self._buckets.get_touch(source_key)
        if bucket is None:
            bucket = _Bucket(float(self.spam_burst), now)
            self._buckets.put(source_key, bucket)
        bucket.tokens = min(
            float(self.spam_burst), bucket.tokens + (now - bucket.last) * self.spam_qps
        )
        bucket.last = now
        if bucket.tokens < 1.0:
            return False
        bucket.tokens -= 1.0
        return True

    def correlate(self, obj: Obj, type_: str, reason: str, message: str) -> EventWrite | None:
        """The write to do for this event, or None when the spam filter drops it."""
        ref = self.involved_object(obj)
        obj_key = (
            ref.get("kind"),
            ref.get("namespace"),
            ref.get("name"),
            ref.get("uid"),
            ref.get("apiVersion"),
        )
        if not self._allow((self.component, self.host, *obj_key)):
            return None
        now = self.clock.now()
        aggregate_key = (self.component, self.host, *obj_key, type_, reason)
        agg: _Aggregate | None = self._aggregates.get_touch(aggregate_key)
        if agg is None or now - agg.last > self.similar_window:
            agg = _Aggregate()
            self._aggregates.put(aggregate_key, agg)
        agg.last = now
        agg.messages.add(message)
        if len(agg.messages) > self.max_similar:
            message = AGGREGATE_PREFIX + message
            dedup_key: tuple[Any, ...] = (*aggregate_key, AGGREGATE_PREFIX)
        else:
            dedup_key = (*aggregate_key, message)

        wall = self.clock.wall()
        ts = _rfc3339(wall)
        namespace = ref.get("namespace") or "default"
        seen: _Seen | None = self._seen.get_touch(dedup_key)
        if seen is not None:
            seen.count += 1
            event = {
                "metadata": {"name": seen.name, "namespace": seen.namespace},
                "count": seen.count,
                "lastTimestamp": ts,
                "message": message,
            }
            return EventWrite(event, patch=True)
        name = f"{ref.get('name', 'unknown')}.{int(wall * 1e9):x}"
        self._seen.put(dedup_key, _Seen(name, namespace, 1, ts))
        event = {
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {"name": name, "namespace": namespace},
            "involvedObject": ref,
            "reason": reason,
            "message": message,
            "type": type_,
            "source": {"component": self.component, **({"host": self.host} if self.host else {})},
            "firstTimestamp": ts,
            "lastTimestamp": ts,
            "count": 1,
            "reportingComponent": self.component,
            "reportingInstance": self.host or self.component,
        }
        return EventWrite(event)

    def first_timestamp(self, name: str) -> str | None:
        for seen in self._seen.values():
            if seen.name == name:
                return str(seen.first_timestamp)
        return None


_Queued = tuple[Obj, str, str, str]
"""An event waiting in a lane: (object, type, reason, message)."""


class EventRecorder:
    """Queues events and writes them (aggregated) from ``run()``."""

    def __init__(
        self,
        client: Any,
        component: str,
        *,
        host: str | None = None,
        clock: Clock | None = None,
        max_queued: int = 1000,
        correlator: EventCorrelator | None = None,
        lanes: int = 4,
        on_outcome: Callable[[str], None] | None = None,
    ) -> None:
        self.client = client
        self.component = component
        self.correlator = correlator or EventCorrelator(
            component, host if host is not None else socket.gethostname(), clock=clock
        )
        per_lane = max(max_queued // lanes, 1)
        self._lanes: list[asyncio.Queue[_Queued]] = [asyncio.Queue(per_lane) for _ in range(lanes)]
        self._on_outcome = on_outcome
        self.dropped = 0
        self.written = 0

    def event(self, obj: Obj, type_: str, reason: str, message: str) -> None:
        """Record an event about ``obj`` (``type_`` is ``Normal`` or ``Warning``)."""
        try:
            self._lanes[self.lane(obj)].put_nowait((obj, type_, reason, message))
        except asyncio.QueueFull:
            self._tell("dropped")

    def lane(self, obj: Obj) -> int:
        """The lane of every event about ``obj`` (stable across processes)."""
        m = meta(obj)
        key = f"{m.get('namespace', '')}/{obj.get('kind', '')}/{m.get('name', '')}"
        return zlib.crc32(key.encode()) % len(self._lanes)

    def eventf(self, obj: Obj, type_: str, reason: str, fmt: str, *args: Any) -> None:
        self.event(obj, type_, reason, fmt % args if args else fmt)

    async def run(self) -> None:
        async with asyncio.TaskGroup() as lanes:
            for queue in self._lanes:
                lanes.create_task(self._drain(queue))

    async def _drain(self, queue: asyncio.Queue[_Queued]) -> None:
        while True:
            obj, type_, reason, message = await queue.get()
            try:
                await self._write(obj, type_, reason, message)
            finally:
                queue.task_done()

    async def flush(self) -> None:
        """Wait until every queued event has been written (or dropped)."""
        for queue in self._lanes:
            await queue.join()

    def _tell(self, outcome: str) -> None:
        """Count an event ``written`` or ``dropped`` and report it to ``on_outcome``."""
        if outcome == "written":
            self.written += 1
        else:
            self.dropped += 1
        if self._on_outcome is not None:
            self._on_outcome(outcome)

    async def _write(self, obj: Obj, type_: str, reason: str, message: str) -> None:
        write = self.correlator.correlate(obj, type_, reason, message)
        if write is None:
            self._tell("dropped")
            return
        event = write.event
        m = event["metadata"]
        for attempt in range(3):
            try:
                if write.patch:
                    try:
                        await self.client.patch(
                            EVENT,
                            m["name"],
                            {k: event[k] for k in ("count", "lastTimestamp", "message")},
                            namespace=m["namespace"],
                        )
                    except NotFoundError:
                        # the Event expired (1 h TTL); write it anew with its count
                        log.debug("aggregated event gone, recreating", event_name=m["name"])
                        write = EventWrite(self._recreate(obj, type_, reason, event))
                        event = write.event
                        continue
                else:
                    await self.client.create(EVENT, event, namespace=m["namespace"])
                self._tell("written")
                return
            except ApiError as e:
                if attempt == 2 or e.status in (400, 403, 422):
                    log.warning("dropping event", reason=reason, error=str(e), **_describe(obj))
                    self._tell("dropped")
                    return
                await asyncio.sleep(0.1 * (attempt + 1))

    def _recreate(self, obj: Obj, type_: str, reason: str, patch: Obj) -> Obj:
        ref = self.correlator.involved_object(obj)
        ts = patch["lastTimestamp"]
        return {
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": dict(patch["metadata"]),
            "involvedObject": ref,
            "reason": reason,
            "message": patch["message"],
            "type": type_,
            "source": {"component": self.component},
            "firstTimestamp": self.correlator.first_timestamp(patch["metadata"]["name"]) or ts,
            "lastTimestamp": ts,
            "count": patch["count"],
            "reportingComponent": self.component,
            "reportingInstance": self.correlator.host or self.component,
        }


def _describe(obj: Obj) -> dict[str, Any]:
    m = meta(obj)
    return {"namespace": m.get("namespace", ""), "name": m.get("name", "")}
