"""The runtime benchmark: xeem's controller runtime against kopf on the same control plane.

``python -m bench.runtime_bench [--objects 2000] [--workers 32]``

2,000 custom objects are created at once (64 requests in flight); each controller - running
in its own process, watching its own namespace - writes one status field per object
(``status.reconciled = true``). Measured per controller: the time from the first create
until every object is seen reconciled (by an informer in the bench process), the
controller's peak RSS (``VmHWM`` from ``/proc``), and its CPU seconds. Both run in the same
run against the same API server, one after the other. Uses ``$KUBECONFIG`` when set, else
starts a ``LocalControlPlane``. JSON in ``bench/results/runtime.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from bench.report import table, write_json
from xeem.runtime import Manager, Request, Result, generation_changed
from xeem.runtime.client import Client
from xeem.runtime.informer import EventHandlerFuncs, Informer
from xeem.runtime.kube import AlreadyExistsError, NotFoundError, Transport
from xeem.runtime.resource import CUSTOM_RESOURCE_DEFINITION, NAMESPACE, Obj, ResourceType

BENCH = ResourceType("bench.xeem.io", "v1", "benchitems", "BenchItem")
ROOT = Path(__file__).resolve().parent.parent


def crd() -> Obj:
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "benchitems.bench.xeem.io"},
        "spec": {
            "group": "bench.xeem.io",
            "scope": "Namespaced",
            "names": {"plural": "benchitems", "singular": "benchitem", "kind": "BenchItem"},
            "versions": [
                {
                    "name": "v1",
                    "served": True,
                    "storage": True,
                    "subresources": {"status": {}},
                    "schema": {
                        "openAPIV3Schema": {
                            "type": "object",
                            "x-kubernetes-preserve-unknown-fields": True,
                        }
                    },
                }
            ],
        },
    }


# -- the xeem controller (run in its own process) ---------------------------------------------


async def serve_xeem(kubeconfig: str, namespace: str, workers: int) -> None:
    manager = await Manager.from_kubeconfig(kubeconfig, name="bench", namespace=namespace)
    client = manager.client

    async def reconcile(req: Request) -> Result:
        obj = await client.get(BENCH, req.name, req.namespace)
        if (obj.get("status") or {}).get("reconciled"):
            return Result()
        await client.patch_status(
            BENCH, req.name, {"status": {"reconciled": True}}, namespace=req.namespace
        )
        return Result()

    (
        manager.controller("bench")
        .for_(BENCH, generation_changed())
        .with_options(max_concurrent_reconciles=workers)
        .complete(reconcile)
    )
    manager.install_signal_handlers()
    await manager.start()


# -- the driver ----------------------------------------------------------------------------------


def proc_status(pid: int, field: str) -> int:
    """A ``kB`` field of /proc/<pid>/status (VmHWM, VmRSS), in kB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise KeyError(field)


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def ensure_crd(transport: Transport) -> None:
    with contextlib.suppress(AlreadyExistsError):
        await transport.request("POST", CUSTOM_RESOURCE_DEFINITION.path(), body=crd())
    for _ in range(600):
        try:
            await transport.request("GET", BENCH.path("default"))
            return
        except Exception:
            await asyncio.sleep(0.1)
    raise TimeoutError("CRD not served")


def controller_command(impl: str, kubeconfig: str, namespace: str, workers: int) -> list[str]:
    if impl == "xeem":
        return [
            sys.executable,
            "-m",
            "bench.runtime_bench",
            "--serve-xeem",
            kubeconfig,
            namespace,
            str(workers),
        ]
    return [
        sys.executable,
        "-m",
        "kopf",
        "run",
        "--standalone",
        "--quiet",
        f"--namespace={namespace}",
        str(ROOT / "bench" / "kopf_operator.py"),
    ]


