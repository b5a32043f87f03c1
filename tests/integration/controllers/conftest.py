"""Fixtures of the reconciler integration tests: the xeem CRDs, the Task and Service
controllers running in-process on a namespace-scoped manager, and bounded status waits."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
import pytest_asyncio

from tests.integration.runtime.rt_helpers import ensure_crd, running_manager, transport_via
from tests.kube import Kubectl
from xeem.api.crds import custom_resource_definitions
from xeem.controllers.service import setup_service_controller
from xeem.controllers.task import setup_task_controller
from xeem.runtime.manager import Manager

Check = Callable[[dict[str, Any]], bool]
WaitFor = Callable[..., Awaitable[dict[str, Any]]]


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def xeem_crds(kubeconfig: str) -> None:
    """The Task and Service CRDs, generated from the models (``xeem.api.crds``)."""
    transport = await transport_via(kubeconfig)
    try:
        for crd in custom_resource_definitions():
            if crd["spec"]["names"]["kind"] in ("Task", "Service"):
                await ensure_crd(transport, crd)
    finally:
        await transport.close()


@pytest_asyncio.fixture(loop_scope="session")
async def controllers(kubeconfig: str, namespace: str, xeem_crds: None) -> AsyncIterator[Manager]:
    """A manager watching only the test's namespace, running the Task and Service
    controllers; stopped (gracefully) after the test."""

    def setup(manager: Manager) -> None:
        setup_task_controller(manager)
        setup_service_controller(manager)

    async with running_manager(kubeconfig, namespace, setup) as manager:
        yield manager


@pytest.fixture
def wait_for(kubectl: Kubectl, namespace: str) -> WaitFor:
    """``await wait_for("xtask/x", check, phase="Failed", timeout=60)``: poll ``kubectl get -o
    json`` until ``check(obj)`` holds and ``status.phase`` is ``phase`` (each optional);
    returns the object, fails the test with the last one seen on timeout."""

    async def wait(
        what: str,
        check: Check | None = None,
        *,
        phase: str | None = None,
        timeout: float = 60,
    ) -> dict[str, Any]:
        def ok(obj: dict[str, Any]) -> bool:
            if phase is not None and (obj.get("status") or {}).get("phase") != phase:
                return False
            return check is None or check(obj)

        deadline = time.monotonic() + timeout
        last: dict[str, Any] = {}
        while True:
            code, out, _ = await kubectl("get", "-n", namespace, what, "-o", "json")
            if code == 0:
                last = json.loads(out)
                if ok(last):
                    return last
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what}; last seen: {last}")
            await asyncio.sleep(0.1)

    return wait
