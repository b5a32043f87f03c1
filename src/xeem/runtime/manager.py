"""The manager: shared informers, controllers, leader election, probes and metrics.

Structured concurrency: every long-running task (informers, event recorders, the probe
server, controllers, the lease renewal) lives in one ``asyncio.TaskGroup`` owned by
``start()``. If any of them fails, the group cancels the rest and ``start()`` raises that
failure - a dead informer or a lost lease is never silent.

Lifecycle of ``start()``:

1. start the probe/metrics server and every shared informer (in every replica);
2. wait until all informers have synced (``cache_sync_timeout``), then report ready;
3. with leader election, wait to become leader; a lost lease cancels the controllers at once
   and ``start()`` raises ``LeaderElectionLost``;
4. run the controllers (and leader-only runnables) until ``stop()`` (or SIGTERM when
   ``install_signal_handlers()`` was called);
5. graceful stop: controllers stop taking requests and in-flight reconciles get
   ``graceful_shutdown_timeout`` seconds to finish (then are cancelled); the lease is
   released; everything else is cancelled.
"""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, NoReturn

import structlog
from prometheus_client import CollectorRegistry

from xeem.runtime.client import Client
from xeem.runtime.clock import Clock, RealClock
from xeem.runtime.controller import Builder, Controller
from xeem.runtime.events import EventRecorder
from xeem.runtime.health import HealthServer
from xeem.runtime.informer import Informer
from xeem.runtime.kube import Transport
from xeem.runtime.leader_election import (
    ApiLeaseStore,
    LeaderElectionConfig,
    LeaderElectionLost,
    LeaderElector,
)
from xeem.runtime.metrics import RuntimeMetrics, metrics_for
from xeem.runtime.resource import ResourceType

log = structlog.get_logger("xeem.runtime.manager")


class CacheSyncTimeout(Exception):
    """The shared informers did not sync within ``cache_sync_timeout``."""


@dataclass
class _Runnable:
    name: str
    factory: Callable[[], Awaitable[None]]
    needs_leader_election: bool


