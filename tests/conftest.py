"""Shared fixtures: one real cluster per session, a fresh namespace per test.

The cluster is the local control plane (``xeem.testing.LocalControlPlane``), started only
when a test asks for it, or the existing cluster named by ``XEEM_TEST_KUBECONFIG`` (so the
same suite runs against kind). Component logs of a failed session are kept and their
folder is printed in the summary.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from tests.kube import Kubectl
from xeem.testing import LocalControlPlane

KUBECONFIG_ENV = "XEEM_TEST_KUBECONFIG"
_LOG_DIRS = pytest.StashKey[list[Path]]()


def pytest_configure(config: pytest.Config) -> None:
    config.stash[_LOG_DIRS] = []


def keep_logs(config: pytest.Config, log_dir: Path) -> None:
    """Name ``log_dir`` in the session summary (call it when the logs explain a failure)."""
    config.stash[_LOG_DIRS].append(log_dir)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    for log_dir in terminalreporter.config.stash[_LOG_DIRS]:
        terminalreporter.write_line(f"logs kept in {log_dir}")


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def control_plane(request: pytest.FixtureRequest) -> AsyncIterator[LocalControlPlane | None]:
    """The harness's control plane, or None when the suite runs on an external cluster."""
    if os.environ.get(KUBECONFIG_ENV):
        yield None
        return
    cp = LocalControlPlane()
    await cp.start()
    try:
        yield cp
    finally:
        failed = request.session.testsfailed > 0
        await cp.stop(keep_logs=failed)
        if failed:
            keep_logs(request.config, cp.log_dir)


@pytest.fixture(scope="session")
def kubeconfig(control_plane: LocalControlPlane | None) -> str:
    """Path of a kubeconfig for the session's cluster (admin)."""
    if control_plane is None:
        return os.environ[KUBECONFIG_ENV]
    return str(control_plane.kubeconfig_path)


@pytest.fixture(scope="session")
def kubectl_binary(control_plane: LocalControlPlane | None) -> str:
    if control_plane is not None:
        return control_plane.binary("kubectl")
    found = shutil.which("kubectl") or str(Path("bin/kubectl").resolve())
    return found


@pytest.fixture(scope="session")
def kubectl(kubectl_binary: str, kubeconfig: str) -> Kubectl:
    """``await kubectl(*args, input=None)`` runs kubectl against the session's cluster."""

    async def run(*args: str, input: str | None = None) -> tuple[int, str, str]:
        process = await asyncio.create_subprocess_exec(
            kubectl_binary,
            f"--kubeconfig={kubeconfig}",
            *args,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await process.communicate(input.encode() if input is not None else None)
        assert process.returncode is not None
        return process.returncode, out.decode(), err.decode()

    return run


@pytest_asyncio.fixture(loop_scope="session")
async def namespace(kubectl: Kubectl) -> AsyncIterator[str]:
    """A fresh namespace (with its default ServiceAccount), deleted after the test."""
    name = f"xeem-test-{uuid.uuid4().hex[:8]}"
    code, _, err = await kubectl("create", "namespace", name)
    assert code == 0, err
    for _ in range(100):
        code, _, _ = await kubectl("get", "serviceaccount", "default", "-n", name)
        if code == 0:
            break
        await asyncio.sleep(0.1)
    yield name
    await kubectl("delete", "namespace", name, "--wait=false")
