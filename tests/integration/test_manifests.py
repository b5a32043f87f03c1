"""The install manifests: ``config/default`` rendered with the real ``kubectl kustomize``.

The controller Deployment in it is checked for the hardening DESIGN asks for and for args
the controller actually accepts; RBAC subjects and roles line up.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "config"
NAMESPACE = "xeem-system"


@pytest.fixture(scope="module")
def rendered(kubectl_binary: str) -> list[dict[str, Any]]:
    """The objects of ``kubectl kustomize config/default``."""
    proc = subprocess.run(
        [kubectl_binary, "kustomize", str(CONFIG / "default")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, f"kubectl kustomize config/default failed:\n{proc.stderr}"
    return [d for d in yaml.safe_load_all(proc.stdout) if d]


def find(objs: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    found = [o for o in objs if o["kind"] == kind and o["metadata"]["name"] == name]
    assert len(found) == 1, f"want exactly one {kind}/{name}, got {len(found)}"
    return found[0]


def test_default_installs_crds_rbac_and_the_controller(rendered: list[dict[str, Any]]) -> None:
    crds = {o["metadata"]["name"] for o in rendered if o["kind"] == "CustomResourceDefinition"}
    assert {"workflows.xeem.io", "tasks.xeem.io", "services.xeem.io"} <= crds
    find(rendered, "Namespace", NAMESPACE)
    find(rendered, "ClusterRole", "xeem-controller")
    find(rendered, "Deployment", "xeem-controller")
    cluster_scoped = {"Namespace", "CustomResourceDefinition", "ClusterRole", "ClusterRoleBinding"}
    for o in rendered:
        if o["kind"] not in cluster_scoped:
            assert o["metadata"].get("namespace") == NAMESPACE, o["metadata"]["name"]


def test_controller_deployment_is_hardened(rendered: list[dict[str, Any]]) -> None:
    deploy = find(rendered, "Deployment", "xeem-controller")
    pod = deploy["spec"]["template"]["spec"]
    (c,) = pod["containers"]
    assert c["image"] == "xeem-controller:latest"
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    sc = c["securityContext"]
    assert sc["runAsNonRoot"] is True
    assert sc["readOnlyRootFilesystem"] is True
    assert sc["allowPrivilegeEscalation"] is False
    assert sc["capabilities"] == {"drop": ["ALL"]}
    assert sc["seccompProfile"] == {"type": "RuntimeDefault"}
    assert c["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": 8081}
    assert c["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": 8081}
    for kind in ("requests", "limits"):
        assert set(c["resources"][kind]) == {"cpu", "memory"}, kind
    assert c["args"] == [
        "--leader-elect",
        "--metrics-bind-address=:8080",
        "--health-probe-bind-address=:8081",
    ]


def test_controller_args_are_accepted_and_match_the_manifests(
    rendered: list[dict[str, Any]],
) -> None:
    from xeem_controller.__main__ import parse_args  # the real flag parser of the binary

    deploy = find(rendered, "Deployment", "xeem-controller")
    (c,) = deploy["spec"]["template"]["spec"]["containers"]
    args = parse_args(c["args"])
    assert args.leader_elect is True
    # the leader-election Role grants exactly the Lease the controller uses
    role = find(rendered, "Role", "xeem-leader-election")
    assert role["metadata"]["namespace"] == args.leader_election_namespace
    named = [r for r in role["rules"] if r.get("resourceNames")]
    assert [r["resourceNames"] for r in named] == [[args.leader_election_id]]
    # the probes and the metrics Service point at the ports the flags bind
    ports = {p["name"]: p["containerPort"] for p in c["ports"]}
    assert args.metrics_bind_address == f":{ports['metrics']}"
    assert args.health_probe_bind_address == f":{c['livenessProbe']['httpGet']['port']}"
    svc = find(rendered, "Service", "xeem-controller-metrics")
    assert svc["spec"]["ports"][0]["targetPort"] == "metrics"
    labels = deploy["spec"]["template"]["metadata"]["labels"]
    assert svc["spec"]["selector"].items() <= labels.items()


def test_controller_identity_is_bound(rendered: list[dict[str, Any]]) -> None:
    deploy = find(rendered, "Deployment", "xeem-controller")
    account = deploy["spec"]["template"]["spec"]["serviceAccountName"]
    assert account == "xeem-controller"
    find(rendered, "ServiceAccount", account)
    subject = {"kind": "ServiceAccount", "name": account, "namespace": NAMESPACE}
    crb = find(rendered, "ClusterRoleBinding", "xeem-controller")
    assert crb["roleRef"] == {
        "apiGroup": "rbac.authorization.k8s.io",
        "kind": "ClusterRole",
        "name": "xeem-controller",
    }
    assert crb["subjects"] == [subject]
    rb = find(rendered, "RoleBinding", "xeem-leader-election")
    assert rb["roleRef"]["name"] == "xeem-leader-election"
    assert rb["subjects"] == [subject]
