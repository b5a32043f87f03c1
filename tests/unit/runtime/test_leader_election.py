"""Leader election rules on a fake clock and an in-memory Lease."""

from __future__ import annotations

import asyncio
import contextlib
import copy

import pytest
from prometheus_client import CollectorRegistry

from xeem.runtime.clock import FakeClock
from xeem.runtime.kube import AlreadyExistsError, ConflictError, ServerError
from xeem.runtime.leader_election import (
    LeaderElectionConfig,
    LeaderElectionLost,
    LeaderElector,
)
from xeem.runtime.metrics import metrics_for, sample_value
from xeem.runtime.resource import Obj

pytestmark = pytest.mark.unit


class MemoryLeaseStore:
    """One Lease with optimistic concurrency; ``down`` makes every call fail."""

    def __init__(self) -> None:
        self.lease: Obj | None = None
        self.rv = 0
        self.down = False
        self.writes = 0

    def _check(self) -> None:
        if self.down:
            raise ServerError(503, "ServiceUnavailable", "down")

    async def get(self) -> Obj | None:
        self._check()
        return copy.deepcopy(self.lease)

    async def create(self, lease: Obj) -> Obj:
        self._check()
        if self.lease is not None:
            raise AlreadyExistsError(409, "AlreadyExists", "exists")
        self.rv += 1
        self.lease = copy.deepcopy(lease)
        self.lease["metadata"]["resourceVersion"] = str(self.rv)
        self.writes += 1
        return copy.deepcopy(self.lease)

    async def update(self, lease: Obj) -> Obj:
        self._check()
        assert self.lease is not None
        if lease["metadata"].get("resourceVersion") != self.lease["metadata"]["resourceVersion"]:
            raise ConflictError(409, "Conflict", "stale")
        self.rv += 1
        self.lease = copy.deepcopy(lease)
        self.lease["metadata"]["resourceVersion"] = str(self.rv)
        self.writes += 1
        return copy.deepcopy(self.lease)

    @property
    def holder(self) -> str:
        return str(((self.lease or {}).get("spec") or {}).get("holderIdentity", ""))


def config(identity: str, **kw: float) -> LeaderElectionConfig:
    return LeaderElectionConfig(
        lease_name="xeem",
        lease_namespace="ns",
        identity=identity,
        lease_duration=kw.get("lease_duration", 15.0),
        renew_deadline=kw.get("renew_deadline", 10.0),
        retry_period=kw.get("retry_period", 2.0),
    )


async def settle() -> None:
    for _ in range(20):
        await asyncio.sleep(0)


async def advance(clock: FakeClock, seconds: float, step: float = 0.05) -> None:
    """Move time forward in small steps, letting the loops run between them."""
    end = clock.now() + seconds
    while clock.now() < end - 1e-9:
        clock.step(min(step, end - clock.now()))
        await settle()


@contextlib.asynccontextmanager
async def task(coro):  # type: ignore[no-untyped-def]
    t = asyncio.create_task(coro)
    try:
        yield t
    finally:
        t.cancel()
        with contextlib.suppress(asyncio.CancelledError, LeaderElectionLost):
            await t


def test_config_validation() -> None:
    with pytest.raises(ValueError, match="lease_duration"):
        config("a", lease_duration=5, renew_deadline=10)
    with pytest.raises(ValueError, match="retry_period"):
        config("a", renew_deadline=2, retry_period=2)
    c = LeaderElectionConfig("n", "ns")
    assert (c.lease_duration, c.renew_deadline, c.retry_period) == (15, 10, 2)


async def test_first_candidate_creates_the_lease_and_leads() -> None:
    clock, store, reg = FakeClock(), MemoryLeaseStore(), CollectorRegistry()
    a = LeaderElector(config("a"), store, clock=clock, metrics=metrics_for(reg))
    assert sample_value(reg, "leader_election_master_status", {"name": "xeem"}) == 0
    await asyncio.wait_for(a.acquire(), 1)
    assert a.is_leader
    assert store.holder == "a"
    assert store.lease is not None
    assert store.lease["spec"]["leaseDurationSeconds"] == 15
    assert sample_value(reg, "leader_election_master_status", {"name": "xeem"}) == 1


async def test_only_one_leader_while_the_leader_renews() -> None:
    clock, store = FakeClock(), MemoryLeaseStore()
    a = LeaderElector(config("a"), store, clock=clock)
    b = LeaderElector(config("b"), store, clock=clock)
    await a.acquire()
    async with task(a.hold()), task(b.acquire()) as b_acquire:
        await advance(clock, 60)
        assert not b_acquire.done(), "b never takes a renewed lease"
        assert a.is_leader
        assert not b.is_leader
        assert store.holder == "a"


