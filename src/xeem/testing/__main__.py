"""``python -m xeem.testing`` (``make run``): xeem on a local control plane, live.

Starts the local control plane, installs the CRDs, starts the xeem controller, applies a
sample workflow and prints its nodes' progress until it finishes; then everything stays
up until Ctrl-C, with the kubectl line to use the cluster. ``--controlplane-only`` skips
the controller and the sample.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
from pathlib import Path

import yaml

from xeem.testing.controller import XeemController, install_crds, run_kubectl
from xeem.testing.controlplane import ControlPlaneConfig, LocalControlPlane
from xeem.testing.progress import follow_workflow

DEFAULT_SAMPLE = Path("config/samples/pipeline.yaml")


async def _run_sample(cp: LocalControlPlane, manifest: str) -> str:
    kubectl, kubeconfig = cp.binary("kubectl"), str(cp.kubeconfig_path)
    name = yaml.safe_load(manifest)["metadata"]["name"]
    await run_kubectl(kubectl, kubeconfig, "apply", "-n", "default", "-f", "-", stdin=manifest)
    print(f"applied workflow default/{name}", flush=True)
    return await follow_workflow(cp.admin, "default", name, out=lambda s: print(s, flush=True))


async def serve(config: ControlPlaneConfig, sample: str | None) -> None:
    """Run until Ctrl-C; ``sample`` is the manifest of the workflow to run (None: none)."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with LocalControlPlane(config) as cp:
        kubectl = cp.binary("kubectl")
        print(f"local control plane ready in {cp.startup_seconds:.1f}s", flush=True)
        controller = None
        if sample is not None:
            await install_crds(kubectl, str(cp.kubeconfig_path))
            controller = XeemController(str(cp.kubeconfig_path), cp.log_dir, "--log-format=json")
            await controller.start()
            print(f"xeem controller running (log: {controller.log_path})", flush=True)
            await _run_sample(cp, sample)
        print(f"\nkubeconfig: {cp.kubeconfig_path}")
        print(f"  {kubectl} --kubeconfig {cp.kubeconfig_path} get xeem,nodes -A")
        print("press Ctrl-C to stop", flush=True)
        while not stop.is_set():
            cp.check_processes()
            if controller is not None:
                controller.process.check()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 1.0)
        if controller is not None:
            await controller.stop()
    print("stopped")


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m xeem.testing", description=__doc__)
    parser.add_argument("--nodes", type=int, default=3, help="fake nodes to create (default 3)")
    parser.add_argument(
        "--job-pod-seconds",
        type=float,
        default=1.0,
        help="how long a Job's pod runs before kwok completes it (default 1.0)",
    )
    parser.add_argument(
        "--sample", type=Path, default=DEFAULT_SAMPLE, help=f"workflow to run ({DEFAULT_SAMPLE})"
    )
    parser.add_argument(
        "--controlplane-only", action="store_true", help="no controller, no sample workflow"
    )
    args = parser.parse_args()
    config = ControlPlaneConfig(nodes=args.nodes, job_pod_seconds=args.job_pod_seconds)
    sample = None if args.controlplane_only else args.sample.read_text()
    asyncio.run(serve(config, sample))


if __name__ == "__main__":
    main()
