"""Manager wiring, the probe server and kubeconfig parsing (no API server)."""

from __future__ import annotations

import aiohttp
import pytest
from prometheus_client import CollectorRegistry

from xeem.runtime.health import HealthServer, parse_bind
from xeem.runtime.kube import KubeConfig, Transport, _native_kubeconfig
from xeem.runtime.manager import Manager
from xeem.runtime.metrics import metrics_for
from xeem.runtime.reconcile import Request, Result
from xeem.runtime.resource import CONFIG_MAP, EVENT, NODE, POD

pytestmark = pytest.mark.unit


def manager(namespace: str | None = None) -> Manager:
    transport = Transport(KubeConfig(host="http://127.0.0.1:9"))
    return Manager(transport, registry=CollectorRegistry(), namespace=namespace)


def test_one_shared_informer_per_type() -> None:
    m = manager(namespace="ns")
    assert m.informer(POD) is m.informer(POD)
    assert m.informer(POD).namespace == "ns"
    assert m.informer(NODE).namespace is None, "cluster-scoped types ignore the namespace"
    m.informer(EVENT, field_selector="type=Warning")
    assert m.informer(EVENT) is m.informer(EVENT, field_selector="type=Warning")
    with pytest.raises(ValueError, match="field_selector"):
        m.informer(EVENT, field_selector="type=Normal")


async def test_controllers_share_informers_and_names_are_unique() -> None:
    m = manager()

    async def r(req: Request) -> Result:
        return Result()

    a = m.controller("a").for_(POD).owns(CONFIG_MAP).complete(r)
    b = m.controller("b").for_(CONFIG_MAP).complete(r)
    assert set(m.informers) == {POD, CONFIG_MAP}
    assert a.informers()[1] is b.informers()[0]
    with pytest.raises(ValueError, match="already exists"):
        m.controller("a").for_(POD).complete(r)


def test_managers_on_separate_registries_do_not_collide() -> None:
    m1, m2 = manager(), manager()
    assert m1.metrics is not m2.metrics
    shared = CollectorRegistry()
    assert metrics_for(shared) is metrics_for(shared)
    assert m1.transport.metrics is m1.metrics


def test_parse_bind() -> None:
    assert parse_bind(":8081") == ("0.0.0.0", 8081)
    assert parse_bind("127.0.0.1:0") == ("127.0.0.1", 0)


async def test_probe_server() -> None:
    registry = CollectorRegistry()
    metrics_for(registry).reconcile_total.labels("c", "success").inc()
    server = HealthServer("127.0.0.1:0", registry=registry)
    state = {"ready": False}
    server.add_healthz_check("ping", lambda: True)
    server.add_readyz_check("informers", lambda: state["ready"])

    def broken() -> bool:
        raise RuntimeError("nope")

    await server.start()
    try:
        assert server.port != 0
        async with aiohttp.ClientSession() as http:
            async with http.get(server.url + "/healthz") as r:
                assert (r.status, await r.text()) == (200, "ok")
            async with http.get(server.url + "/readyz") as r:
                assert r.status == 500
                assert "[-]informers failed" in await r.text()
            state["ready"] = True
            async with http.get(server.url + "/readyz/informers") as r:
                assert r.status == 200
            async with http.get(server.url + "/readyz/nothing") as r:
                assert r.status == 404
            server.add_healthz_check("broken", broken)
            async with http.get(server.url + "/healthz?verbose") as r:
                assert r.status == 500
                assert "[-]broken failed: nope" in await r.text()
            async with http.get(server.url + "/metrics") as r:
                text = await r.text()
                assert (
                    'controller_runtime_reconcile_total{controller="c",result="success"} 1.0'
                    in text
                )
    finally:
        await server.stop()


def kubeconfig(
    user: dict[str, object], cluster: dict[str, object] | None = None
) -> dict[str, object]:
    return {
        "clusters": [{"name": "c", "cluster": {"server": "https://k:6443/", **(cluster or {})}}],
        "users": [{"name": "u", "user": user}],
        "contexts": [
            {"name": "x", "context": {"cluster": "c", "user": "u"}},
            {"name": "y", "context": {"cluster": "c"}},
        ],
        "current-context": "x",
    }


async def test_native_kubeconfig_token_and_insecure() -> None:
    cfg = _native_kubeconfig(
        kubeconfig(
            {"token": "abc"}, {"insecure-skip-tls-verify": True, "tls-server-name": "kubernetes"}
        ),
        None,
        "/",
        "test",
    )
    assert cfg is not None
    assert cfg.host == "https://k:6443"
    assert cfg.server_hostname == "kubernetes"
    assert cfg.token is not None
    assert await cfg.token() == "abc"
    headers = await Transport(cfg)._headers(None)
    assert headers["Authorization"] == "Bearer abc"


async def test_native_kubeconfig_basic_auth_context_and_plugins() -> None:
    cfg = _native_kubeconfig(kubeconfig({"username": "a", "password": "b"}), None, "/", "t")
    assert cfg is not None
    assert cfg.headers["Authorization"] == "Basic YTpi"
    anonymous = _native_kubeconfig(kubeconfig({"token": "x"}), "y", "/", "t")
    assert anonymous is not None
    assert anonymous.token is None
    assert _native_kubeconfig(kubeconfig({"exec": {"command": "aws"}}), None, "/", "t") is None
    with pytest.raises(ValueError, match="no context"):
        _native_kubeconfig(kubeconfig({}), "missing", "/", "t")
