"""Run the real ``xeem-controller`` against a cluster, as a child process, for tests and demos.

Contract: ``install_crds`` applies the CRDs generated from the models with kubectl and waits
until they are Established. ``XeemController.start()`` returns when the controller's
``/readyz`` answers 200 (its caches synced); ``kill()`` is a SIGKILL (a crash), ``stop()`` a
graceful SIGTERM; the controller's log is ``<log_dir>/xeem-controller.log``.
"""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path

import aiohttp

from xeem.api.crds import custom_resource_definitions, render
from xeem.testing.process import ManagedProcess, free_port


async def run_kubectl(kubectl: str, kubeconfig: str, *args: str, stdin: str = "") -> str:
    """Run kubectl; returns stdout, raises ``RuntimeError`` with stderr on failure."""
    process = await asyncio.create_subprocess_exec(
        kubectl,
        f"--kubeconfig={kubeconfig}",
        *args,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate(stdin.encode())
    if process.returncode != 0:
        raise RuntimeError(f"kubectl {' '.join(args)}: {err.decode().strip()}")
    return out.decode()


async def install_crds(kubectl: str, kubeconfig: str) -> list[str]:
    """Apply every xeem CRD and wait until each is Established; returns their names."""
    crds = custom_resource_definitions()
    manifest = "---\n".join(render(crd) for crd in crds)
    await run_kubectl(kubectl, kubeconfig, "apply", "--server-side", "-f", "-", stdin=manifest)
    names = [f"crd/{crd['metadata']['name']}" for crd in crds]
    await run_kubectl(
        kubectl, kubeconfig, "wait", "--for=condition=Established", "--timeout=60s", *names
    )
    return names


class XeemController:
    """The xeem controller as a child process, with its probe and metrics endpoints."""

    def __init__(self, kubeconfig: str, log_dir: Path, *extra_args: str) -> None:
        self.health_port = free_port()
        self.metrics_port = free_port()
        self.process = ManagedProcess(
            "xeem-controller",
            [
                sys.executable,
                "-m",
                "xeem_controller",
                f"--kubeconfig={kubeconfig}",
                f"--health-probe-bind-address=127.0.0.1:{self.health_port}",
                f"--metrics-bind-address=127.0.0.1:{self.metrics_port}",
                *extra_args,
            ],
            log_dir,
        )

    @property
    def log_path(self) -> Path:
        return self.process.log_path

    async def start(self, timeout: float = 60.0) -> None:
        await self.process.start()
        deadline = time.monotonic() + timeout
        url = f"http://127.0.0.1:{self.health_port}/readyz"
        async with aiohttp.ClientSession() as session:
            while time.monotonic() < deadline:
                self.process.check()
                try:
                    async with session.get(url) as response:
                        if response.status == 200:
                            return
                except aiohttp.ClientError:
                    pass
                await asyncio.sleep(0.1)
        raise TimeoutError(
            f"xeem-controller not ready after {timeout}s:\n{self.process.log_tail()}"
        )

    async def kill(self) -> None:
        """SIGKILL: the controller dies mid-flight, as in a node crash."""
        await self.process.kill()

    async def stop(self) -> None:
        await self.process.stop()

    async def metrics(self) -> str:
        """The Prometheus text exposition of ``/metrics``."""
        async with (
            aiohttp.ClientSession() as session,
            session.get(f"http://127.0.0.1:{self.metrics_port}/metrics") as response,
        ):
            return await response.text()
