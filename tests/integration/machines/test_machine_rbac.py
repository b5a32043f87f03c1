"""The machine controllers run with exactly the ClusterRole in config/rbac/role.yaml."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.integration.machines.machine_helpers import (
    delete_type,
    group,
    group_in_phase,
    machine_type,
    persistent_volume,
    release_all,
    running,
)
from tests.kube import Kubectl
from xeem.controllers.kinds import VIRTUAL_MACHINE_GROUP, VIRTUAL_MACHINE_TYPE
from xeem.runtime.client import Client
from xeem.runtime.resource import PERSISTENT_VOLUME
from xeem.testing import LocalControlPlane

pytestmark = pytest.mark.integration

ROLE = Path(__file__).resolve().parents[3] / "config" / "rbac" / "role.yaml"


async def test_the_cluster_role_is_enough(
    api: Client, control_plane: LocalControlPlane | None, kubectl: Kubectl, namespace: str
) -> None:
    if control_plane is None:
        pytest.skip("needs the local control plane to issue a user certificate")
    user = f"machines-{namespace}"
    code, _, err = await kubectl("apply", "--server-side", "-f", str(ROLE))
    assert code == 0, err
    code, _, err = await kubectl(
        "create", "clusterrolebinding", user, "--clusterrole=xeem-controller", f"--user={user}"
    )
    assert code == 0, err
    kubeconfig = str(control_plane.user_kubeconfig(user))
    type_name, storage_class, pv = f"rbac-{namespace}", f"sc-{namespace}", f"{namespace}-pv"
    await api.create(VIRTUAL_MACHINE_TYPE, machine_type(type_name))
    await api.create(PERSISTENT_VOLUME, persistent_volume(pv, storage_class))
    xbses = [{"name": "d", "sizeGB": 1, "storageClassName": storage_class, "mountPath": "/d"}]
    try:
        async with running(kubeconfig, namespace):
            await api.create(
                VIRTUAL_MACHINE_GROUP, group("r", 1, type_name, xbses), namespace=namespace
            )
            await group_in_phase(api, namespace, "r", "Ready")
            await release_all(api, namespace, pvs=[pv])
    finally:
        await delete_type(api, type_name)
        await kubectl("delete", "clusterrolebinding", user)