async def run_one(
    impl: str, kubeconfig: str, transport: Transport, objects: int, workers: int, log_dir: Path
) -> dict[str, Any]:
    client = Client(transport)
    namespace = f"bench-{impl}-{uuid.uuid4().hex[:6]}"
    await client.create(NAMESPACE, {"metadata": {"name": namespace}})
    log_path = log_dir / f"{impl}.log"
    env = {**os.environ, "KUBECONFIG": kubeconfig, "PYTHONPATH": str(ROOT)}
    with log_path.open("wb") as log:
        proc = await asyncio.create_subprocess_exec(
            *controller_command(impl, kubeconfig, namespace, workers),
            stdout=log,
            stderr=asyncio.subprocess.STDOUT,
            env=env,
            cwd=str(ROOT),
        )
    try:
        reconciled: set[str] = set()
        done = asyncio.Event()
        finished_at = 0.0

        def seen(obj: Obj) -> None:
            nonlocal finished_at
            name = obj["metadata"]["name"]
            if (obj.get("status") or {}).get("reconciled") and name.startswith("item-"):
                reconciled.add(name)
                if len(reconciled) == objects and not done.is_set():
                    finished_at = time.monotonic()
                    done.set()

        watcher = Informer(transport, BENCH, namespace=namespace)
        watcher.add_event_handler(EventHandlerFuncs(add=seen, update=lambda _old, new: seen(new)))
        watch_task = asyncio.create_task(watcher.run())
        await watcher.wait_for_sync(60)

        # ready = the controller reconciled a probe object
        await client.create(BENCH, {"metadata": {"name": "probe"}, "spec": {}}, namespace=namespace)
        ready_began = time.monotonic()
        while not (watcher.get("probe", namespace) or {}).get("status", {}).get("reconciled"):
            if proc.returncode is not None:
                raise RuntimeError(f"{impl} controller exited; see {log_path}")
            if time.monotonic() - ready_began > 120:
                raise TimeoutError(f"{impl} controller not ready; see {log_path}")
            await asyncio.sleep(0.05)
        rss_idle_kib = proc_status(proc.pid, "VmRSS")
        cpu_before = cpu_seconds(proc.pid)

        semaphore = asyncio.Semaphore(64)

        async def create(i: int) -> None:
            async with semaphore:
                await client.create(
                    BENCH,
                    {"metadata": {"name": f"item-{i:05d}"}, "spec": {"index": i}},
                    namespace=namespace,
                )

        began = time.monotonic()
        await asyncio.gather(*(create(i) for i in range(objects)))
        created_at = time.monotonic()
        await asyncio.wait_for(done.wait(), 1800)
        elapsed = finished_at - began
        result = {
            "controller": impl,
            "objects": objects,
            "seconds": round(elapsed, 3),
            "objects_per_second": round(objects / elapsed, 1),
            "create_seconds": round(created_at - began, 3),
            "tail_seconds": round(max(0.0, finished_at - created_at), 3),
            "peak_rss_mib": round(proc_status(proc.pid, "VmHWM") / 1024, 1),
            "idle_rss_mib": round(rss_idle_kib / 1024, 1),
            "cpu_seconds": round(cpu_seconds(proc.pid) - cpu_before, 2),
        }
        watch_task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watch_task
        return result
    finally:
        if proc.returncode is None:
            proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(proc.wait(), 20)
            except TimeoutError:
                proc.kill()
                await proc.wait()
        await client.delete(NAMESPACE, namespace, ignore_not_found=True)
        await wait_deleted(client, namespace)


async def wait_deleted(client: Client, namespace: str, timeout: float = 600) -> None:
    """Wait until the namespace (and so its objects) is gone: the next run must not share
    the API server with the garbage collection of this one."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            await client.get(NAMESPACE, namespace)
        except NotFoundError:
            return
        await asyncio.sleep(0.5)
    raise TimeoutError(f"namespace {namespace} not deleted in {timeout}s")


async def bench(objects: int, workers: int, impls: list[str]) -> dict[str, Any]:
    kubeconfig = os.environ.get("KUBECONFIG")
    cp = None
    if not kubeconfig:
        from xeem.testing import LocalControlPlane

        cp = LocalControlPlane()
        await cp.start()
        kubeconfig = str(cp.kubeconfig_path)
    try:
        transport = await Transport.from_kubeconfig(kubeconfig)
        try:
            await ensure_crd(transport)
            with tempfile.TemporaryDirectory(prefix="xeem-runtime-bench-") as tmp:
                rows = [
                    await run_one(impl, kubeconfig, transport, objects, workers, Path(tmp))
                    for impl in impls
                ]
        finally:
            await transport.close()
    finally:
        if cp is not None:
            await cp.stop()
    by = {r["controller"]: r for r in rows}
    summary: dict[str, Any] = {}
    if "xeem" in by and "kopf" in by:
        summary = {
            "speedup_vs_kopf": round(by["kopf"]["seconds"] / by["xeem"]["seconds"], 2),
            "peak_rss_ratio_vs_kopf": round(
                by["xeem"]["peak_rss_mib"] / by["kopf"]["peak_rss_mib"], 2
            ),
        }
    return {
        "benchmark": "runtime",
        "command": "python -m bench.runtime_bench",
        "objects": objects,
        "xeem_workers": workers,
        "cluster": "KUBECONFIG" if cp is None else "LocalControlPlane",
        "cpus": os.cpu_count(),
        "results": rows,
        **summary,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--objects", type=int, default=2000)
    parser.add_argument("--workers", type=int, default=32, help="xeem reconcile workers")
    parser.add_argument("--only", choices=["xeem", "kopf"], help="run one controller")
    parser.add_argument("--serve-xeem", nargs=3, metavar=("KUBECONFIG", "NAMESPACE", "WORKERS"))
    args = parser.parse_args(argv)
    if args.serve_xeem:
        kubeconfig, namespace, workers = args.serve_xeem
        asyncio.run(serve_xeem(kubeconfig, namespace, int(workers)))
        return
    impls = [args.only] if args.only else ["xeem", "kopf"]
    payload = asyncio.run(bench(args.objects, args.workers, impls))
    path = write_json("runtime", payload)
    columns = [
        "controller",
        "objects",
        "seconds",
        "objects_per_second",
        "create_seconds",
        "tail_seconds",
        "peak_rss_mib",
        "idle_rss_mib",
        "cpu_seconds",
    ]
    print(table(payload["results"], columns))
    if "speedup_vs_kopf" in payload:
        print(
            f"xeem is {payload['speedup_vs_kopf']}x kopf's speed at "
            f"{payload['peak_rss_ratio_vs_kopf']}x its peak memory"
        )
    print(f"results: {path}")


if __name__ == "__main__":
    main()
