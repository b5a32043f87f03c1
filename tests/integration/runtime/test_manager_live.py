"""Managers and controllers against a real API server."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from prometheus_client import CollectorRegistry

from tests.integration.runtime.rt_helpers import WIDGET, eventually
from xeem.runtime import (
    LeaderElectionConfig,
    LeaderElectionLost,
    Manager,
    Request,
    Result,
    owner_reference,
    retry_on_conflict,
)
from xeem.runtime.client import Client
from xeem.runtime.kube import ConflictError, NotFoundError, Transport
from xeem.runtime.metrics import sample_value
from xeem.runtime.resource import CONFIG_MAP, LEASE, Obj

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("widget_crd_installed")]


def widget(name: str, **spec: Any) -> Obj:
    return {
        "apiVersion": "rt.xeem.io/v1",
        "kind": "Widget",
        "metadata": {"name": name},
        "spec": spec,
    }


@contextlib.asynccontextmanager
async def started(manager: Manager) -> AsyncIterator[asyncio.Task[None]]:
    task = asyncio.create_task(manager.start())
    try:
        await asyncio.wait_for(asyncio.shield(_ready_or_dead(manager, task)), 30)
        yield task
    finally:
        manager.stop()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait_for(task, 30)


async def _ready_or_dead(manager: Manager, task: asyncio.Task[None]) -> None:
    while not manager.ready:
        if task.done():
            task.result()
            raise AssertionError("manager stopped before it was ready")
        await asyncio.sleep(0.02)


async def status_of(client: Client, name: str, namespace: str) -> dict[str, Any]:
    try:
        obj = await client.get(WIDGET, name, namespace, live=True)
    except NotFoundError:
        return {}
    return dict(obj.get("status") or {})


async def test_controller_reconciles_owns_children_and_serves_probes_and_metrics(
    transport: Transport, namespace: str
) -> None:
    registry = CollectorRegistry()
    manager = Manager(
        transport,
        name="widgets",
        namespace=namespace,
        registry=registry,
        health_bind="127.0.0.1:0",
        metrics_bind="127.0.0.1:0",
    )
    client = manager.client

    async def reconcile(req: Request) -> Result:
        w = await client.get(WIDGET, req.name, req.namespace)
        child = {
            "metadata": {
                "name": f"{req.name}-child",
                "namespace": req.namespace,
                "ownerReferences": [owner_reference(w)],
            },
            "data": {"size": str(w["spec"].get("size", 0))},
        }
        await client.apply(CONFIG_MAP, {"apiVersion": "v1", "kind": "ConfigMap", **child})
        await client.patch_status(
            WIDGET,
            req.name,
            {"status": {"observedGeneration": w["metadata"]["generation"]}},
            namespace=req.namespace,
        )
        return Result()

    manager.controller("widget").for_(WIDGET).owns(CONFIG_MAP).complete(reconcile)
    async with started(manager):
        assert manager.health is not None
        url = manager.health.url
        async with aiohttp.ClientSession() as http:
            for path in ("/healthz", "/readyz"):
                async with http.get(url + path) as r:
                    assert r.status == 200, path
                    assert await r.text() == "ok"
            async with http.get(url + "/readyz?verbose") as r:
                assert "[+]informers ok" in await r.text()

        await client.create(WIDGET, widget("w1", size=3), namespace=namespace)
        await eventually(
            lambda: _has(client, "w1", namespace, "observedGeneration", 1), what="w1 reconciled"
        )
        child = await client.get(CONFIG_MAP, "w1-child", namespace, live=True)
        assert child["data"] == {"size": "3"}
        # a spec change reconciles again
        await client.patch(WIDGET, "w1", {"spec": {"size": 4}}, namespace=namespace)
        await eventually(
            lambda: _has(client, "w1", namespace, "observedGeneration", 2), what="generation 2"
        )
        # deleting the child enqueues its owner, which recreates it
        await client.delete(CONFIG_MAP, "w1-child", namespace)

        async def recreated() -> bool:
            try:
                c = await client.get(CONFIG_MAP, "w1-child", namespace, live=True)
            except NotFoundError:
                return False
            return bool(c["data"] == {"size": "4"})

        await eventually(recreated, what="child recreated by the owner's reconcile")

        async with aiohttp.ClientSession() as http, http.get(url + "/metrics") as r:
            text = await r.text()
        for line in (
            'controller_runtime_reconcile_total{controller="widget",result="success"}',
            'controller_runtime_reconcile_errors_total{controller="widget"} 0.0',
            'controller_runtime_reconcile_time_seconds_bucket{controller="widget",le="0.005"}',
            'workqueue_depth{controller="widget",name="widget",priority=""}',
            'workqueue_adds_total{controller="widget",name="widget"}',
            'workqueue_queue_duration_seconds_bucket{controller="widget",le="1e-08",name="widget"}',
            'workqueue_work_duration_seconds_count{controller="widget",name="widget"}',
            'workqueue_retries_total{controller="widget",name="widget"}',
            'workqueue_unfinished_work_seconds{controller="widget",name="widget"}',
            'workqueue_longest_running_processor_seconds{controller="widget",name="widget"}',
        ):
            assert line in text, line
        rest = [
            line for line in text.splitlines() if line.startswith("rest_client_requests_total{")
        ]
        assert any('code="200"' in line and 'method="GET"' in line for line in rest), rest
        assert any('code="201"' in line and 'method="POST"' in line for line in rest), rest
        labels = {"controller": "widget", "result": "success"}
        assert sample_value(registry, "controller_runtime_reconcile_total", labels) >= 3


async def _has(client: Client, name: str, namespace: str, key: str, value: Any) -> bool:
    return bool((await status_of(client, name, namespace)).get(key) == value)


async def test_conflicting_status_update_is_retried_to_success(
    transport: Transport, namespace: str
) -> None:
    registry = CollectorRegistry()
    manager = Manager(transport, name="conflicts", namespace=namespace, registry=registry)
    client = manager.client
    other = Client(transport)  # a concurrent writer
    conflicts: list[str] = []

    async def reconcile(req: Request) -> Result:
        w = await client.get(WIDGET, req.name, req.namespace)  # from the cache
        if not conflicts:
            # someone else changes the object between our read and our write
            await other.patch(
                WIDGET,
                req.name,
                {"metadata": {"labels": {"touched": "yes"}}},
                namespace=req.namespace,
            )
        w["status"] = {"phase": "Done", "seenLabels": sorted(w["metadata"].get("labels") or {})}
        try:
            await client.update_status(WIDGET, w)  # PUT with the read resourceVersion
        except ConflictError:
            conflicts.append(req.name)
            raise  # an error: rate-limited requeue, then a fresh read from the cache
        return Result()

    manager.controller("conflicts").for_(WIDGET).complete(reconcile)
    async with started(manager):
        await client.create(WIDGET, widget("c1"), namespace=namespace)
        await eventually(lambda: _has(client, "c1", namespace, "phase", "Done"), what="status")
        assert conflicts == ["c1"]
        assert (await status_of(client, "c1", namespace))["seenLabels"] == ["touched"]
        errors = sample_value(
            registry, "controller_runtime_reconcile_errors_total", {"controller": "conflicts"}
        )
        assert errors == 1

    # the same within one reconcile: retry_on_conflict re-reads and writes again
    attempts = 0

    async def read_modify_write() -> Obj:
        nonlocal attempts
        attempts += 1
        w = await other.get(WIDGET, "c1", namespace, live=True)
        if attempts == 1:
            await other.patch(
                WIDGET, "c1", {"metadata": {"labels": {"again": "1"}}}, namespace=namespace
            )
        w["status"]["phase"] = "Again"
        return await other.update_status(WIDGET, w)

    result = await retry_on_conflict(read_modify_write)
    assert attempts == 2
    assert result["status"]["phase"] == "Again"


async def test_graceful_stop_drains_in_flight_reconciles(
    transport: Transport, namespace: str
) -> None:
    manager = Manager(
        transport,
        name="drain",
        namespace=namespace,
        registry=CollectorRegistry(),
        graceful_shutdown_timeout=10,
    )
    entered = asyncio.Event()

    async def reconcile(req: Request) -> Result:
        entered.set()
        await asyncio.sleep(1.0)
        await manager.client.patch_status(
            WIDGET, req.name, {"status": {"phase": "Finished"}}, namespace=req.namespace
        )
        return Result()

    manager.controller("drain").for_(WIDGET).complete(reconcile)
    task = asyncio.create_task(manager.start())
    await manager.wait_ready(30)
    await manager.client.create(WIDGET, widget("d1"), namespace=namespace)
    await asyncio.wait_for(entered.wait(), 30)
    manager.stop()  # as SIGTERM does
    await asyncio.wait_for(task, 30)
    assert (await status_of(Client(transport), "d1", namespace)).get("phase") == "Finished"


async def test_sigterm_stops_a_manager_process_gracefully(kubeconfig: str, namespace: str) -> None:
    proc = await _spawn_worker(kubeconfig, namespace, "sig", 3, 2, 0.5)
    try:
        t = Client(await _transport(kubeconfig))
        await eventually(lambda: _holder(t, namespace, "sig"), timeout=30, what="worker leads")
        proc.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(proc.wait(), 30) == 0
        # released on the way out
        await eventually(lambda: _holder(t, namespace, ""), timeout=10, what="lease released")
        await t.transport.close()
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


async def test_a_dead_informer_fails_the_manager_loudly(
    transport: Transport, namespace: str
) -> None:
    manager = Manager(transport, name="dies", namespace=namespace, registry=CollectorRegistry())

    def broken_mapper(obj: Obj) -> list[Request]:
        raise RuntimeError("mapper bug")

    async def reconcile(req: Request) -> Result:
        return Result()

    manager.controller("dies").for_(WIDGET).watches(CONFIG_MAP, broken_mapper).complete(reconcile)
    task = asyncio.create_task(manager.start())
    await manager.wait_ready(30)
    await Client(transport).create(
        CONFIG_MAP, {"metadata": {"name": "trigger"}}, namespace=namespace
    )
    with pytest.raises(RuntimeError, match="mapper bug"):
        await asyncio.wait_for(task, 30)


# -- leader election ---------------------------------------------------------------------------

LEASE_DURATION, RENEW_DEADLINE, RETRY_PERIOD = 3.0, 2.0, 0.5


async def _transport(kubeconfig: str) -> Transport:
    return await Transport.from_kubeconfig(kubeconfig)


async def _spawn_worker(
    kubeconfig: str, namespace: str, identity: str, lease: float, renew: float, retry: float
) -> asyncio.subprocess.Process:
    script = Path(__file__).with_name("le_worker.py")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    return await asyncio.create_subprocess_exec(
        sys.executable,
        str(script),
        kubeconfig,
        namespace,
        identity,
        str(lease),
        str(renew),
        str(retry),
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )


async def _holder(client: Client, namespace: str, identity: str) -> bool:
    try:
        lease = await client.get(LEASE, "le-test", namespace, live=True)
    except NotFoundError:
        return False
    return bool((lease.get("spec") or {}).get("holderIdentity", "") == identity)


async def test_only_the_leader_reconciles_and_a_killed_leader_is_replaced(
    kubeconfig: str, transport: Transport, namespace: str
) -> None:
    client = Client(transport)
    leader = await _spawn_worker(
        kubeconfig, namespace, "a", LEASE_DURATION, RENEW_DEADLINE, RETRY_PERIOD
    )
    try:
        await eventually(lambda: _holder(client, namespace, "a"), timeout=30, what="a leads")
        registry = CollectorRegistry()
        b = Manager(
            transport,
            name="le-b",
            namespace=namespace,
            registry=registry,
            leader_election=LeaderElectionConfig(
                "le-test", namespace, "b", LEASE_DURATION, RENEW_DEADLINE, RETRY_PERIOD
            ),
        )
        b_reconciles: list[str] = []

        async def reconcile(req: Request) -> Result:
            b_reconciles.append(req.name)
            await b.client.patch_status(
                WIDGET, req.name, {"status": {"reconciledBy": "b"}}, namespace=req.namespace
            )
            return Result()

        b.controller("widget").for_(WIDGET).complete(reconcile)
        async with started(b):
            await client.create(WIDGET, widget("x1"), namespace=namespace)
            await eventually(
                lambda: _has(client, "x1", namespace, "reconciledBy", "a"), what="a reconciles"
            )
            await asyncio.sleep(2 * RETRY_PERIOD)
            assert b_reconciles == [], "the follower does not reconcile"
            assert not b.is_leader
            assert sample_value(registry, "leader_election_master_status", {"name": "le-test"}) == 0

            leader.kill()  # SIGKILL: no release, the lease must expire
            killed = time.monotonic()
            await leader.wait()
            await eventually(
                lambda: b.is_leader,
                timeout=LEASE_DURATION + RETRY_PERIOD + 5,
                interval=0.01,
                what="b leads",
            )
            took = time.monotonic() - killed
            assert took <= LEASE_DURATION + RETRY_PERIOD + 0.5, f"takeover took {took:.2f}s"
            assert sample_value(registry, "leader_election_master_status", {"name": "le-test"}) == 1
            await client.create(WIDGET, widget("x2"), namespace=namespace)
            await eventually(
                lambda: _has(client, "x2", namespace, "reconciledBy", "b"), what="b reconciles"
            )
            assert await _holder(client, namespace, "b")
    finally:
        if leader.returncode is None:
            leader.kill()
            await leader.wait()


async def test_a_lost_lease_stops_reconciling_at_once_and_fails_the_manager(
    transport: Transport, namespace: str
) -> None:
    client = Client(transport)
    manager = Manager(
        transport,
        name="lose",
        namespace=namespace,
        registry=CollectorRegistry(),
        leader_election=LeaderElectionConfig(
            "le-test", namespace, "me", LEASE_DURATION, RENEW_DEADLINE, RETRY_PERIOD
        ),
    )
    in_flight = asyncio.Event()
    cancelled = asyncio.Event()

    async def reconcile(req: Request) -> Result:
        in_flight.set()
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            cancelled.set()
            raise
        return Result()

    manager.controller("lose").for_(WIDGET).complete(reconcile)
    task = asyncio.create_task(manager.start())
    await eventually(lambda: manager.is_leader, timeout=30, what="leading")
    await client.create(WIDGET, widget("l1"), namespace=namespace)
    await asyncio.wait_for(in_flight.wait(), 30)
    # another party takes the lease over (as after a partition)
    lease = await client.get(LEASE, "le-test", namespace, live=True)
    lease["spec"]["holderIdentity"] = "usurper"
    lease["spec"]["leaseDurationSeconds"] = 3600
    await client.update(LEASE, lease)
    with pytest.raises(LeaderElectionLost):
        await asyncio.wait_for(task, RENEW_DEADLINE + 10)
    assert cancelled.is_set(), "the in-flight reconcile was cancelled at once"
    assert not manager.is_leader
