"""Leader election on a coordination.k8s.io/v1 Lease (client-go ``tools/leaderelection``).

* A candidate takes the Lease when it does not exist, when it was released (empty holder),
  or when its record has not changed for ``lease_duration`` seconds *as observed on the
  candidate's own clock* (no trust in other machines' clocks).
* The leader renews every ``retry_period``; if it cannot renew for ``renew_deadline``
  seconds it stops leading. ``lease_duration > renew_deadline`` keeps two leaders apart.
* All writes are optimistic (resourceVersion), so two candidates never both win a round.
* A waiting candidate polls every ``retry_period`` and also exactly when the observed lease
  would expire, so it takes over within ``lease_duration + retry_period`` of the leader's
  last renewal.
* ``release()`` (on graceful shutdown) empties the holder so a successor need not wait.
"""

from __future__ import annotations

import asyncio
import random
import socket
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

import structlog

from xeem.runtime.clock import Clock, RealClock
from xeem.runtime.kube import AlreadyExistsError, ApiError, ConflictError, NotFoundError
from xeem.runtime.metrics import RuntimeMetrics
from xeem.runtime.resource import LEASE, Obj, json_copy, meta

log = structlog.get_logger("xeem.runtime.leader_election")


class LeaderElectionLost(Exception):
    """The lease could not be renewed within the renew deadline."""


def default_identity() -> str:
    return f"{socket.gethostname()}_{uuid.uuid4()}"


@dataclass
class LeaderElectionConfig:
    lease_name: str
    lease_namespace: str
    identity: str = field(default_factory=default_identity)
    lease_duration: float = 15.0
    renew_deadline: float = 10.0
    retry_period: float = 2.0
    release_on_cancel: bool = True

    def __post_init__(self) -> None:
        if not self.lease_duration > self.renew_deadline:
            raise ValueError("lease_duration must be greater than renew_deadline")
        if not self.renew_deadline > self.retry_period * 1.2:
            raise ValueError("renew_deadline must be greater than 1.2 * retry_period")
        if self.retry_period <= 0:
            raise ValueError("retry_period must be positive")


class LeaseStore(Protocol):
    """Where the Lease lives. ``update`` must raise ``ConflictError`` on a stale object."""

    async def get(self) -> Obj | None: ...

    async def create(self, lease: Obj) -> Obj: ...

    async def update(self, lease: Obj) -> Obj: ...


class ApiLeaseStore:
    """The Lease object through the API server."""

    def __init__(self, client: Any, name: str, namespace: str) -> None:
        self.client = client
        self.name = name
        self.namespace = namespace

    async def get(self) -> Obj | None:
        try:
            obj: Obj = await self.client.get(LEASE, self.name, self.namespace, live=True)
        except NotFoundError:
            return None
        return obj

    async def create(self, lease: Obj) -> Obj:
        obj: Obj = await self.client.create(LEASE, lease, namespace=self.namespace)
        return obj

    async def update(self, lease: Obj) -> Obj:
        obj: Obj = await self.client.update(LEASE, lease)
        return obj


