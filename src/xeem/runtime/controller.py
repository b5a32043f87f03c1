"""Controllers: informer events -> rate-limited workqueue -> N reconcile workers.

Semantics of controller-runtime's controller:

* ``reconcile(request) -> Result``; a clean return forgets the request's failure history.
* ``Result(requeue_after=s)`` reconciles again after ``s`` seconds; ``Result(requeue=True)``
  requeues rate limited.
* An exception is counted (``controller_runtime_reconcile_errors_total``) and the request is
  requeued rate limited (5 ms doubling to 1000 s, with the 10 qps / 100 burst bucket).
* ``TerminalError`` is counted (also in ``..._terminal_reconcile_errors_total``) and not
  retried.
* The workqueue never hands one request to two workers at once.

Built with ``manager.controller(name).for_(...).owns(...).watches(...).complete(r)``.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

import structlog

from xeem.runtime.clock import Clock, RealClock
from xeem.runtime.handler import (
    EnqueueRequestForObject,
    EnqueueRequestForOwner,
    EnqueueRequestsFromMapFunc,
    EventMapper,
    MapFunc,
)
from xeem.runtime.informer import HandlerRegistration, Informer
from xeem.runtime.metrics import RuntimeMetrics
from xeem.runtime.predicate import Predicate
from xeem.runtime.reconcile import FuncReconciler, ReconcileFunc, Reconciler, Request, TerminalError
from xeem.runtime.resource import Obj, ResourceType
from xeem.runtime.workqueue import QueueShutDown, RateLimiter, RateLimitingQueue

log = structlog.get_logger("xeem.runtime.controller")

RESULTS = ("success", "error", "requeue", "requeue_after")


@dataclass(frozen=True)
class Watch:
    """One event source of a controller: a resource type, how its events map to requests,
    and the predicates that filter them."""

    resource: ResourceType
    mapper: EventMapper
    predicates: tuple[Predicate, ...] = ()


class _WatchHandler:
    """Adapts informer events through predicates and a mapper into queue adds."""

    def __init__(self, watch: Watch, queue: RateLimitingQueue[Request]) -> None:
        self.watch = watch
        self.queue = queue

    def _add(self, requests: Iterable[Request]) -> None:
        for request in requests:
            self.queue.add(request)

    def on_add(self, obj: Obj) -> None:
        if all(p.create(obj) for p in self.watch.predicates):
            self._add(self.watch.mapper.create(obj))

    def on_update(self, old: Obj, new: Obj) -> None:
        if all(p.update(old, new) for p in self.watch.predicates):
            self._add(self.watch.mapper.update(old, new))

    def on_delete(self, obj: Obj) -> None:
        if all(p.delete(obj) for p in self.watch.predicates):
            self._add(self.watch.mapper.delete(obj))


class Controller:
    def __init__(
        self,
        name: str,
        reconciler: Reconciler,
        *,
        watches: Sequence[Watch],
        informer_for: Callable[[ResourceType], Informer],
        metrics: RuntimeMetrics,
        max_concurrent_reconciles: int = 1,
        rate_limiter: RateLimiter | None = None,
        clock: Clock | None = None,
    ) -> None:
        if max_concurrent_reconciles < 1:
            raise ValueError("max_concurrent_reconciles must be >= 1")
        self.name = name
        self.reconciler = reconciler
        self.watches = tuple(watches)
        self.max_concurrent_reconciles = max_concurrent_reconciles
        self.clock: Clock = clock or RealClock()
        self.metrics = metrics
        self.queue: RateLimitingQueue[Request] = RateLimitingQueue(
            name, rate_limiter=rate_limiter, clock=self.clock, metrics=metrics.queue(name)
        )
        self._informer_for = informer_for
        self._stopping = asyncio.Event()
        self._started = False
        self._ids = itertools.count(1)
        self._log = log.bind(controller=name)
        self._total = {r: metrics.reconcile_total.labels(name, r) for r in RESULTS}
        self._errors = metrics.reconcile_errors.labels(name)
        self._terminal = metrics.terminal_reconcile_errors.labels(name)
        self._time = metrics.reconcile_time.labels(name)
        self._active = metrics.active_workers.labels(name)
        metrics.reconcile_panics.labels(name)
        metrics.max_concurrent_reconciles.labels(name).set(max_concurrent_reconciles)

    def informers(self) -> list[Informer]:
        return [self._informer_for(w.resource) for w in self.watches]

    def stop(self) -> None:
        """Stop handing out requests; ``run`` returns once in-flight reconciles finish."""
        self._stopping.set()

    async def run(self) -> None:
        """Watch, then reconcile with N workers until ``stop()`` (or cancellation)."""
        if self._started:
            raise RuntimeError(f"controller {self.name} already started")
        self._started = True
        registrations: list[HandlerRegistration] = []
        self._log.info("starting controller", workers=self.max_concurrent_reconciles)
        try:
            for watch in self.watches:
                informer = self._informer_for(watch.resource)
                registrations.append(informer.add_event_handler(_WatchHandler(watch, self.queue)))
            async with asyncio.TaskGroup() as tg:
                for i in range(self.max_concurrent_reconciles):
                    tg.create_task(self._worker(), name=f"{self.name}-worker-{i}")
                await self._stopping.wait()
                self._log.info("stopping controller; waiting for in-flight reconciles")
                self.queue.shutdown()
        finally:
            for reg in registrations:
                reg.remove()
            self.queue.shutdown()
            self._log.info("controller stopped")

    async def _worker(self) -> None:
        while True:
            try:
                request = await self.queue.get()
            except QueueShutDown:
                return
            if self._stopping.is_set():
                self.queue.done(request)
                return
            await self._reconcile(request)

    async def _reconcile(self, request: Request) -> None:
        queue = self.queue
        self._active.inc()
        start = self.clock.now()
        reconcile_id = next(self._ids)
        rlog = self._log.bind(
            namespace=request.namespace, name=request.name, reconcile_id=reconcile_id
        )
        try:
            with structlog.contextvars.bound_contextvars(
                controller=self.name,
                namespace=request.namespace,
                name=request.name,
                reconcile_id=reconcile_id,
            ):
                result = await self.reconciler.reconcile(request)
        except TerminalError as e:
            queue.forget(request)
            self._errors.inc()
            self._terminal.inc()
            self._total["error"].inc()
            rlog.error("reconciler error (terminal, not retried)", error=str(e))
        except asyncio.CancelledError:
            raise
        except Exception as e:
            queue.add_rate_limited(request)
            self._errors.inc()
            self._total["error"].inc()
            rlog.error(
                "reconciler error",
                error=f"{type(e).__name__}: {e}",
                requeues=queue.num_requeues(request),
                exc_info=not _quiet(e),
            )
        else:
            if result is not None and result.requeue_after > 0:
                queue.forget(request)
                queue.add_after(request, result.requeue_after)
                self._total["requeue_after"].inc()
            elif result is not None and result.requeue:
                queue.add_rate_limited(request)
                self._total["requeue"].inc()
            else:
                queue.forget(request)
                self._total["success"].inc()
        finally:
            self._time.observe(self.clock.now() - start)
            queue.done(request)
            self._active.dec()


def _quiet(e: Exception) -> bool:
    """API errors (conflicts, not found) need no traceback in the log."""
    from xeem.runtime.kube import ApiError

    return isinstance(e, ApiError)


class ControllerHost(Protocol):
    """What the builder needs from a manager."""

    @property
    def metrics(self) -> RuntimeMetrics: ...

    @property
    def clock(self) -> Clock: ...

    def informer(self, resource: ResourceType) -> Informer: ...

    def add_controller(self, controller: Controller) -> None: ...


class Builder:
    """``manager.controller("name").for_(T).owns(C).watches(X, fn).complete(reconciler)``."""

    def __init__(self, host: ControllerHost, name: str | None = None) -> None:
        self._host = host
        self._name = name
        self._for: Watch | None = None
        self._watches: list[Watch] = []
        self._global_predicates: list[Predicate] = []
        self._max_concurrent = 1
        self._rate_limiter: RateLimiter | None = None

    def named(self, name: str) -> Builder:
        self._name = name
        return self

    def for_(self, resource: ResourceType, *predicates: Predicate) -> Builder:
        """The reconciled type: its own events enqueue its own requests."""
        if self._for is not None:
            raise ValueError("for_() may be called only once")
        self._for = Watch(resource, EnqueueRequestForObject(), predicates)
        return self

    def owns(self, resource: ResourceType, *predicates: Predicate) -> Builder:
        """A child type: its events enqueue the ``for_`` object that controls it."""
        if self._for is None:
            raise ValueError("call for_() before owns()")
        mapper = EnqueueRequestForOwner(self._for.resource, only_controller=True)
        self._watches.append(Watch(resource, mapper, predicates))
        return self

    def watches(
        self, resource: ResourceType, mapper: EventMapper | MapFunc, *predicates: Predicate
    ) -> Builder:
        """Any type, mapped to requests by ``mapper``."""
        m: EventMapper
        if callable(mapper) and not hasattr(mapper, "create"):
            m = EnqueueRequestsFromMapFunc(mapper)
        else:
            m = mapper  # type: ignore[assignment]
        self._watches.append(Watch(resource, m, predicates))
        return self

    def with_event_filter(self, *predicates: Predicate) -> Builder:
        """Predicates applied to every watch."""
        self._global_predicates.extend(predicates)
        return self

    def with_options(
        self,
        *,
        max_concurrent_reconciles: int | None = None,
        rate_limiter: RateLimiter | None = None,
    ) -> Builder:
        if max_concurrent_reconciles is not None:
            self._max_concurrent = max_concurrent_reconciles
        if rate_limiter is not None:
            self._rate_limiter = rate_limiter
        return self

    def complete(self, reconciler: Reconciler | ReconcileFunc) -> Controller:
        """Build the controller and register it with the manager."""
        if self._for is None:
            raise ValueError("a controller needs for_()")
        name = self._name or self._for.resource.kind.lower()
        watches = [self._for, *self._watches]
        if self._global_predicates:
            watches = [
                Watch(w.resource, w.mapper, (*self._global_predicates, *w.predicates))
                for w in watches
            ]
        r: Reconciler
        r = reconciler if hasattr(reconciler, "reconcile") else FuncReconciler(reconciler)
        for w in watches:
            self._host.informer(w.resource)  # make sure the shared informer exists
        controller = Controller(
            name,
            r,
            watches=watches,
            informer_for=self._host.informer,
            metrics=self._host.metrics,
            max_concurrent_reconciles=self._max_concurrent,
            rate_limiter=self._rate_limiter,
            clock=self._host.clock,
        )
        self._host.add_controller(controller)
        return controller
