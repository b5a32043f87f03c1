"""Fixtures of the runtime's integration tests."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest_asyncio

from tests.integration.runtime.rt_helpers import ensure_crd, transport_via, widget_crd
from xeem.runtime.kube import Transport


@pytest_asyncio.fixture(loop_scope="session")
async def transport(kubeconfig: str) -> AsyncIterator[Transport]:
    """A transport to the session's cluster (closed after the test)."""
    t = await transport_via(kubeconfig)
    try:
        yield t
    finally:
        await t.close()


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def widget_crd_installed(kubeconfig: str) -> None:
    """The test CRD ``widgets.rt.xeem.io`` (namespaced, with a status subresource)."""
    t = await transport_via(kubeconfig)
    try:
        await ensure_crd(t, widget_crd())
    finally:
        await t.close()