def _micro_time(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class LeaderElector:
    def __init__(
        self,
        config: LeaderElectionConfig,
        store: LeaseStore,
        *,
        clock: Clock | None = None,
        metrics: RuntimeMetrics | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.config = config
        self.store = store
        self.clock: Clock = clock or RealClock()
        self._rng = rng or random.Random()
        self._observed: dict[str, Any] | None = None  # the lease spec last seen
        self._observed_rv: str = ""
        self._observed_time = 0.0
        self._last_renew = 0.0
        self._leading = False
        self._status = (
            metrics.leader_election_master_status.labels(config.lease_name) if metrics else None
        )
        if self._status is not None:
            self._status.set(0)
        self._log = log.bind(
            lease=f"{config.lease_namespace}/{config.lease_name}", identity=config.identity
        )

    @property
    def is_leader(self) -> bool:
        """True while leading and the last renewal is within the renew deadline."""
        return self._leading and self.clock.now() - self._last_renew < self.config.renew_deadline

    @property
    def observed_holder(self) -> str:
        return str((self._observed or {}).get("holderIdentity") or "")

    def _set_leading(self, leading: bool) -> None:
        if leading != self._leading:
            self._log.info("became leader" if leading else "stopped leading")
        self._leading = leading
        if self._status is not None:
            self._status.set(1 if leading else 0)

    # -- one round ---------------------------------------------------------------------------

    async def try_acquire_or_renew(self) -> bool:
        """One attempt to take or keep the lease; True when we hold it afterwards."""
        cfg = self.config
        now = self.clock.now()
        wall = _micro_time(self.clock.wall())
        spec: dict[str, Any] = {
            "holderIdentity": cfg.identity,
            "leaseDurationSeconds": max(1, round(cfg.lease_duration)),
            "acquireTime": wall,
            "renewTime": wall,
            "leaseTransitions": 0,
        }
        try:
            current = await self.store.get()
        except ApiError as e:
            self._log.warning("error retrieving lease", error=str(e))
            return False
        if current is None:
            lease = {
                "apiVersion": "coordination.k8s.io/v1",
                "kind": "Lease",
                "metadata": {"name": cfg.lease_name, "namespace": cfg.lease_namespace},
                "spec": spec,
            }
            try:
                created = await self.store.create(lease)
            except (AlreadyExistsError, ConflictError):
                return False
            except ApiError as e:
                self._log.warning("error creating lease", error=str(e))
                return False
            self._observe(created, now)
            return True

        old_spec = current.get("spec") or {}
        if old_spec != self._observed or meta(current).get("resourceVersion") != self._observed_rv:
            self._observe(current, now)
        holder = old_spec.get("holderIdentity") or ""
        held_by_us = holder == cfg.identity
        if holder and not held_by_us and self._observed_time + cfg.lease_duration > now:
            return False  # someone else holds an unexpired lease
        if held_by_us:
            spec["acquireTime"] = old_spec.get("acquireTime", wall)
            spec["leaseTransitions"] = int(old_spec.get("leaseTransitions") or 0)
        else:
            spec["leaseTransitions"] = int(old_spec.get("leaseTransitions") or 0) + 1
        updated = json_copy(current)
        updated["spec"] = spec
        try:
            result = await self.store.update(updated)
        except ApiError as e:
            if not isinstance(e, ConflictError):
                self._log.warning("error updating lease", error=str(e))
            return False
        self._observe(result, now)
        return True

    def _observe(self, lease: Obj, now: float) -> None:
        self._observed = dict(lease.get("spec") or {})
        self._observed_rv = str(meta(lease).get("resourceVersion", ""))
        self._observed_time = now

    # -- loops -------------------------------------------------------------------------------

    async def acquire(self) -> None:
        """Block until this candidate is the leader."""
        cfg = self.config
        self._log.info("attempting to acquire leader lease")
        while True:
            if await self.try_acquire_or_renew():
                self._last_renew = self.clock.now()
                self._set_leading(True)
                return
            delay = cfg.retry_period * (1.0 - 0.1 * self._rng.random())
            if self._observed is not None and self.observed_holder:
                expires_in = self._observed_time + cfg.lease_duration - self.clock.now()
                if expires_in > 0:
                    delay = min(delay, expires_in + 0.001)
            await self.clock.sleep(delay)

    async def hold(self) -> None:
        """Renew every ``retry_period`` while leading; raise ``LeaderElectionLost`` when a
        renewal does not succeed within ``renew_deadline`` of the last one."""
        cfg = self.config
        try:
            while True:
                await self.clock.sleep(cfg.retry_period)
                while True:
                    deadline = self._last_renew + cfg.renew_deadline
                    remaining = deadline - self.clock.now()
                    if remaining <= 0:
                        raise LeaderElectionLost(
                            f"failed to renew lease {cfg.lease_namespace}/{cfg.lease_name}"
                            f" within {cfg.renew_deadline}s"
                        )
                    try:
                        async with asyncio.timeout(remaining):
                            ok = await self.try_acquire_or_renew()
                    except TimeoutError:
                        ok = False
                    if ok:
                        self._last_renew = self.clock.now()
                        break
                    if self.clock.now() >= deadline:
                        continue  # reports the loss above
                    await self.clock.sleep(
                        min(cfg.retry_period, max(0.0, deadline - self.clock.now()))
                    )
        except LeaderElectionLost:
            self._set_leading(False)
            self._log.error("leader election lost")
            raise
        except asyncio.CancelledError:
            raise

    async def release(self) -> bool:
        """Give the lease up (holder emptied, 1 s duration) if we hold it."""
        if not self._leading:
            return False
        self._set_leading(False)
        try:
            current = await self.store.get()
            if (
                current is None
                or (current.get("spec") or {}).get("holderIdentity") != self.config.identity
            ):
                return False
            updated = json_copy(current)
            spec = updated.setdefault("spec", {})
            spec["holderIdentity"] = ""
            spec["leaseDurationSeconds"] = 1
            spec["renewTime"] = _micro_time(self.clock.wall())
            await self.store.update(updated)
        except ApiError as e:
            self._log.warning("failed to release lease", error=str(e))
            return False
        self._log.info("released leader lease")
        return True

    def stop_leading(self) -> None:
        """Mark as not leading (after cancellation without release)."""
        self._set_leading(False)
