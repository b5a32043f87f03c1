"""A shared informer: list, then watch, into an indexed cache, with event handlers.

Semantics of client-go's reflector + shared informer, adapted to one event loop:

* **List** (paginated, consistent read), replace the cache, and notify handlers of the
  difference: adds, updates (resourceVersion changed) and the deletes a relist discovers.
* **Watch** from the list's resourceVersion with ``allowWatchBookmarks``; bookmarks only
  advance the resourceVersion. A watch the server closes normally (its ``timeoutSeconds``
  ran out) is reopened from the last resourceVersion.
* **410 Gone / Expired** (on opening a watch or as an ERROR event) means the
  resourceVersion was compacted away: relist at once.
* **Errors** (connection refused, 5xx, 429, ...) are retried with exponential backoff with
  jitter, 0.8 s up to 30 s; reset after a healthy list or watch.
* **Inactivity**: a watch that delivers nothing - no event, no bookmark - for
  ``inactivity_timeout`` seconds is a silent stream (a dead proxy, a half-open TCP
  connection); it is closed and reopened.
* Handlers run synchronously in event order; they must be quick (enqueue a key). A handler
  registered late first sees an add for every cached object. An exception from a handler
  is a bug: it propagates and stops the informer (and so fails its manager).
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import structlog

from xeem.runtime.cache import IndexFunc, Store
from xeem.runtime.clock import Clock, RealClock
from xeem.runtime.kube import (
    ApiError,
    GoneError,
    ServerError,
    TooManyRequestsError,
    Transport,
    TransportError,
    error_from_status,
)
from xeem.runtime.resource import Obj, ResourceType, meta, object_key

log = structlog.get_logger("xeem.runtime.informer")


class EventHandler(Protocol):
    def on_add(self, obj: Obj) -> None: ...

    def on_update(self, old: Obj, new: Obj) -> None: ...

    def on_delete(self, obj: Obj) -> None: ...


@dataclass
class EventHandlerFuncs:
    """An ``EventHandler`` from optional callables."""

    add: Callable[[Obj], None] | None = None
    update: Callable[[Obj, Obj], None] | None = None
    delete: Callable[[Obj], None] | None = None

    def on_add(self, obj: Obj) -> None:
        if self.add is not None:
            self.add(obj)

    def on_update(self, old: Obj, new: Obj) -> None:
        if self.update is not None:
            self.update(old, new)

    def on_delete(self, obj: Obj) -> None:
        if self.delete is not None:
            self.delete(obj)


class HandlerRegistration:
    def __init__(self, informer: Informer, handler: EventHandler) -> None:
        self._informer = informer
        self.handler = handler

    def remove(self) -> None:
        self._informer._remove_handler(self)


@dataclass
class InformerStats:
    lists: int = 0
    watches: int = 0
    events: int = 0
    bookmarks: int = 0
    gone: int = 0
    inactivity_timeouts: int = 0
    errors: int = 0
    relist_deletes: int = 0


class Backoff:
    """Exponential backoff with jitter: ``d`` then ``2d`` ... capped, each times [1, 1+jitter)."""

    def __init__(
        self,
        initial: float = 0.8,
        maximum: float = 30.0,
        factor: float = 2.0,
        jitter: float = 1.0,
        rng: random.Random | None = None,
    ) -> None:
        self.initial = initial
        self.maximum = maximum
        self.factor = factor
        self.jitter = jitter
        self._rng = rng or random.Random()
        self._current = initial

    def next(self) -> float:
        delay = self._current * (1.0 + self._rng.random() * self.jitter)
        self._current = min(self._current * self.factor, self.maximum)
        return min(delay, self.maximum)

    def reset(self) -> None:
        self._current = self.initial


class Informer:
    """Lists and watches one resource type into a ``Store``; see the module docstring."""

    def __init__(
        self,
        transport: Transport,
        resource: ResourceType,
        *,
        namespace: str | None = None,
        label_selector: str | None = None,
        field_selector: str | None = None,
        indexers: Mapping[str, IndexFunc] | None = None,
        page_size: int = 500,
        inactivity_timeout: float = 180.0,
        watch_timeout: tuple[int, int] = (300, 600),
        backoff: Backoff | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.transport = transport
        self.resource = resource
        self.namespace = namespace
        self.label_selector = label_selector
        self.field_selector = field_selector
        self.store = Store(indexers)
        self.page_size = page_size
        self.inactivity_timeout = inactivity_timeout
        self.watch_timeout = watch_timeout
        self.backoff = backoff or Backoff()
        self.clock: Clock = clock or RealClock()
        self.stats = InformerStats()
        self.last_sync_resource_version = ""
        self._handlers: list[HandlerRegistration] = []
        self._synced = asyncio.Event()
        self._running = False
        self._log = log.bind(resource=str(resource), namespace_scope=namespace or "")

    # -- handlers ----------------------------------------------------------------------------

    def add_event_handler(self, handler: EventHandler) -> HandlerRegistration:
        """Register ``handler``; if the cache is synced it first gets an add per object."""
        reg = HandlerRegistration(self, handler)
        self._handlers.append(reg)
        if self._synced.is_set():
            for obj in self.store.list():
                handler.on_add(obj)
        return reg

    def _remove_handler(self, reg: HandlerRegistration) -> None:
        if reg in self._handlers:
            self._handlers.remove(reg)

    def _notify_add(self, obj: Obj) -> None:
        for reg in tuple(self._handlers):
            reg.handler.on_add(obj)

    def _notify_update(self, old: Obj, new: Obj) -> None:
        for reg in tuple(self._handlers):
            reg.handler.on_update(old, new)

    def _notify_delete(self, obj: Obj) -> None:
        for reg in tuple(self._handlers):
            reg.handler.on_delete(obj)

    # -- sync state --------------------------------------------------------------------------

    def has_synced(self) -> bool:
        return self._synced.is_set()

    async def wait_for_sync(self, timeout: float | None = None) -> bool:
        try:
            async with asyncio.timeout(timeout):
                await self._synced.wait()
        except TimeoutError:
            return False
        return True

    @property
    def running(self) -> bool:
        return self._running

    # -- the loop ----------------------------------------------------------------------------

    async def run(self) -> None:
        """List and watch until cancelled. API errors are retried; handler errors raise."""
        if self._running:
            raise RuntimeError(f"informer for {self.resource} is already running")
        self._running = True
        need_list = True
        try:
            while True:
                try:
                    if need_list:
                        await self._list_and_replace()
                        need_list = False
                        self.backoff.reset()
                    await self._watch()
                except GoneError:
                    self.stats.gone += 1
                    self._log.info(
                        "resource version expired, relisting", rv=self.last_sync_resource_version
                    )
                    need_list = True
                except TimeoutError:
                    self.stats.inactivity_timeouts += 1
                    self._log.warning(
                        "watch inactive, reopening", inactivity_timeout=self.inactivity_timeout
                    )
                except ApiError as e:
                    self.stats.errors += 1
                    delay = self.backoff.next()
                    self._log.warning(
                        "list/watch failed, backing off",
                        error=str(e),
                        status=e.status,
                        during="list" if need_list else "watch",
                        retry_in=round(delay, 3),
                    )
                    if not isinstance(e, TransportError | ServerError | TooManyRequestsError):
                        need_list = True  # unexpected refusal: start over from a list
                    await self.clock.sleep(delay)
        finally:
            self._running = False

    def _params(self) -> dict[str, str | int | bool | None]:
        return {"labelSelector": self.label_selector, "fieldSelector": self.field_selector}

    async def _list_and_replace(self) -> None:
        path = self.resource.path(self.namespace)
        items: list[Obj] = []
        params = self._params()
        cont: str | None = None
        paged = True
        while True:
            page_params = dict(params)
            if paged:
                page_params["limit"] = self.page_size
                page_params["continue"] = cont
            try:
                body = await self.transport.request("GET", path, params=page_params)
            except GoneError:
                if cont is None:
                    raise
                # the continue token expired mid-list: start over with one full list
                items, cont, paged = [], None, False
                continue
            for obj in body.get("items") or ():
                obj.setdefault("apiVersion", self.resource.api_version)
                obj.setdefault("kind", self.resource.kind)
                items.append(obj)
            list_meta = body.get("metadata") or {}
            cont = list_meta.get("continue") or None
            if not paged or cont is None:
                rv = str(list_meta.get("resourceVersion", ""))
                break
        self.stats.lists += 1
        self._replace(items)
        self.last_sync_resource_version = rv
        if not self._synced.is_set():
            self._log.info("informer synced", objects=len(items), rv=rv)
            self._synced.set()

    def _replace(self, items: list[Obj]) -> None:
        store = self.store
        seen: set[str] = set()
        for obj in items:
            key = object_key(obj)
            seen.add(key)
            old = store.add(obj)
            if old is None:
                self._notify_add(obj)
            elif meta(old).get("resourceVersion") != meta(obj).get("resourceVersion"):
                self._notify_update(old, obj)
        for key in [k for k in store.keys() if k not in seen]:  # noqa: SIM118
            old = store.delete_key(key)
            if old is not None:
                self.stats.relist_deletes += 1
                self._notify_delete(old)

    async def _watch(self) -> None:
        params = self._params()
        params.update(
            watch=True,
            allowWatchBookmarks=True,
            resourceVersion=self.last_sync_resource_version,
            timeoutSeconds=random.randint(*self.watch_timeout),
        )
        self.stats.watches += 1
        healthy = False
        async for event in self.transport.stream(
            self.resource.path(self.namespace),
            params=params,
            inactivity_timeout=self.inactivity_timeout,
        ):
            kind = event.get("type")
            obj: Any = event.get("object")
            if not isinstance(obj, dict):
                continue
            if kind == "ERROR":
                code = int(obj.get("code") or 0)
                raise error_from_status(code or 500, obj)
            if not healthy:
                healthy = True
                self.backoff.reset()
            rv = meta(obj).get("resourceVersion")
            if kind == "BOOKMARK":
                self.stats.bookmarks += 1
            elif kind in ("ADDED", "MODIFIED"):
                self.stats.events += 1
                old = self.store.add(obj)
                if old is None:
                    self._notify_add(obj)
                else:
                    self._notify_update(old, obj)
            elif kind == "DELETED":
                self.stats.events += 1
                old = self.store.delete(obj)
                if old is not None:
                    self._notify_delete(obj)
            if rv:
                self.last_sync_resource_version = str(rv)
        # the server ended the watch (timeoutSeconds): reopen from the last resourceVersion
        self.backoff.reset()

    # -- reads -------------------------------------------------------------------------------

    def get(self, name: str, namespace: str | None = None) -> Obj | None:
        key = f"{namespace}/{name}" if namespace and self.resource.namespaced else name
        return self.store.get(key)

    def list(
        self, namespace: str | None = None, label_selector: Mapping[str, str] | None = None
    ) -> list[Obj]:
        return self.store.select(namespace, label_selector)
