"""Fixtures of the machine integration tests: the xeem machine CRDs and a live client."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest_asyncio

from tests.integration.runtime.rt_helpers import ensure_crd, transport_via
from xeem.api.crds import custom_resource_definitions
from xeem.runtime.client import Client

MACHINE_KINDS = ("VirtualMachineGroup", "VirtualMachine", "BlockStorage", "VirtualMachineType")


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def machine_crds(kubeconfig: str) -> None:
    """The machine CRDs, generated from the models (``xeem.api.crds``)."""
    transport = await transport_via(kubeconfig)
    try:
        for crd in custom_resource_definitions():
            if crd["spec"]["names"]["kind"] in MACHINE_KINDS:
                await ensure_crd(transport, crd)
    finally:
        await transport.close()


@pytest_asyncio.fixture(loop_scope="session")
async def api(kubeconfig: str, machine_crds: None) -> AsyncIterator[Client]:
    """A cache-less client (every read is live) for the test's own checks."""
    transport = await transport_via(kubeconfig)
    try:
        yield Client(transport)
    finally:
        await transport.close()