class Manager:
    def __init__(
        self,
        transport: Transport,
        *,
        name: str = "xeem",
        namespace: str | None = None,
        leader_election: LeaderElectionConfig | None = None,
        registry: CollectorRegistry | None = None,
        health_bind: str | None = None,
        metrics_bind: str | None = None,
        graceful_shutdown_timeout: float = 30.0,
        cache_sync_timeout: float = 120.0,
        informer_options: dict[str, Any] | None = None,
        clock: Clock | None = None,
        owns_transport: bool = False,
    ) -> None:
        self.transport = transport
        self.name = name
        self.namespace = namespace
        self.leader_election = leader_election
        self.registry = registry
        self._metrics = metrics_for(registry)
        if transport.metrics is None:
            transport.metrics = self._metrics  # rest_client_requests_total
        self.graceful_shutdown_timeout = graceful_shutdown_timeout
        self.cache_sync_timeout = cache_sync_timeout
        self.informer_options = dict(informer_options or {})
        self._clock: Clock = clock or RealClock()
        self._owns_transport = owns_transport
        self._informers: dict[ResourceType, Informer] = {}
        self._controllers: list[Controller] = []
        self._runnables: list[_Runnable] = []
        self._recorders: list[EventRecorder] = []
        self.client = Client(transport, informers=self._informers.get, field_manager=name)
        self.elector: LeaderElector | None = None
        if leader_election is not None:
            self.elector = LeaderElector(
                leader_election,
                ApiLeaseStore(
                    self.client, leader_election.lease_name, leader_election.lease_namespace
                ),
                clock=self._clock,
                metrics=self._metrics,
            )
        self._servers: list[HealthServer] = []
        self.health: HealthServer | None = None
        self.metrics_server: HealthServer | None = None
        if health_bind is not None:
            self.health = HealthServer(
                health_bind,
                registry=self._metrics.registry if health_bind == metrics_bind else None,
            )
            self._servers.append(self.health)
        if metrics_bind is not None and metrics_bind != health_bind:
            self.metrics_server = HealthServer(
                metrics_bind, registry=self._metrics.registry, serve_probes=False
            )
            self._servers.append(self.metrics_server)
        if self.health is not None:
            self.health.add_healthz_check("ping", lambda: True)
            self.health.add_readyz_check("informers", self.informers_synced)
        self._stop = asyncio.Event()
        self._ready = asyncio.Event()
        self._started = False
        self._tg: asyncio.TaskGroup | None = None
        self._background: list[asyncio.Task[None]] = []
        self._log = log.bind(manager=name)

    @classmethod
    async def from_kubeconfig(
        cls,
        kubeconfig: str | os.PathLike[str] | None = None,
        *,
        context: str | None = None,
        **kw: Any,
    ) -> Manager:
        transport = await Transport.from_kubeconfig(
            kubeconfig, context, user_agent=kw.get("name", "xeem")
        )
        return cls(transport, owns_transport=True, **kw)

    # -- wiring ------------------------------------------------------------------------------

    @property
    def metrics(self) -> RuntimeMetrics:
        return self._metrics

    @property
    def clock(self) -> Clock:
        return self._clock

    def informer(self, resource: ResourceType, **options: Any) -> Informer:
        """The shared informer of ``resource`` (created on first use, started with the
        manager, or at once if the manager is already running)."""
        informer = self._informers.get(resource)
        if informer is not None:
            for key in ("label_selector", "field_selector"):
                if key in options and getattr(informer, key) != options[key]:
                    raise ValueError(
                        f"the shared informer of {resource} exists with "
                        f"{key}={getattr(informer, key)!r}, not {options[key]!r}"
                    )
        else:
            opts = {**self.informer_options, **options}
            informer = Informer(
                self.transport,
                resource,
                namespace=self.namespace if resource.namespaced else None,
                clock=self._clock,
                **opts,
            )
            self._informers[resource] = informer
            if self._tg is not None:
                self._background.append(
                    self._tg.create_task(informer.run(), name=f"informer-{resource}")
                )
        return informer

    @property
    def informers(self) -> dict[ResourceType, Informer]:
        return dict(self._informers)

    def controller(self, name: str | None = None) -> Builder:
        return Builder(self, name)

    def add_controller(self, controller: Controller) -> None:
        if self._started:
            raise RuntimeError("add controllers before starting the manager")
        if any(c.name == controller.name for c in self._controllers):
            raise ValueError(f"a controller named {controller.name!r} already exists")
        self._controllers.append(controller)

    @property
    def controllers(self) -> list[Controller]:
        return list(self._controllers)

    def add_runnable(
        self,
        factory: Callable[[], Awaitable[None]],
        *,
        name: str = "runnable",
        needs_leader_election: bool = True,
    ) -> None:
        """Run ``factory()`` in the manager's task group (only while leading, by default).
        It may return; if it raises, the manager fails."""
        if self._started:
            raise RuntimeError("add runnables before starting the manager")
        self._runnables.append(_Runnable(name, factory, needs_leader_election))

    def event_recorder(self, component: str | None = None) -> EventRecorder:
        name = component or self.name
        outcomes = self.metrics.recorded_events
        recorder = EventRecorder(
            self.client,
            name,
            clock=self._clock,
            on_outcome=lambda outcome: outcomes.labels(component=name, outcome=outcome).inc(),
        )
        self._recorders.append(recorder)
        if self._tg is not None:
            self._background.append(self._tg.create_task(recorder.run(), name="event-recorder"))
        return recorder

    # -- state -------------------------------------------------------------------------------

    def informers_synced(self) -> bool:
        return all(i.has_synced() for i in self._informers.values())

    @property
    def ready(self) -> bool:
        return self._ready.is_set()

    async def wait_ready(self, timeout: float | None = None) -> None:
        async with asyncio.timeout(timeout):
            await self._ready.wait()

    @property
    def is_leader(self) -> bool:
        return self.elector.is_leader if self.elector is not None else self._started

    def stop(self) -> None:
        """Begin a graceful stop (safe to call from a signal handler)."""
        self._stop.set()

    def install_signal_handlers(self) -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self._on_signal, sig)

    def _on_signal(self, sig: int) -> None:
        self._log.info("signal received, shutting down", signal=signal.Signals(sig).name)
        self.stop()

    # -- run ---------------------------------------------------------------------------------

    async def start(self) -> None:
        """Run until ``stop()``; raises the first failure of any component."""
        if self._started:
            raise RuntimeError("a manager can be started once")
        self._started = True
        self._log.info(
            "starting manager",
            controllers=[c.name for c in self._controllers],
            informers=[str(r) for r in self._informers],
            leader_election=self.leader_election is not None,
        )
        try:
            for server in self._servers:
                await server.start()
                self._log.info("serving probes/metrics", url=server.url)
            async with asyncio.TaskGroup() as tg:
                self._tg = tg
                for resource, informer in self._informers.items():
                    self._background.append(
                        tg.create_task(informer.run(), name=f"informer-{resource}")
                    )
                for recorder in self._recorders:
                    self._background.append(tg.create_task(recorder.run(), name="event-recorder"))
                tg.create_task(self._main(tg), name="manager-main")
        except BaseExceptionGroup as group:
            self._raise_first(group)
        finally:
            self._tg = None
            self._ready.clear()
            for server in self._servers:
                await server.stop()
            if self._owns_transport:
                await self.transport.close()
            self._log.info("manager stopped")

    def _raise_first(self, group: BaseExceptionGroup[BaseException]) -> NoReturn:
        leaves: list[BaseException] = []

        def walk(g: BaseExceptionGroup[BaseException]) -> None:
            for e in g.exceptions:
                if isinstance(e, BaseExceptionGroup):
                    walk(e)
                else:
                    leaves.append(e)

        walk(group)
        for e in leaves:
            self._log.error("manager component failed", error=f"{type(e).__name__}: {e}")
        if len(leaves) == 1:
            raise leaves[0]
        raise group

    async def _main(self, tg: asyncio.TaskGroup) -> None:
        try:
            await self._wait_for_sync()
            self._ready.set()
            self._log.info("caches synced")
            for r in self._runnables:
                if not r.needs_leader_election:
                    self._background.append(tg.create_task(self._runnable(r), name=r.name))
            if self.elector is not None and not await self._until_stopped(self.elector.acquire()):
                return
            if not self._stop.is_set():
                await self._lead()
        finally:
            for task in self._background:
                task.cancel()

    async def _runnable(self, r: _Runnable) -> None:
        await r.factory()

    async def _until_stopped(self, coro: Awaitable[None]) -> bool:
        """Await ``coro`` unless ``stop()`` comes first (then cancel it); True if it finished."""
        work = asyncio.ensure_future(coro)
        stopper = asyncio.ensure_future(self._stop.wait())
        try:
            await asyncio.wait({work, stopper}, return_when=asyncio.FIRST_COMPLETED)
            if work.done():
                work.result()
                return True
            return False
        finally:
            for task in (work, stopper):
                if not task.done():
                    task.cancel()
            await asyncio.gather(work, stopper, return_exceptions=True)

    async def _wait_for_sync(self) -> None:
        deadline = asyncio.get_running_loop().time() + self.cache_sync_timeout
        while not self.informers_synced():
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                pending = [str(r) for r, i in self._informers.items() if not i.has_synced()]
                raise CacheSyncTimeout(
                    f"caches not synced within {self.cache_sync_timeout}s: {pending}"
                )
            if self._stop.is_set():
                return
            await asyncio.sleep(min(0.05, remaining))

    async def _lead(self) -> None:
        elector = self.elector
        async with asyncio.TaskGroup() as tg:
            hold = tg.create_task(elector.hold(), name="lease-renewal") if elector else None
            workers = [
                tg.create_task(c.run(), name=f"controller-{c.name}") for c in self._controllers
            ]
            others = [
                tg.create_task(self._runnable(r), name=r.name)
                for r in self._runnables
                if r.needs_leader_election
            ]
            await self._stop.wait()
            await self._graceful_stop(workers, others)
            if hold is not None:
                hold.cancel()
        if elector is not None and self.leader_election and self.leader_election.release_on_cancel:
            await elector.release()

    async def _graceful_stop(
        self, workers: list[asyncio.Task[None]], others: list[asyncio.Task[None]]
    ) -> None:
        self._log.info("stopping controllers", grace_period=self.graceful_shutdown_timeout)
        for c in self._controllers:
            c.stop()
        for task in others:
            task.cancel()
        if workers:
            _, pending = await asyncio.wait(workers, timeout=self.graceful_shutdown_timeout)
            if pending:
                self._log.warning(
                    "grace period exceeded, cancelling in-flight reconciles",
                    controllers=[t.get_name() for t in pending],
                )
                for task in pending:
                    task.cancel()


__all__ = ["CacheSyncTimeout", "LeaderElectionLost", "Manager"]