async def test_takeover_within_lease_duration_plus_retry_period_after_leader_dies() -> None:
    clock, store = FakeClock(), MemoryLeaseStore()
    a = LeaderElector(config("a"), store, clock=clock)
    b = LeaderElector(config("b"), store, clock=clock)
    await a.acquire()
    async with task(b.acquire()) as b_acquire:
        async with task(a.hold()):
            await advance(clock, 7.3)
        killed_at = clock.now()  # a dies without releasing
        while not b_acquire.done():
            await advance(clock, 0.05)
            assert clock.now() - killed_at <= 15 + 2, "takeover too late"
        took = clock.now() - killed_at
    assert b.is_leader
    assert store.holder == "b"
    assert store.lease is not None
    assert store.lease["spec"]["leaseTransitions"] == 1
    assert 15 - 2 <= took <= 15 + 2


async def test_expired_lease_is_judged_on_the_local_clock_not_renew_time() -> None:
    """A lease whose renewTime is ancient is still respected until observed unchanged for
    lease_duration: the candidate never trusts another machine's clock."""
    clock, store = FakeClock(), MemoryLeaseStore()
    a = LeaderElector(config("a"), store, clock=clock)
    await a.acquire()
    assert store.lease is not None
    store.lease["spec"]["renewTime"] = "2001-01-01T00:00:00.000000Z"
    b = LeaderElector(config("b"), store, clock=clock)
    assert not await b.try_acquire_or_renew()
    await advance(clock, 14.9)
    assert not await b.try_acquire_or_renew()
    await advance(clock, 0.2)
    assert await b.try_acquire_or_renew()


async def test_leader_that_cannot_renew_within_the_deadline_loses() -> None:
    clock, store, reg = FakeClock(), MemoryLeaseStore(), CollectorRegistry()
    a = LeaderElector(config("a"), store, clock=clock, metrics=metrics_for(reg))
    await a.acquire()
    hold = asyncio.create_task(a.hold())
    await advance(clock, 5)
    assert a.is_leader
    store.down = True
    down_at = clock.now()
    while not hold.done():
        await advance(clock, 0.1)
        assert clock.now() - down_at < 10 + 2.5
    with pytest.raises(LeaderElectionLost):
        hold.result()
    assert not a.is_leader
    assert sample_value(reg, "leader_election_master_status", {"name": "xeem"}) == 0


async def test_is_leader_turns_false_at_the_renew_deadline_even_if_the_loop_stalls() -> None:
    clock, store = FakeClock(), MemoryLeaseStore()
    a = LeaderElector(config("a"), store, clock=clock)
    await a.acquire()
    clock.step(9.9)
    assert a.is_leader
    clock.step(0.2)
    assert not a.is_leader


async def test_release_lets_a_successor_take_over_at_once() -> None:
    clock, store = FakeClock(), MemoryLeaseStore()
    a = LeaderElector(config("a"), store, clock=clock)
    b = LeaderElector(config("b"), store, clock=clock)
    await a.acquire()
    assert not await b.try_acquire_or_renew()
    assert await a.release()
    assert store.holder == ""
    assert not a.is_leader
    assert await b.try_acquire_or_renew(), "a released lease is free without waiting"
    assert not await a.release(), "releasing a lease we don't hold is a no-op"


async def test_a_lost_race_is_not_leadership() -> None:
    clock, store = FakeClock(), MemoryLeaseStore()
    a = LeaderElector(config("a"), store, clock=clock)
    b = LeaderElector(config("b"), store, clock=clock)
    results = await asyncio.gather(a.try_acquire_or_renew(), b.try_acquire_or_renew())
    assert sorted(results) == [False, True]
    assert store.writes == 1


async def test_renewal_keeps_acquire_time_and_transitions() -> None:
    clock, store = FakeClock(), MemoryLeaseStore()
    a = LeaderElector(config("a"), store, clock=clock)
    await a.acquire()
    assert store.lease is not None
    acquired = store.lease["spec"]["acquireTime"]
    clock.step(2)
    assert await a.try_acquire_or_renew()
    assert store.lease["spec"]["acquireTime"] == acquired
    assert store.lease["spec"]["renewTime"] != acquired
    assert store.lease["spec"]["leaseTransitions"] == 0
