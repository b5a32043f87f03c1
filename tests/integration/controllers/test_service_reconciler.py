"""The Service reconciler on a real control plane: Services applied by hand, run in-process."""

from __future__ import annotations

from typing import Any

import pytest

from tests.integration.controllers.conftest import WaitFor
from tests.integration.runtime.rt_helpers import eventually
from tests.kube import Kubectl, apply, get_json
from xeem.controllers.children import about_key, warning_events_about
from xeem.runtime.manager import Manager
from xeem.runtime.resource import EVENT

pytestmark = pytest.mark.integration


def service(
    name: str,
    replicas: int = 1,
    *,
    ports: list[dict[str, Any]] | None = None,
    node_selector: dict[str, str] | None = None,
    inputs: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    pod_spec: dict[str, Any] = {
        "containers": [{"name": "main", "image": "nginx:1.27", "args": ["$(inputs.mode)"]}]
    }
    if node_selector:
        pod_spec["nodeSelector"] = node_selector
    spec: dict[str, Any] = {
        "deployment": {"replicas": replicas, "template": {"spec": pod_spec}},
        "inputs": inputs or [{"name": "mode", "value": {"string": "serve"}}],
        "annotations": {"team": "web"},
    }
    if ports:
        spec["service"] = {"ports": ports}
    return {
        "apiVersion": "xeem.io/v1alpha1",
        "kind": "Service",
        "metadata": {"name": name, "labels": {"xeem.io/workflow": "wf"}},
        "spec": spec,
    }


def controlled_by(obj: dict[str, Any], owner: dict[str, Any]) -> bool:
    refs = obj["metadata"].get("ownerReferences") or []
    return any(r.get("controller") and r["uid"] == owner["metadata"]["uid"] for r in refs)


HTTP = [{"name": "http", "port": 80, "targetPort": 8080}]


async def test_two_replicas_with_ports_become_ready_with_owned_children(
    controllers: Manager, kubectl: Kubectl, namespace: str, wait_for: WaitFor
) -> None:
    await apply(kubectl, namespace, service("web", 2, ports=HTTP))
    ready = await wait_for("xsvc/web", phase="Ready")
    status = ready["status"]
    assert status["ready"] == "2/2"
    assert status["deploymentRef"] == {"name": "web"}
    assert status["serviceRef"] == {"name": "web"}
    assert status["observedGeneration"] == ready["metadata"]["generation"]
    assert {c["type"]: c["status"] for c in status["conditions"]} == {
        "Available": "True",
        "Progressing": "False",
    }

    deployment = await get_json(kubectl, namespace, "deployment/web")
    assert controlled_by(deployment, ready)
    assert deployment["spec"]["selector"] == {"matchLabels": {"xeem.io/service": "web"}}
    template = deployment["spec"]["template"]
    assert template["metadata"]["labels"] == {"xeem.io/service": "web", "xeem.io/workflow": "wf"}
    assert template["metadata"]["annotations"] == {"team": "web"}
    [container] = template["spec"]["containers"]
    assert container["args"] == ["serve"]
    assert {"name": "XEEM_INPUT_MODE", "value": "serve"} in container["env"]

    core = await get_json(kubectl, namespace, "service/web")
    assert controlled_by(core, ready)
    assert core["spec"]["selector"] == {"xeem.io/service": "web"}
    [port] = core["spec"]["ports"]
    assert (port["name"], port["port"], port["targetPort"]) == ("http", 80, 8080)


async def test_spec_changes_roll_out_and_removing_ports_deletes_the_core_service(
    controllers: Manager, kubectl: Kubectl, namespace: str, wait_for: WaitFor
) -> None:
    await apply(kubectl, namespace, service("api", 1, ports=HTTP))
    first = await wait_for("xsvc/api", phase="Ready")
    cluster_ip = (await get_json(kubectl, namespace, "service/api"))["spec"]["clusterIP"]

    two_ports = [*HTTP, {"name": "metrics", "port": 9090}]
    await apply(kubectl, namespace, service("api", 3, ports=two_ports))
    await wait_for(
        "xsvc/api",
        lambda s: (
            s["status"]["ready"] == "3/3"
            and s["status"]["observedGeneration"] > first["metadata"]["generation"]
        ),
        phase="Ready",
    )
    core = await get_json(kubectl, namespace, "service/api")
    assert core["spec"]["clusterIP"] == cluster_ip
    assert [p["name"] for p in core["spec"]["ports"]] == ["http", "metrics"]

    await apply(kubectl, namespace, service("api", 3))
    code, _, err = await kubectl(
        "wait", "-n", namespace, "--for=delete", "service/api", "--timeout=60s"
    )
    assert code == 0, err
    ready = await wait_for("xsvc/api", lambda s: "serviceRef" not in s["status"], phase="Ready")
    assert ready["status"]["deploymentRef"] == {"name": "api"}


async def test_unschedulable_pods_keep_the_service_progressing_with_the_reason(
    controllers: Manager, kubectl: Kubectl, namespace: str, wait_for: WaitFor
) -> None:
    await apply(kubectl, namespace, service("stuck", 2, node_selector={"xeem.io/none": "x"}))
    stuck = await wait_for(
        "xsvc/stuck", lambda s: "FailedScheduling" in s["status"]["message"], phase="Progressing"
    )
    assert stuck["status"]["reason"] == "FailedScheduling"
    assert stuck["status"]["ready"] == "0/2"
    again = await get_json(kubectl, namespace, "xsvc/stuck")
    assert again["status"]["phase"] == "Progressing"


async def test_a_core_service_the_api_rejects_fails_the_service(
    controllers: Manager, kubectl: Kubectl, namespace: str, wait_for: WaitFor
) -> None:
    unnamed = [{"port": 80}, {"port": 81}]
    await apply(kubectl, namespace, service("twoports", 1, ports=unnamed))
    failed = await wait_for("xsvc/twoports", phase="Failed")
    assert failed["status"]["reason"] == "InvalidSpec"
    assert "rejected by the API server" in failed["status"]["message"]
    assert "spec.ports[0].name" in failed["status"]["message"]


async def test_a_pod_quota_shows_as_failed_create_while_progressing(
    controllers: Manager, kubectl: Kubectl, namespace: str, wait_for: WaitFor
) -> None:
    quota = {
        "apiVersion": "v1",
        "kind": "ResourceQuota",
        "metadata": {"name": "one-pod"},
        "spec": {"hard": {"pods": "1"}},
    }
    await apply(kubectl, namespace, quota)
    await wait_for("resourcequota/one-pod", lambda q: "hard" in (q.get("status") or {}))
    await apply(kubectl, namespace, service("crowded", 2))
    crowded = await wait_for(
        "xsvc/crowded", lambda s: "FailedCreate" in s["status"]["message"], phase="Progressing"
    )
    assert "exceeded quota" in crowded["status"]["message"]
    assert crowded["status"]["reason"] == "FailedCreate"
    # the ReplicaSet's Warning events reach the cache, filed under the Deployment
    events = controllers.informers[EVENT]
    key = about_key(namespace, "Deployment", "crowded")
    await eventually(
        lambda: any(e["reason"] == "FailedCreate" for e in warning_events_about(events, [key])),
        what="a cached FailedCreate event filed under the Deployment",
    )
