"""``LocalControlPlane``: a real Kubernetes control plane on loopback for tests and demos.

Like controller-runtime's envtest, but with the controllers and simulated nodes too: etcd,
kube-apiserver (TLS, a per-run CA, RBAC), kube-controller-manager, kube-scheduler and kwok
managing N fake nodes. Binaries come from ``bin_dir`` (``$XEEM_BIN_DIR``, else ``./bin``,
else ``$PATH``); ``make controlplane`` builds them.

Contract:
- ``start()`` returns when ``/readyz`` is ok, the ``default`` namespace exists and every fake
  node is Ready; on failure it stops everything it started and raises with the log folder.
- ``stop()`` kills every process and removes the temporary directory; the component logs
  (``log_dir``) are removed too unless ``keep_logs`` is set. Processes also die with the
  Python process that started them.
- ``stop_apiserver()``/``start_apiserver()`` restart kube-apiserver on the same port, etcd
  and certificates; ``compact_etcd()`` compacts etcd at its current revision.
"""

from __future__ import annotations

import asyncio
import base64
import os
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

import aiohttp
import yaml

from xeem.testing.admin import AdminClient
from xeem.testing.kwok import fake_node, write_stages
from xeem.testing.pki import Pki, issue_client_cert, write_pki
from xeem.testing.process import ManagedProcess, free_port

_COMPONENTS = ("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok")
_ENV = {"kube-apiserver": {"GOGC": "400"}}
"""The API server is the busiest process under load and most of its CPU is garbage
collection of short-lived request objects: collecting less often trades memory (plenty
here) for throughput."""
_CLIENT_QPS = "200"
_CLIENT_BURST = "400"


class ControlPlaneError(RuntimeError):
    """The local control plane could not be started or reached."""


@dataclass(frozen=True)
class ControlPlaneConfig:
    """What to run: binaries, fake nodes, and how long a Job's pod runs under kwok."""

    bin_dir: Path | None = None
    nodes: int = 3
    job_pod_seconds: float = 1.0
    start_timeout: float = 90.0


def _find_bin_dir(configured: Path | None) -> Path | None:
    for candidate in (configured, os.environ.get("XEEM_BIN_DIR"), Path.cwd() / "bin"):
        if candidate and (Path(candidate) / "kube-apiserver").exists():
            return Path(candidate)
    return None


