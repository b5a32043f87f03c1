"""Informers against a real API server: order, restarts, compaction, stalled streams."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import pytest

from tests.integration.runtime.rt_helpers import StallProxy, api_address, eventually, transport_via
from xeem.runtime.client import Client
from xeem.runtime.informer import Backoff, EventHandlerFuncs, Informer
from xeem.runtime.kube import ApiError, GoneError, Transport
from xeem.runtime.resource import CONFIG_MAP, Obj, name_of, object_key
from xeem.testing import LocalControlPlane

pytestmark = pytest.mark.integration


class Recorder:
    """Records handler calls as (verb, name, data.v)."""

    def __init__(self) -> None:
        self.events: list[tuple[str, str, str]] = []

    def handler(self) -> EventHandlerFuncs:
        def v(obj: Obj) -> str:
            return str((obj.get("data") or {}).get("v", ""))

        return EventHandlerFuncs(
            add=lambda o: self.events.append(("add", name_of(o), v(o))),
            update=lambda old, new: self.events.append(("update", name_of(new), v(new))),
            delete=lambda o: self.events.append(("delete", name_of(o), v(o))),
        )

    def of(self, name: str) -> list[tuple[str, str, str]]:
        return [e for e in self.events if e[1] == name]


@contextlib.asynccontextmanager
async def running(informer: Informer) -> AsyncIterator[asyncio.Task[None]]:
    task = asyncio.create_task(informer.run())
    try:
        assert await informer.wait_for_sync(30), "informer did not sync"
        yield task
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        if task.done() and not task.cancelled() and task.exception() is not None:
            raise task.exception()  # type: ignore[misc]


def cm(name: str, namespace: str, v: str) -> Obj:
    return {"metadata": {"name": name, "namespace": namespace}, "data": {"v": v}}


async def fresh_list(client: Client, namespace: str) -> dict[str, str]:
    items = await client.list(CONFIG_MAP, namespace, live=True)
    return {object_key(o): o["metadata"]["resourceVersion"] for o in items}


def cached(informer: Informer) -> dict[str, str]:
    return {k: o["metadata"]["resourceVersion"] for k, o in informer.store.items()}


async def test_informer_sees_creates_updates_deletes_in_order(
    transport: Transport, namespace: str
) -> None:
    client = Client(transport)
    await client.create(CONFIG_MAP, cm("before", namespace, "0"))
    informer = Informer(transport, CONFIG_MAP, namespace=namespace)
    rec = Recorder()
    informer.add_event_handler(rec.handler())
    async with running(informer):
        assert rec.of("before") == [("add", "before", "0")], "the initial list is delivered"
        await client.create(CONFIG_MAP, cm("a", namespace, "1"))
        for v in ("2", "3", "4"):
            await client.patch(CONFIG_MAP, "a", {"data": {"v": v}}, namespace=namespace)
        await client.delete(CONFIG_MAP, "a", namespace)
        await client.create(CONFIG_MAP, cm("a", namespace, "5"))
        await eventually(lambda: len(rec.of("a")) >= 6, what="all events of a")
        assert rec.of("a") == [
            ("add", "a", "1"),
            ("update", "a", "2"),
            ("update", "a", "3"),
            ("update", "a", "4"),
            ("delete", "a", "4"),
            ("add", "a", "5"),
        ]
        assert informer.get("a", namespace)["data"]["v"] == "5"  # type: ignore[index]
        # a handler registered late first sees the cache as adds
        late = Recorder()
        informer.add_event_handler(late.handler())
        mine = sorted(e for e in late.events if e[1] != "kube-root-ca.crt")
        assert mine == [("add", "a", "5"), ("add", "before", "0")]
        assert cached(informer) == await fresh_list(client, namespace)


async def test_informers_recover_after_apiserver_restart(
    transport: Transport, namespace: str, control_plane: LocalControlPlane | None
) -> None:
    if control_plane is None:
        pytest.skip("restarting kube-apiserver needs the local control plane")
    client = Client(transport)
    for i in range(5):
        await client.create(CONFIG_MAP, cm(f"c{i}", namespace, "0"))
    # a fast backoff keeps the test short; the default is 0.8 s .. 30 s
    informer = Informer(transport, CONFIG_MAP, namespace=namespace, backoff=Backoff(0.2, 2.0))
    cluster = Informer(transport, CONFIG_MAP, backoff=Backoff(0.2, 2.0))  # all namespaces
    rec = Recorder()
    informer.add_event_handler(rec.handler())
    async with running(informer), running(cluster):
        await control_plane.stop_apiserver()
        await asyncio.sleep(1.0)  # both watches break and back off against a dead server
        await control_plane.start_apiserver()
        await client.patch(CONFIG_MAP, "c0", {"data": {"v": "1"}}, namespace=namespace)
        await client.delete(CONFIG_MAP, "c1", namespace)
        await client.create(CONFIG_MAP, cm("c5", namespace, "0"))
        expected = await fresh_list(client, namespace)
        await eventually(
            lambda: cached(informer) == expected, timeout=60, what="cache == fresh list"
        )

        def cluster_view() -> dict[str, str]:
            return {k: v for k, v in cached(cluster).items() if k.startswith(f"{namespace}/")}

        await eventually(lambda: cluster_view() == expected, timeout=60, what="cluster cache")
        assert informer.stats.errors + informer.stats.watches > 1, "the watch was reopened"
        assert ("delete", "c1", "0") in rec.events
        assert ("update", "c0", "1") in rec.events


async def test_compaction_gives_410_and_relist_keeps_the_delete(
    kubeconfig: str, transport: Transport, namespace: str, control_plane: LocalControlPlane | None
) -> None:
    if control_plane is None:
        pytest.skip("compacting etcd needs the local control plane")
    client = Client(transport)
    for i in range(3):
        await client.create(CONFIG_MAP, cm(f"k{i}", namespace, "0"))
    proxy = StallProxy(api_address(transport))
    await proxy.start()
    via_proxy = await transport_via(kubeconfig, proxy.url)
    informer = Informer(via_proxy, CONFIG_MAP, namespace=namespace, backoff=Backoff(0.2, 1.0))
    rec = Recorder()
    informer.add_event_handler(rec.handler())
    try:
        async with running(informer):
            old_rv = informer.last_sync_resource_version
            proxy.pause()  # the informer can't see anything from now on
            await client.delete(CONFIG_MAP, "k1", namespace)
            await client.create(CONFIG_MAP, cm("k3", namespace, "0"))
            await control_plane.compact_etcd()
            # a restart empties the apiserver's watch cache, so the old revision is gone
            # from both the cache and etcd
            await control_plane.stop_apiserver()
            await control_plane.start_apiserver()

            # a watch from the informer's old resourceVersion now gets 410 Gone (as the
            # response status or as an ERROR event, depending on who answers)
            assert await watch_status(transport, namespace, old_rv) == 410

            proxy.resume()
            expected = await fresh_list(client, namespace)
            await eventually(lambda: cached(informer) == expected, timeout=60, what="relist")
            assert informer.stats.gone >= 1, "the informer saw 410 and relisted"
            assert informer.stats.lists >= 2
            assert informer.stats.relist_deletes >= 1
            assert ("delete", "k1", "0") in rec.events, "the delete was not lost"
            assert ("add", "k3", "0") in rec.events
    finally:
        await via_proxy.close()
        await proxy.close()


async def watch_status(transport: Transport, namespace: str, rv: str) -> int:
    try:
        async for event in transport.stream(
            CONFIG_MAP.path(namespace),
            params={"watch": True, "resourceVersion": rv},
            inactivity_timeout=10,
        ):
            if event.get("type") == "ERROR":
                return int(event["object"].get("code", 0))
    except GoneError as e:
        return e.status
    return 200


async def test_stalled_stream_is_caught_by_the_inactivity_timeout(
    kubeconfig: str, transport: Transport, namespace: str
) -> None:
    client = Client(transport)
    proxy = StallProxy(api_address(transport))
    await proxy.start()
    via_proxy = await transport_via(kubeconfig, proxy.url)
    informer = Informer(via_proxy, CONFIG_MAP, namespace=namespace, inactivity_timeout=1.5)
    rec = Recorder()
    informer.add_event_handler(rec.handler())
    try:
        async with running(informer):
            await client.create(CONFIG_MAP, cm("s0", namespace, "0"))
            await eventually(lambda: bool(rec.of("s0")), what="s0 seen")
            proxy.stall()  # the open watch goes silent; the TCP connection stays up
            await client.create(CONFIG_MAP, cm("s1", namespace, "0"))
            await eventually(
                lambda: informer.stats.inactivity_timeouts >= 1, timeout=30, what="inactivity"
            )
            await eventually(lambda: bool(rec.of("s1")), timeout=30, what="s1 after reopen")
            assert rec.of("s1") == [("add", "s1", "0")]
    finally:
        await via_proxy.close()
        await proxy.close()


async def test_watch_error_event_is_typed(transport: Transport, namespace: str) -> None:
    """A watch from a bogus resourceVersion is refused with a typed error, not a hang."""
    with pytest.raises(ApiError) as info:
        async for _ in transport.stream(
            CONFIG_MAP.path(namespace),
            params={"watch": True, "resourceVersion": "not-a-number"},
            inactivity_timeout=10,
        ):
            pass
    assert info.value.status in (400, 410, 500)
