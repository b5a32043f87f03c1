"""The session's cluster is a real Kubernetes: real API semantics, real controllers.

Every workload here also runs on kind: the containers really do what kwok simulates
(``true`` succeeds, ``exit 3`` fails), so the same assertions hold on both.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from tests.kube import Kubectl, apply, get_json
from xeem.testing import LocalControlPlane
from xeem.testing.kwok import FAIL_EXIT_CODE_ANNOTATION, FAIL_LABEL, FAIL_REASON_ANNOTATION

pytestmark = pytest.mark.integration

WAIT = "--timeout=60s"


def job(
    name: str,
    command: str,
    pod_labels: dict[str, str] | None = None,
    pod_annotations: dict[str, str] | None = None,
) -> dict[str, Any]:
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": name},
        "spec": {
            "backoffLimit": 0,
            "template": {
                "metadata": {"labels": pod_labels or {}, "annotations": pod_annotations or {}},
                "spec": {
                    "restartPolicy": "Never",
                    "containers": [
                        {"name": "main", "image": "busybox:1.36", "command": ["sh", "-c", command]}
                    ],
                },
            },
        },
    }


async def test_version_is_the_pinned_kubernetes(
    control_plane: LocalControlPlane | None, kubectl: Kubectl
) -> None:
    if control_plane is None:
        pytest.skip("the pinned version is a property of the local control plane only")
    code, out, err = await kubectl("version", "-o", "json")
    assert code == 0, err
    assert json.loads(out)["serverVersion"]["gitVersion"] == "v1.36.3"


async def test_crd_is_served_and_explained(kubectl: Kubectl, namespace: str) -> None:
    group = f"{namespace}.example.com"
    crd = {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"gadgets.{group}"},
        "spec": {
            "group": group,
            "scope": "Namespaced",
            "names": {"plural": "gadgets", "singular": "gadget", "kind": "Gadget"},
            "versions": [
                {
                    "name": "v1",
                    "served": True,
                    "storage": True,
                    "schema": {
                        "openAPIV3Schema": {
                            "type": "object",
                            "properties": {
                                "spec": {
                                    "type": "object",
                                    "description": "What the gadget should be.",
                                    "properties": {
                                        "color": {
                                            "type": "string",
                                            "description": "The gadget's paint colour.",
                                        }
                                    },
                                }
                            },
                        }
                    },
                }
            ],
        },
    }
    code, _, err = await kubectl("apply", "-f", "-", input=json.dumps(crd))
    assert code == 0, err
    try:
        code, _, err = await kubectl(
            "wait", "--for=condition=Established", f"crd/gadgets.{group}", WAIT
        )
        assert code == 0, err
        # The OpenAPI document of a new CRD is published a moment after it is Established.
        for _ in range(100):
            code, out, err = await kubectl("explain", f"gadgets.{group}.spec")
            if code == 0:
                break
            await asyncio.sleep(0.2)
        assert code == 0, err
        assert "color" in out
        assert "The gadget's paint colour." in out
    finally:
        await kubectl("delete", f"crd/gadgets.{group}", "--wait=false")


async def test_job_pod_completes_and_job_is_complete(kubectl: Kubectl, namespace: str) -> None:
    await apply(kubectl, namespace, job("ok", "true"))
    code, _, err = await kubectl(
        "wait", "-n", namespace, "--for=condition=Complete", "job/ok", WAIT
    )
    assert code == 0, err
    pods = await get_json(kubectl, namespace, "pods", "-l", "job-name=ok")
    [pod] = pods["items"]
    assert pod["status"]["phase"] == "Succeeded"
    assert pod["spec"]["nodeName"], "the real scheduler bound the pod to a node"


async def test_failing_pod_fails_the_job_with_backoff_limit_exceeded(
    kubectl: Kubectl, namespace: str
) -> None:
    failing = job(
        "boom",
        "exit 3",
        pod_labels={FAIL_LABEL: "true"},
        pod_annotations={FAIL_EXIT_CODE_ANNOTATION: "3", FAIL_REASON_ANNOTATION: "Error"},
    )
    await apply(kubectl, namespace, failing)
    code, _, err = await kubectl(
        "wait", "-n", namespace, "--for=condition=Failed", "job/boom", WAIT
    )
    assert code == 0, err
    status = (await get_json(kubectl, namespace, "job/boom"))["status"]
    failed = [c for c in status["conditions"] if c["type"] == "Failed"]
    assert failed[0]["reason"] == "BackoffLimitExceeded"
    pods = await get_json(kubectl, namespace, "pods", "-l", "job-name=boom")
    terminated = pods["items"][0]["status"]["containerStatuses"][0]["state"]["terminated"]
    assert terminated["exitCode"] == 3


async def test_three_replica_deployment_becomes_available(kubectl: Kubectl, namespace: str) -> None:
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web"},
        "spec": {
            "replicas": 3,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "web", "image": "nginx:1.27"}]},
            },
        },
    }
    await apply(kubectl, namespace, deployment)
    code, _, err = await kubectl(
        "wait", "-n", namespace, "--for=condition=Available", "deployment/web", WAIT
    )
    assert code == 0, err
    code, _, err = await kubectl(
        "wait", "-n", namespace, "--for=jsonpath={.status.readyReplicas}=3", "deployment/web", WAIT
    )
    assert code == 0, err


async def test_deleting_an_owner_deletes_its_children(kubectl: Kubectl, namespace: str) -> None:
    await apply(
        kubectl, namespace, {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "owner"}}
    )
    owner = await get_json(kubectl, namespace, "configmap/owner")
    child = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": "child",
            "ownerReferences": [
                {
                    "apiVersion": "v1",
                    "kind": "ConfigMap",
                    "name": "owner",
                    "uid": owner["metadata"]["uid"],
                    "controller": True,
                }
            ],
        },
    }
    await apply(kubectl, namespace, child)
    code, _, err = await kubectl("delete", "-n", namespace, "configmap/owner")
    assert code == 0, err
    code, _, err = await kubectl("wait", "-n", namespace, "--for=delete", "configmap/child", WAIT)
    assert code == 0, err


async def test_pvc_binds_to_a_precreated_pv(kubectl: Kubectl, namespace: str) -> None:
    storage_class = f"manual-{namespace}"
    pv = {
        "apiVersion": "v1",
        "kind": "PersistentVolume",
        "metadata": {"name": f"pv-{namespace}"},
        "spec": {
            "capacity": {"storage": "1Gi"},
            "accessModes": ["ReadWriteOnce"],
            "storageClassName": storage_class,
            "hostPath": {"path": f"/tmp/{namespace}"},
        },
    }
    pvc = {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {"name": "data"},
        "spec": {
            "accessModes": ["ReadWriteOnce"],
            "storageClassName": storage_class,
            "resources": {"requests": {"storage": "1Gi"}},
        },
    }
    code, _, err = await kubectl("apply", "-f", "-", input=json.dumps(pv))
    assert code == 0, err
    try:
        await apply(kubectl, namespace, pvc)
        code, _, err = await kubectl(
            "wait", "-n", namespace, "--for=jsonpath={.status.phase}=Bound", "pvc/data", WAIT
        )
        assert code == 0, err
        bound = await get_json(kubectl, namespace, "pvc/data")
        assert bound["spec"]["volumeName"] == f"pv-{namespace}"
    finally:
        await kubectl("delete", "-n", namespace, "pvc/data", "--wait=false")
        await kubectl("delete", f"pv/pv-{namespace}", "--wait=false")


async def test_rbac_limits_a_user(kubectl: Kubectl, namespace: str) -> None:
    user = f"reader-{namespace}"
    role = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "Role",
        "metadata": {"name": "pod-reader"},
        "rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list"]}],
    }
    binding = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "RoleBinding",
        "metadata": {"name": "pod-reader"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "pod-reader"},
        "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": user}],
    }
    await apply(kubectl, namespace, role, binding)
    code, _, err = await kubectl("get", "pods", "-n", namespace, f"--as={user}")
    assert code == 0, err
    code, _, err = await kubectl("get", "secrets", "-n", namespace, f"--as={user}")
    assert code != 0
    assert "forbidden" in err.lower()
    code, _, err = await kubectl("get", "pods", "-n", "default", f"--as={user}")
    assert code != 0
    assert "forbidden" in err.lower()


async def test_user_with_client_certificate_is_authenticated_and_limited(
    control_plane: LocalControlPlane | None, kubectl_binary: str, namespace: str
) -> None:
    if control_plane is None:
        pytest.skip("client certificates are issued by the local control plane's CA")
    config = control_plane.user_kubeconfig(f"stranger-{namespace}")
    process = await asyncio.create_subprocess_exec(
        kubectl_binary,
        f"--kubeconfig={config}",
        "get",
        "pods",
        "-n",
        namespace,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    _, err = await process.communicate()
    assert process.returncode != 0
    assert f'User "stranger-{namespace}" cannot list resource "pods"' in err.decode()