class LocalControlPlane:
    """etcd, kube-apiserver, kube-controller-manager, kube-scheduler and kwok on 127.0.0.1."""

    def __init__(self, config: ControlPlaneConfig | None = None) -> None:
        self.config = config or ControlPlaneConfig()
        self._bin_dir = _find_bin_dir(self.config.bin_dir)
        self.root = Path(tempfile.mkdtemp(prefix="xeem-cp-"))
        self.log_dir = Path(tempfile.mkdtemp(prefix="xeem-cp-logs-"))
        self.kubeconfig_path = self.root / "kubeconfig"
        self.etcd_port = free_port()
        self.apiserver_port = free_port()
        self.server = f"https://127.0.0.1:{self.apiserver_port}"
        self.startup_seconds: float | None = None
        self._pki: Pki | None = None
        self._admin: AdminClient | None = None
        self._processes: dict[str, ManagedProcess] = {}

    @property
    def etcd_endpoint(self) -> str:
        return f"http://127.0.0.1:{self.etcd_port}"

    @property
    def admin(self) -> AdminClient:
        if self._admin is None:
            raise ControlPlaneError("the control plane is not started")
        return self._admin

    def binary(self, name: str) -> str:
        """Absolute path of a control-plane binary (``kubectl`` included)."""
        if self._bin_dir is not None:
            return str(self._bin_dir / name)
        found = shutil.which(name)
        if found is None:
            raise ControlPlaneError(
                f"{name} not found: run `make controlplane` or set XEEM_BIN_DIR"
            )
        return found

    async def __aenter__(self) -> LocalControlPlane:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop(keep_logs=exc is not None)

    async def start(self) -> None:
        began = time.monotonic()
        try:
            await self._start()
        except BaseException as error:
            await self.stop(keep_logs=True)
            if isinstance(error, Exception):
                raise ControlPlaneError(
                    f"local control plane failed to start: {error}\ncomponent logs: {self.log_dir}"
                ) from error
            raise
        self.startup_seconds = time.monotonic() - began

    async def _start(self) -> None:
        pki = self._pki = write_pki(self.root / "pki")
        self._write_kubeconfig(self.kubeconfig_path, pki.admin_cert, pki.admin_key)
        self._admin = AdminClient(self.server, pki.ca_cert, pki.admin_cert, pki.admin_key)
        self._define_processes(pki)
        await self._processes["etcd"].start()
        await self._wait(self._etcd_healthy, "etcd health")
        await self.start_apiserver()
        for name in ("kube-controller-manager", "kube-scheduler", "kwok"):
            await self._processes[name].start()
        for index in range(self.config.nodes):
            await self._create("/api/v1/nodes", fake_node(f"kwok-node-{index}"), allow_exists=False)
        await self._wait(self._nodes_ready, "fake nodes Ready")
        await self._wait(self._default_namespace, "namespace default")

    def _define_processes(self, pki: Pki) -> None:
        root, logs = self.root, self.log_dir
        peer = f"http://127.0.0.1:{free_port()}"
        scheduler_config = root / "scheduler.yaml"
        scheduler_config.write_text(
            yaml.safe_dump(
                {
                    "apiVersion": "kubescheduler.config.k8s.io/v1",
                    "kind": "KubeSchedulerConfiguration",
                    "clientConnection": {
                        "kubeconfig": str(self.kubeconfig_path),
                        "qps": float(_CLIENT_QPS),
                        "burst": int(_CLIENT_BURST),
                    },
                    "leaderElection": {"leaderElect": False},
                }
            )
        )
        stages = write_stages(root / "kwok-stages.yaml", self.config.job_pod_seconds)
        argv = {
            "etcd": [
                "--name=xeem",
                f"--data-dir={root / 'etcd'}",
                f"--listen-client-urls={self.etcd_endpoint}",
                f"--advertise-client-urls={self.etcd_endpoint}",
                f"--listen-peer-urls={peer}",
                f"--initial-advertise-peer-urls={peer}",
                f"--initial-cluster=xeem={peer}",
                "--unsafe-no-fsync",
                "--log-level=warn",
            ],
            "kube-apiserver": [
                f"--etcd-servers={self.etcd_endpoint}",
                "--bind-address=127.0.0.1",
                "--advertise-address=127.0.0.1",
                f"--secure-port={self.apiserver_port}",
                f"--tls-cert-file={pki.serving_cert}",
                f"--tls-private-key-file={pki.serving_key}",
                f"--client-ca-file={pki.ca_cert}",
                "--authorization-mode=Node,RBAC",
                "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
                f"--service-account-key-file={pki.service_account_pub}",
                f"--service-account-signing-key-file={pki.service_account_key}",
                "--service-cluster-ip-range=10.0.0.0/24",
                "--endpoint-reconciler-type=none",
                "--allow-privileged=true",
                "--profiling=true",
                f"--cert-dir={root / 'apiserver-certs'}",
            ],
            "kube-controller-manager": [
                f"--kubeconfig={self.kubeconfig_path}",
                "--leader-elect=false",
                "--secure-port=0",
                "--controllers=*",
                f"--service-account-private-key-file={pki.service_account_key}",
                f"--root-ca-file={pki.ca_cert}",
                f"--cluster-signing-cert-file={pki.ca_cert}",
                f"--cluster-signing-key-file={pki.ca_key}",
                "--use-service-account-credentials=false",
                f"--kube-api-qps={_CLIENT_QPS}",
                f"--kube-api-burst={_CLIENT_BURST}",
                "--concurrent-job-syncs=10",
                "--concurrent-deployment-syncs=10",
                "--concurrent-gc-syncs=20",
            ],
            "kube-scheduler": [f"--config={scheduler_config}", "--secure-port=0"],
            "kwok": [
                f"--kubeconfig={self.kubeconfig_path}",
                f"--config={stages}",
                "--manage-all-nodes=false",
                "--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake",
                "--node-lease-duration-seconds=40",
                "--cidr=10.244.0.0/16",
                "--node-ip=10.200.0.1",
            ],
        }
        self._processes = {
            name: ManagedProcess(name, [self.binary(name), *argv[name]], logs, _ENV.get(name))
            for name in _COMPONENTS
        }

    def _write_kubeconfig(self, path: Path, cert: Path, key: Path, user: str = "admin") -> None:
        assert self._pki is not None
        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [
                {
                    "name": "xeem-local",
                    "cluster": {
                        "server": self.server,
                        "certificate-authority": str(self._pki.ca_cert),
                    },
                }
            ],
            "users": [
                {"name": user, "user": {"client-certificate": str(cert), "client-key": str(key)}}
            ],
            "contexts": [
                {"name": "xeem-local", "context": {"cluster": "xeem-local", "user": user}}
            ],
            "current-context": "xeem-local",
        }
        path.write_text(yaml.safe_dump(config, sort_keys=False))

    def user_kubeconfig(self, user: str, groups: tuple[str, ...] = ()) -> Path:
        """A kubeconfig for a new client-certificate user (for RBAC tests)."""
        if self._pki is None:
            raise ControlPlaneError("the control plane is not started")
        cert, key = issue_client_cert(self._pki, self.root / "pki", user, groups)
        path = self.root / f"kubeconfig-{user}"
        self._write_kubeconfig(path, cert, key, user)
        return path

    async def start_apiserver(self) -> None:
        await self._processes["kube-apiserver"].start()
        await self._wait(self._apiserver_ready, "kube-apiserver /readyz")

    async def stop_apiserver(self) -> None:
        await self._processes["kube-apiserver"].stop()

    async def compact_etcd(self) -> int:
        """Compact etcd's history at its current revision; returns that revision."""
        async with aiohttp.ClientSession() as session:
            key = base64.b64encode(b"/xeem-compaction-probe").decode()
            async with session.post(f"{self.etcd_endpoint}/v3/kv/range", json={"key": key}) as r:
                revision = int((await r.json())["header"]["revision"])
            async with session.post(
                f"{self.etcd_endpoint}/v3/kv/compaction",
                json={"revision": str(revision), "physical": True},
            ) as r:
                if r.status != 200:
                    raise ControlPlaneError(f"etcd compaction failed: {await r.text()}")
        return revision

    async def stop(self, keep_logs: bool = False) -> None:
        for name in reversed(list(self._processes)):
            await self._processes[name].stop()
        if self._admin is not None:
            await self._admin.close()
        shutil.rmtree(self.root, ignore_errors=True)
        if not keep_logs:
            shutil.rmtree(self.log_dir, ignore_errors=True)

    def check_processes(self) -> None:
        """Raise if any component died."""
        for process in self._processes.values():
            process.check()

    def pids(self) -> dict[str, int]:
        """Process ids of the running components, by name."""
        return {n: p.pid for n, p in self._processes.items() if p.pid is not None}

    async def _create(self, path: str, body: dict[str, Any], allow_exists: bool = True) -> None:
        status, response = await self.admin.request("POST", path, body)
        if status >= 300 and not (allow_exists and status == 409):
            raise ControlPlaneError(f"POST {path}: {status} {response}")

    async def _wait(self, probe: Any, what: str) -> None:
        deadline = time.monotonic() + self.config.start_timeout
        last_error = ""
        while time.monotonic() < deadline:
            self.check_processes()
            try:
                if await probe():
                    return
            except (aiohttp.ClientError, OSError, TimeoutError) as error:
                last_error = f" (last error: {error})"
            await asyncio.sleep(0.1)
        raise ControlPlaneError(f"timed out waiting for {what}{last_error}")

    async def _etcd_healthy(self) -> bool:
        async with (
            aiohttp.ClientSession() as session,
            session.get(
                f"{self.etcd_endpoint}/health", timeout=aiohttp.ClientTimeout(total=2)
            ) as response,
        ):
            return response.status == 200

    async def _apiserver_ready(self) -> bool:
        status, _ = await self.admin.request("GET", "/readyz")
        return status == 200

    async def _default_namespace(self) -> bool:
        status, _ = await self.admin.request("GET", "/api/v1/namespaces/default")
        return status == 200

    async def _nodes_ready(self) -> bool:
        status, nodes = await self.admin.request("GET", "/api/v1/nodes")
        if status != 200:
            return False
        ready = [
            node
            for node in nodes["items"]
            if any(
                c["type"] == "Ready" and c["status"] == "True"
                for c in node.get("status", {}).get("conditions", [])
            )
        ]
        return len(ready) >= self.config.nodes
