# ruff: noqa: ASYNC240
"""The client and the event recorder against a real API server."""

from __future__ import annotations

import asyncio
import base64
from pathlib import Path

import pytest
import yaml
from prometheus_client import CollectorRegistry

from tests.integration.runtime.rt_helpers import WIDGET, eventually
from xeem.runtime import Manager
from xeem.runtime.client import Client, PatchType
from xeem.runtime.events import EventRecorder
from xeem.runtime.kube import (
    AlreadyExistsError,
    ConflictError,
    InvalidError,
    NotFoundError,
    Transport,
)
from xeem.runtime.resource import CONFIG_MAP, EVENT, NAMESPACE, SERVICE_ACCOUNT, Obj

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("widget_crd_installed")]


async def test_crud_patch_apply_status_and_typed_errors(
    transport: Transport, namespace: str
) -> None:
    c = Client(transport, field_manager="rt-test")
    cm: Obj = {"metadata": {"name": "one", "namespace": namespace}, "data": {"a": "1"}}
    created = await c.create(CONFIG_MAP, cm)
    assert created["kind"] == "ConfigMap"
    with pytest.raises(AlreadyExistsError):
        await c.create(CONFIG_MAP, cm)
    with pytest.raises(NotFoundError):
        await c.get(CONFIG_MAP, "nope", namespace)

    # update with a stale resourceVersion is a typed conflict
    fresh = await c.get(CONFIG_MAP, "one", namespace)
    fresh["data"]["a"] = "2"
    updated = await c.update(CONFIG_MAP, fresh)
    fresh["data"]["a"] = "3"
    with pytest.raises(ConflictError):
        await c.update(CONFIG_MAP, fresh)
    assert updated["data"]["a"] == "2"

    merged = await c.patch(CONFIG_MAP, "one", {"data": {"b": "x"}}, namespace=namespace)
    assert merged["data"] == {"a": "2", "b": "x"}
    jsonp = await c.patch(
        CONFIG_MAP,
        "one",
        [{"op": "replace", "path": "/data/a", "value": "9"}, {"op": "remove", "path": "/data/b"}],
        namespace=namespace,
        patch_type=PatchType.JSON,
    )
    assert jsonp["data"] == {"a": "9"}
    strategic = await c.patch(
        CONFIG_MAP,
        "one",
        {"metadata": {"labels": {"s": "1"}}},
        namespace=namespace,
        patch_type=PatchType.STRATEGIC,
    )
    assert strategic["metadata"]["labels"] == {"s": "1"}

    # server-side apply: fields are owned by the field manager; a second manager conflicts
    applied = await c.apply(
        CONFIG_MAP,
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "two", "namespace": namespace},
            "data": {"k": "v"},
        },
    )
    assert applied["data"] == {"k": "v"}
    managers = {m["manager"] for m in applied["metadata"]["managedFields"]}
    assert "rt-test" in managers
    with pytest.raises(ConflictError):
        await c.apply(
            CONFIG_MAP,
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": "two", "namespace": namespace},
                "data": {"k": "w"},
            },
            field_manager="someone-else",
            force=False,
        )

    # custom resources and their status subresource
    w = await c.create(
        WIDGET,
        {
            "metadata": {"name": "w", "namespace": namespace},
            "spec": {"size": 1},
            "status": {"ignored": True},
        },
    )
    assert "status" not in w, "status is ignored on create when the subresource is enabled"
    w["status"] = {"phase": "Ready"}
    w = await c.update_status(WIDGET, w)
    assert w["status"] == {"phase": "Ready"}
    w = await c.patch_status(WIDGET, "w", {"status": {"count": 2}}, namespace=namespace)
    assert w["status"] == {"phase": "Ready", "count": 2}
    w = await c.apply_status(
        WIDGET,
        {
            "apiVersion": "rt.xeem.io/v1",
            "kind": "Widget",
            "metadata": {"name": "w", "namespace": namespace},
            "status": {"phase": "Applied"},
        },
    )
    assert w["status"]["phase"] == "Applied"
    assert w["spec"] == {"size": 1}, "a status write leaves the spec alone"

    items = await c.list(CONFIG_MAP, namespace, label_selector={"s": "1"})
    assert [i["metadata"]["name"] for i in items] == ["one"]
    assert all(i["kind"] == "ConfigMap" for i in items)
    assert any(n["metadata"]["name"] == namespace for n in await c.list(NAMESPACE))

    with pytest.raises(InvalidError):
        await c.create(CONFIG_MAP, {"metadata": {"name": "Bad_Name", "namespace": namespace}})

    await c.delete(CONFIG_MAP, "one", namespace)
    with pytest.raises(NotFoundError):
        await c.delete(CONFIG_MAP, "one", namespace)
    assert await c.delete(CONFIG_MAP, "one", namespace, ignore_not_found=True) is None


