"""End-to-end fixtures: the CRDs installed and the real controller running as a process.

The controller authenticates as the ServiceAccount ``xeem-system/xeem-controller`` bound
only to ``config/rbac`` (a token from the TokenRequest API), never as cluster admin, so
every e2e test also proves the RBAC manifests are enough.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
import yaml

from tests.conftest import keep_logs
from tests.kube import Kubectl
from xeem.testing.controller import XeemController, install_crds

REPO = Path(__file__).resolve().parents[2]
CONTROLLER_NAMESPACE = "xeem-system"
CONTROLLER_ACCOUNT = "xeem-controller"


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def crds(kubectl_binary: str, kubeconfig: str) -> list[str]:
    """The xeem CRDs, installed from the models (what `make manifests` writes)."""
    return await install_crds(kubectl_binary, kubeconfig)


async def _must(kubectl: Kubectl, *args: str, input: str | None = None) -> str:
    code, out, err = await kubectl(*args, input=input)
    assert code == 0, f"kubectl {' '.join(args)}: {err}"
    return out


def write_token_kubeconfig(admin_kubeconfig: Path, token: str, path: Path) -> None:
    """A kubeconfig for the admin's cluster that authenticates with ``token``."""
    admin = yaml.safe_load(admin_kubeconfig.read_text())
    context = next(c["context"] for c in admin["contexts"] if c["name"] == admin["current-context"])
    cluster = next(c for c in admin["clusters"] if c["name"] == context["cluster"])
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [cluster],
        "users": [{"name": CONTROLLER_ACCOUNT, "user": {"token": token}}],
        "contexts": [
            {"name": "xeem", "context": {"cluster": cluster["name"], "user": CONTROLLER_ACCOUNT}}
        ],
        "current-context": "xeem",
    }
    path.write_text(yaml.safe_dump(config))


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def controller_kubeconfig(
    kubectl: Kubectl, kubeconfig: str, tmp_path_factory: pytest.TempPathFactory
) -> str:
    """A kubeconfig for the controller's ServiceAccount, bound only to config/rbac."""
    await kubectl("create", "namespace", CONTROLLER_NAMESPACE)
    rbac = await _must(kubectl, "kustomize", str(REPO / "config" / "rbac"))
    await _must(kubectl, "apply", "-f", "-", input=rbac)
    token = await _must(
        kubectl,
        "create",
        "token",
        CONTROLLER_ACCOUNT,
        "-n",
        CONTROLLER_NAMESPACE,
        "--duration=6h",
    )
    path = tmp_path_factory.mktemp("controller") / "kubeconfig"
    write_token_kubeconfig(Path(kubeconfig), token.strip(), path)
    return str(path)


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def controller(
    crds: list[str],
    controller_kubeconfig: str,
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[XeemController]:
    """The xeem controller, running for the whole e2e session."""
    log_dir = tmp_path_factory.mktemp("controller-logs")
    process = XeemController(controller_kubeconfig, log_dir, "--log-format=json")
    await process.start()
    try:
        yield process
    finally:
        await process.stop()
        if request.session.testsfailed:
            keep_logs(request.config, log_dir)
