"""A manager with leader election in its own process (the leader the test kills).

Usage: python le_worker.py KUBECONFIG NAMESPACE IDENTITY LEASE RENEW RETRY
Reconciles widgets in NAMESPACE by writing ``status.reconciledBy = IDENTITY``.
"""

from __future__ import annotations

import asyncio
import sys

from prometheus_client import CollectorRegistry

from xeem.runtime import LeaderElectionConfig, Manager, Request, ResourceType, Result

WIDGET = ResourceType("rt.xeem.io", "v1", "widgets", "Widget")


async def main(
    kubeconfig: str, namespace: str, identity: str, lease: float, renew: float, retry: float
) -> None:
    manager = await Manager.from_kubeconfig(
        kubeconfig,
        name=f"le-{identity}",
        namespace=namespace,
        registry=CollectorRegistry(),
        leader_election=LeaderElectionConfig(
            lease_name="le-test",
            lease_namespace=namespace,
            identity=identity,
            lease_duration=lease,
            renew_deadline=renew,
            retry_period=retry,
        ),
    )

    async def reconcile(req: Request) -> Result:
        await manager.client.patch_status(
            WIDGET, req.name, {"status": {"reconciledBy": identity}}, namespace=req.namespace
        )
        return Result()

    manager.controller("widget").for_(WIDGET).complete(reconcile)
    manager.install_signal_handlers()
    await manager.start()


if __name__ == "__main__":
    a = sys.argv[1:]
    asyncio.run(main(a[0], a[1], a[2], float(a[3]), float(a[4]), float(a[5])))