async def test_reads_come_from_the_cache_as_copies(transport: Transport, namespace: str) -> None:
    manager = Manager(transport, name="cached", namespace=namespace, registry=CollectorRegistry())
    informer = manager.informer(CONFIG_MAP)
    task = asyncio.create_task(manager.start())
    try:
        await manager.wait_ready(30)
        c = manager.client
        await c.create(
            CONFIG_MAP, {"metadata": {"name": "c", "namespace": namespace, "labels": {"x": "1"}}}
        )
        await eventually(lambda: informer.get("c", namespace) is not None, what="cached")
        requests_before = informer.stats.lists
        got = await c.get(CONFIG_MAP, "c", namespace)
        got["metadata"]["labels"]["x"] = "mutated"
        assert informer.get("c", namespace)["metadata"]["labels"]["x"] == "1", "a copy"  # type: ignore[index]
        listed = await c.list(CONFIG_MAP, namespace, label_selector="x=1")
        assert [o["metadata"]["name"] for o in listed] == ["c"]
        with pytest.raises(NotFoundError, match="cache"):
            await c.get(CONFIG_MAP, "absent", namespace)
        assert informer.stats.lists == requests_before
        # a namespace the cache doesn't cover goes to the server
        assert await c.list(CONFIG_MAP, "kube-system")
    finally:
        manager.stop()
        await asyncio.wait_for(task, 30)


async def test_recorder_aggregates_repeats_into_one_event(
    transport: Transport, namespace: str
) -> None:
    c = Client(transport)
    cm = await c.create(CONFIG_MAP, {"metadata": {"name": "ev", "namespace": namespace}})
    recorder = EventRecorder(c, "rt-test", host="test-host")
    runner = asyncio.create_task(recorder.run())
    try:
        for _ in range(3):
            recorder.event(cm, "Warning", "Broken", "it broke")
        recorder.event(cm, "Normal", "Fixed", "it works")
        await asyncio.wait_for(recorder.flush(), 30)
    finally:
        runner.cancel()
    events = await c.list(EVENT, namespace, field_selector="involvedObject.name=ev", live=True)
    by_reason = {e["reason"]: e for e in events}
    assert set(by_reason) == {"Broken", "Fixed"}
    assert by_reason["Broken"]["count"] == 3
    assert by_reason["Broken"]["type"] == "Warning"
    assert by_reason["Broken"]["source"]["component"] == "rt-test"
    assert by_reason["Broken"]["involvedObject"]["uid"] == cm["metadata"]["uid"]
    assert by_reason["Fixed"]["count"] == 1


async def test_kubeconfig_inline_data_and_token_users(
    kubeconfig: str, transport: Transport, namespace: str, tmp_path: Path
) -> None:
    """The native kubeconfig loader: *-data fields, and bearer tokens (static and file)."""
    doc = yaml.safe_load(Path(kubeconfig).read_text())
    cluster = doc["clusters"][0]["cluster"]
    user = doc["users"][0]["user"]
    if "certificate-authority" not in cluster or "client-certificate" not in user:
        pytest.skip("needs a kubeconfig with file references to inline")

    def b64(path: str) -> str:
        return base64.b64encode(Path(path).read_bytes()).decode()

    cluster_data = {
        "server": cluster["server"],
        "certificate-authority-data": b64(cluster["certificate-authority"]),
    }
    inline = {
        "client-certificate-data": b64(user["client-certificate"]),
        "client-key-data": b64(user["client-key"]),
    }
    c = Client(transport)
    await c.create(SERVICE_ACCOUNT, {"metadata": {"name": "tok", "namespace": namespace}})
    token_request = await transport.request(
        "POST",
        SERVICE_ACCOUNT.path(namespace, "tok", "token"),
        body={"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": {}},
    )
    token = token_request["status"]["token"]
    (tmp_path / "token").write_text(token)
    users = {
        "inline": inline,
        "token": {"token": token},
        "token-file": {"tokenFile": str(tmp_path / "token")},
    }
    for name, u in users.items():
        path = tmp_path / f"{name}.yaml"
        path.write_text(
            yaml.safe_dump(
                {
                    "apiVersion": "v1",
                    "kind": "Config",
                    "clusters": [{"name": "c", "cluster": cluster_data}],
                    "users": [{"name": "u", "user": u}],
                    "contexts": [{"name": "x", "context": {"cluster": "c", "user": "u"}}],
                    "current-context": "x",
                }
            )
        )
        async with await Transport.from_kubeconfig(path) as t:
            review = await t.request(
                "POST",
                "/apis/authentication.k8s.io/v1/selfsubjectreviews",
                body={"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"},
            )
            username = review["status"]["userInfo"]["username"]
            if name == "inline":
                assert username != f"system:serviceaccount:{namespace}:tok"
            else:
                assert username == f"system:serviceaccount:{namespace}:tok", name
