"""``xeem-controller`` / ``python -m xeem_controller``: run xeem's controllers.

Flags only: everything the controller does lives in the ``xeem`` library.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Sequence

from xeem.controllers import ControllerOptions, setup_controllers
from xeem.controllers.machines import MachineControllerOptions
from xeem.engine import CsiXMount, NfsXMount, XMountRenderer
from xeem.providers import DEFAULT_PROVIDERS
from xeem.runtime.leader_election import LeaderElectionConfig
from xeem.runtime.manager import Manager
from xeem_controller.logging import configure_logging


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="xeem-controller",
        description="Runs the xeem controllers: Workflow, Task and Service (xeem.io/v1alpha1).",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    add = parser.add_argument
    add(
        "--kubeconfig",
        help="path to a kubeconfig; without it, $KUBECONFIG, then the in-cluster "
        "service account, then ~/.kube/config",
    )
    add("--context", help="kubeconfig context to use (default: its current context)")
    add("--namespace", help="watch only this namespace (default: all namespaces)")
    add("--workers", type=int, default=8, help="concurrent reconciles per controller")
    add(
        "--metrics-bind-address",
        default=":8080",
        help="host:port of the Prometheus /metrics endpoint; 0 disables it",
    )
    add(
        "--health-probe-bind-address",
        default=":8081",
        help="host:port of /healthz and /readyz; 0 disables them",
    )
    add(
        "--leader-elect",
        action=argparse.BooleanOptionalAction,
        default=False,
        help="elect a leader on a coordination.k8s.io Lease so only one replica reconciles",
    )
    add("--leader-election-namespace", default="xeem-system", help="namespace of the Lease")
    add("--leader-election-id", default="xeem-controller", help="name of the Lease")
    add("--log-level", default="info", choices=["debug", "info", "warning", "error"])
    add("--log-format", default="json", choices=["json", "console"], help="log line format")
    add(
        "--xmount-driver",
        default="nfs",
        choices=["nfs", "csi"],
        help="how an xMount input becomes a pod volume: an nfs volume (server = host of "
        "serverAddr, path = /<mountID>) or a CSI inline volume",
    )
    add(
        "--xmount-csi-driver",
        default="xfs.csi.xeem.io",
        help="CSI driver name used when --xmount-driver=csi",
    )
    add(
        "--machine-providers",
        default=",".join(DEFAULT_PROVIDERS),
        help="comma-separated machine providers to enable (kwok, nodepool, kubevirt; "
        "kubevirt needs KubeVirt's CRDs in the cluster)",
    )
    return parser.parse_args(argv)


def _xmount(args: argparse.Namespace) -> XMountRenderer:
    if args.xmount_driver == "csi":
        return CsiXMount(driver=args.xmount_csi_driver)
    return NfsXMount()


def _bind(address: str) -> str | None:
    return None if address in ("0", "") else address


async def run(args: argparse.Namespace) -> None:
    leader_election = (
        LeaderElectionConfig(
            lease_name=args.leader_election_id, lease_namespace=args.leader_election_namespace
        )
        if args.leader_elect
        else None
    )
    manager = await Manager.from_kubeconfig(
        args.kubeconfig,
        context=args.context,
        name="xeem-controller",
        namespace=args.namespace,
        leader_election=leader_election,
        health_bind=_bind(args.health_probe_bind_address),
        metrics_bind=_bind(args.metrics_bind_address),
    )
    setup_controllers(
        manager,
        ControllerOptions(
            workers=args.workers,
            xmount=_xmount(args),
            machines=MachineControllerOptions(
                workers=args.workers, providers=tuple(args.machine_providers.split(","))
            ),
        ),
    )
    manager.install_signal_handlers()
    await manager.start()


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    configure_logging(args.log_level, args.log_format)
    asyncio.run(run(args))


if __name__ == "__main__":
    main()
