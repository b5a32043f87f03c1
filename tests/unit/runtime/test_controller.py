"""Controller semantics with a hand-fed informer (no API server)."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable
from typing import Any

import pytest
from prometheus_client import CollectorRegistry

from xeem.runtime.clock import Clock, FakeClock, RealClock
from xeem.runtime.controller import Builder, Controller
from xeem.runtime.informer import Informer
from xeem.runtime.kube import KubeConfig, Transport
from xeem.runtime.metrics import RuntimeMetrics, metrics_for, sample_value
from xeem.runtime.predicate import and_, generation_changed, not_, or_
from xeem.runtime.reconcile import Request, Result, TerminalError
from xeem.runtime.resource import POD, Obj, ResourceType
from xeem.runtime.workqueue import ItemExponentialFailureRateLimiter

pytestmark = pytest.mark.unit

PARENT = ResourceType("example.io", "v1", "parents", "Parent")


class FedInformer(Informer):
    """An informer whose events the test feeds by hand."""

    def __init__(self, resource: ResourceType) -> None:
        super().__init__(Transport(KubeConfig(host="http://127.0.0.1:9")), resource)
        self._synced.set()

    def create(self, obj: Obj) -> None:
        self.store.add(obj)
        self._notify_add(obj)

    def update(self, new: Obj) -> None:
        old = self.store.add(new)
        assert old is not None
        self._notify_update(old, new)

    def delete(self, obj: Obj) -> None:
        self.store.delete(obj)
        self._notify_delete(obj)


class Host:
    """The manager side of the builder, minus the API server."""

    def __init__(self, clock: Clock | None = None) -> None:
        self.registry = CollectorRegistry()
        self._metrics = metrics_for(self.registry)
        self._clock: Clock = clock or RealClock()
        self.informers: dict[ResourceType, FedInformer] = {}
        self.controllers: list[Controller] = []

    @property
    def metrics(self) -> RuntimeMetrics:
        return self._metrics

    @property
    def clock(self) -> Clock:
        return self._clock

    def informer(self, resource: ResourceType) -> Informer:
        return self.informers.setdefault(resource, FedInformer(resource))

    def add_controller(self, controller: Controller) -> None:
        self.controllers.append(controller)

    def value(self, metric: str, **labels: str) -> float:
        return sample_value(self.registry, metric, labels)


def obj(name: str, ns: str = "default", generation: int = 1, **extra: Any) -> Obj:
    return {
        "apiVersion": "example.io/v1",
        "kind": "Parent",
        "metadata": {"name": name, "namespace": ns, "generation": generation, **extra},
    }


async def until(pred: Callable[[], bool], seconds: float = 5.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while not pred():
        if loop.time() > deadline:
            raise AssertionError("condition not reached")
        await asyncio.sleep(0.001)


async def run(controller: Controller) -> asyncio.Task[None]:
    task = asyncio.create_task(controller.run())
    await asyncio.sleep(0)
    return task


async def stop(controller: Controller, task: asyncio.Task[None]) -> None:
    controller.stop()
    await asyncio.wait_for(task, 5)


async def test_success_is_counted_and_forgotten() -> None:
    host = Host()
    seen: list[Request] = []

    async def reconcile(req: Request) -> Result:
        seen.append(req)
        return Result()

    c = Builder(host).for_(PARENT).complete(reconcile)
    assert c.name == "parent"
    task = await run(c)
    host.informers[PARENT].create(obj("a"))
    await until(lambda: len(seen) == 1)
    assert seen == [Request("default", "a")]
    await until(
        lambda: (
            host.value("controller_runtime_reconcile_total", controller="parent", result="success")
            == 1
        )
    )
    assert c.queue.num_requeues(Request("default", "a")) == 0
    assert host.value("controller_runtime_max_concurrent_reconciles", controller="parent") == 1
    assert host.value("controller_runtime_reconcile_time_seconds_count", controller="parent") == 1
    await stop(c, task)


async def test_error_requeues_rate_limited_and_counts() -> None:
    host = Host()
    calls: list[float] = []

    async def reconcile(req: Request) -> Result:
        calls.append(asyncio.get_running_loop().time())
        if len(calls) < 4:
            raise RuntimeError("boom")
        return Result()

    c = (
        Builder(host, "errs")
        .for_(PARENT)
        .with_options(rate_limiter=ItemExponentialFailureRateLimiter(0.01, 1))
        .complete(reconcile)
    )
    task = await run(c)
    host.informers[PARENT].create(obj("a"))
    await until(lambda: len(calls) == 4)
    await until(
        lambda: (
            host.value("controller_runtime_reconcile_total", controller="errs", result="success")
            == 1
        )
    )
    assert host.value("controller_runtime_reconcile_errors_total", controller="errs") == 3
    assert host.value("controller_runtime_reconcile_total", controller="errs", result="error") == 3
    assert host.value("workqueue_retries_total", name="errs", controller="errs") == 3
    gaps = [b - a for a, b in itertools.pairwise(calls)]
    assert gaps[1] >= 0.02 * 0.9, "backoff doubles: 10 ms, 20 ms, 40 ms"
    assert gaps[2] >= 0.04 * 0.9
    assert c.queue.num_requeues(Request("default", "a")) == 0, "success forgets"
    await stop(c, task)


async def test_terminal_error_is_not_retried() -> None:
    host = Host()
    calls = 0

    async def reconcile(req: Request) -> Result:
        nonlocal calls
        calls += 1
        raise TerminalError("bad spec")

    c = Builder(host, "term").for_(PARENT).complete(reconcile)
    task = await run(c)
    host.informers[PARENT].create(obj("a"))
    await until(lambda: calls == 1)
    await asyncio.sleep(0.05)
    assert calls == 1
    assert host.value("controller_runtime_terminal_reconcile_errors_total", controller="term") == 1
    assert host.value("controller_runtime_reconcile_errors_total", controller="term") == 1
    assert c.queue.waiting_count == 0
    await stop(c, task)


async def test_requeue_after_and_requeue() -> None:
    clock = FakeClock()
    host = Host(clock)
    calls: list[str] = []

    async def reconcile(req: Request) -> Result:
        calls.append(req.name)
        if req.name == "later" and calls.count("later") == 1:
            return Result(requeue_after=30)
        if req.name == "again" and calls.count("again") == 1:
            return Result(requeue=True)
        return Result()

    c = (
        Builder(host, "rq")
        .for_(PARENT)
        .with_options(rate_limiter=ItemExponentialFailureRateLimiter(1, 10))
        .complete(reconcile)
    )
    task = await run(c)
    host.informers[PARENT].create(obj("later"))
    host.informers[PARENT].create(obj("again"))
    await until(lambda: len(calls) == 2)
    clock.step(1)  # the rate-limited requeue
    await until(lambda: calls.count("again") == 2)
    clock.step(28.9)
    await asyncio.sleep(0.01)
    assert calls.count("later") == 1
    clock.step(0.2)
    await until(lambda: calls.count("later") == 2)
    assert (
        host.value("controller_runtime_reconcile_total", controller="rq", result="requeue_after")
        == 1
    )
    assert host.value("controller_runtime_reconcile_total", controller="rq", result="requeue") == 1
    await stop(c, task)


async def test_workers_never_share_a_request_and_events_coalesce() -> None:
    host = Host()
    active: set[Request] = set()
    overlap: list[Request] = []
    count: dict[str, int] = {}
    gate = asyncio.Event()

    async def reconcile(req: Request) -> Result:
        if req in active:
            overlap.append(req)
        active.add(req)
        count[req.name] = count.get(req.name, 0) + 1
        await gate.wait()
        active.discard(req)
        return Result()

    c = (
        Builder(host, "par")
        .for_(PARENT)
        .with_options(max_concurrent_reconciles=4)
        .complete(reconcile)
    )
    task = await run(c)
    inf = host.informers[PARENT]
    for name in "abc":
        inf.create(obj(name))
    await until(lambda: len(active) == 3)
    assert host.value("controller_runtime_active_workers", controller="par") == 3
    for g in range(2, 12):  # many updates of `a` while it is being reconciled
        inf.update(obj("a", generation=g))
    await asyncio.sleep(0.01)
    assert count["a"] == 1, "not handed to a second worker while in flight"
    gate.set()
    await until(lambda: count.get("a") == 2 and not active)
    assert overlap == []
    assert count == {"a": 2, "b": 1, "c": 1}, "ten updates coalesced into one more reconcile"
    await stop(c, task)


async def test_generation_changed_predicate_filters_status_updates() -> None:
    host = Host()
    seen: list[str] = []

    async def reconcile(req: Request) -> Result:
        seen.append(req.name)
        return Result()

    c = Builder(host, "gen").for_(PARENT, generation_changed()).complete(reconcile)
    task = await run(c)
    inf = host.informers[PARENT]
    inf.create(obj("a"))
    await until(lambda: seen == ["a"])
    inf.update(obj("a", generation=1, resourceVersion="2"))  # a status-only change
    await asyncio.sleep(0.02)
    assert seen == ["a"]
    inf.update(obj("a", generation=2))
    await until(lambda: seen == ["a", "a"])
    inf.delete(obj("a", generation=2))
    await until(lambda: seen == ["a", "a", "a"])
    await stop(c, task)


def test_predicate_combinators() -> None:
    g = generation_changed()
    a, b = obj("x", generation=1), obj("x", generation=2)
    assert g.update(a, b)
    assert not g.update(a, a)
    assert not not_(g).update(a, b)
    assert or_(g, not_(g)).update(a, a)
    assert not and_(g, not_(g)).update(a, b)
    assert g.create(a)
    assert g.delete(a)


async def test_owns_enqueues_the_controller_owner_and_watches_maps() -> None:
    host = Host()
    seen: list[Request] = []

    async def reconcile(req: Request) -> Result:
        seen.append(req)
        return Result()

    def owner_ref(name: str, controller: bool = True, kind: str = "Parent") -> dict[str, Any]:
        return {
            "apiVersion": "example.io/v1",
            "kind": kind,
            "name": name,
            "uid": name,
            "controller": controller,
        }

    c = (
        Builder(host, "own")
        .for_(PARENT)
        .owns(POD)
        .watches(PARENT_CONFIG, lambda o: [Request("default", o["data"]["parent"])])
        .complete(reconcile)
    )
    task = await run(c)
    pods, cfgs = host.informers[POD], host.informers[PARENT_CONFIG]
    pods.create(
        {"metadata": {"name": "p1", "namespace": "default", "ownerReferences": [owner_ref("p")]}}
    )
    await until(lambda: seen == [Request("default", "p")])
    pods.create(
        {
            "metadata": {
                "name": "p2",
                "namespace": "default",
                "ownerReferences": [owner_ref("q", False)],
            }
        }
    )
    pods.create(
        {
            "metadata": {
                "name": "p3",
                "namespace": "default",
                "ownerReferences": [owner_ref("r", kind="Other")],
            }
        }
    )
    await asyncio.sleep(0.02)
    assert seen == [Request("default", "p")], "only the controller owner of our kind"
    pods.update(
        {"metadata": {"name": "p1", "namespace": "default", "ownerReferences": [owner_ref("s")]}}
    )
    await until(lambda: set(seen[1:]) == {Request("default", "p"), Request("default", "s")})
    cfgs.create({"metadata": {"name": "c", "namespace": "default"}, "data": {"parent": "m"}})
    await until(lambda: Request("default", "m") in seen)
    await stop(c, task)


PARENT_CONFIG = ResourceType("", "v1", "configmaps", "ConfigMap")


async def test_stop_drains_the_in_flight_reconcile_and_takes_no_more() -> None:
    host = Host()
    started: list[str] = []
    finished: list[str] = []
    release = asyncio.Event()

    async def reconcile(req: Request) -> Result:
        started.append(req.name)
        await release.wait()
        finished.append(req.name)
        return Result()

    c = Builder(host, "drain").for_(PARENT).complete(reconcile)
    task = await run(c)
    inf = host.informers[PARENT]
    inf.create(obj("a"))
    inf.create(obj("b"))
    await until(lambda: started == ["a"])
    c.stop()
    await asyncio.sleep(0.02)
    assert not task.done(), "waits for the in-flight reconcile"
    release.set()
    await asyncio.wait_for(task, 5)
    assert finished == ["a"]
    assert started == ["a"], "b was not started after stop"


async def test_builder_validation() -> None:
    host = Host()
    with pytest.raises(ValueError, match="for_"):
        Builder(host).complete(lambda r: None)  # type: ignore[arg-type,return-value]
    with pytest.raises(ValueError, match="before owns"):
        Builder(host).owns(POD)
    with pytest.raises(ValueError, match="only once"):
        Builder(host).for_(PARENT).for_(PARENT)
