"""``python -m xeem.testing``: run the local control plane until Ctrl-C.

Prints the kubeconfig path and a ready-to-paste kubectl line once the cluster is ready.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal

from xeem.testing.controlplane import ControlPlaneConfig, LocalControlPlane


async def serve(config: ControlPlaneConfig) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with LocalControlPlane(config) as cp:
        kubectl = cp.binary("kubectl")
        print(f"local control plane ready in {cp.startup_seconds:.1f}s", flush=True)
        print(f"kubeconfig: {cp.kubeconfig_path}")
        print(f"  {kubectl} --kubeconfig {cp.kubeconfig_path} get nodes")
        print("press Ctrl-C to stop", flush=True)
        while not stop.is_set():
            cp.check_processes()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 1.0)
    print("local control plane stopped")


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m xeem.testing", description=__doc__)
    parser.add_argument("--nodes", type=int, default=3, help="fake nodes to create (default 3)")
    parser.add_argument(
        "--job-pod-seconds",
        type=float,
        default=1.0,
        help="how long a Job's pod runs before kwok completes it (default 1.0)",
    )
    args = parser.parse_args()
    asyncio.run(serve(ControlPlaneConfig(nodes=args.nodes, job_pod_seconds=args.job_pod_seconds)))


if __name__ == "__main__":
    main()
