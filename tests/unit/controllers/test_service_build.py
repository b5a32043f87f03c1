"""Building a Service's Deployment and core Service (pure), and mapping pod and Warning
event changes back to Services."""

from __future__ import annotations

from typing import Any

import pytest

from xeem.controllers.children import (
    EVENT_INDEX,
    SPEC_HASH_ANNOTATION,
    index_event_about,
    replica_set_deployment,
    spec_hash,
    warning_events_about,
)
from xeem.controllers.service import (
    _service_of_event,
    _service_of_pod,
    build_core_service,
    build_deployment,
)
from xeem.engine import NfsXMount
from xeem.runtime.informer import Informer
from xeem.runtime.reconcile import Request
from xeem.runtime.resource import DEPLOYMENT, EVENT, POD

pytestmark = pytest.mark.unit


def service(ports: list[dict[str, Any]] | None = None, replicas: int = 2) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "deployment": {
            "replicas": replicas,
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "web", "image": "nginx:$(inputs.tag)"}]},
            },
        },
        "inputs": [{"name": "tag", "value": {"string": "1.27"}}],
        "annotations": {"team": "web"},
    }
    if ports is not None:
        spec["service"] = {"ports": ports}
    return {
        "apiVersion": "xeem.io/v1alpha1",
        "kind": "Service",
        "metadata": {
            "name": "web",
            "namespace": "prod",
            "uid": "svc-uid",
            "labels": {"xeem.io/workflow": "wf", "other": "x"},
        },
        "spec": spec,
    }


def test_the_deployment_selects_by_service_name_only_and_labels_its_pods() -> None:
    deployment = build_deployment(service(), NfsXMount())
    assert deployment["metadata"]["name"] == "web"
    assert deployment["metadata"]["ownerReferences"][0]["uid"] == "svc-uid"
    assert deployment["spec"]["selector"] == {"matchLabels": {"xeem.io/service": "web"}}
    assert deployment["spec"]["replicas"] == 2
    template = deployment["spec"]["template"]
    assert template["metadata"]["labels"] == {
        "app": "web",
        "xeem.io/service": "web",
        "xeem.io/workflow": "wf",
    }
    assert template["metadata"]["annotations"] == {"team": "web"}
    assert template["spec"]["containers"][0]["image"] == "nginx:1.27"
    assert deployment["metadata"]["annotations"]["team"] == "web"


def test_the_spec_hash_is_stable_and_follows_the_spec() -> None:
    first = build_deployment(service(), NfsXMount())
    again = build_deployment(service(), NfsXMount())
    scaled = build_deployment(service(replicas=3), NfsXMount())
    annotation = first["metadata"]["annotations"][SPEC_HASH_ANNOTATION]
    assert annotation == spec_hash(first)
    assert annotation == again["metadata"]["annotations"][SPEC_HASH_ANNOTATION]
    assert annotation != scaled["metadata"]["annotations"][SPEC_HASH_ANNOTATION]


def test_no_ports_no_core_service() -> None:
    assert build_core_service(service()) is None


def test_the_core_service_exposes_the_ports_on_the_same_selector() -> None:
    core = build_core_service(
        service([{"name": "http", "port": 80, "targetPort": "web"}, {"name": "m", "port": 9090}])
    )
    assert core is not None
    assert core["metadata"]["ownerReferences"][0]["kind"] == "Service"
    assert core["metadata"]["labels"] == {"xeem.io/service": "web", "xeem.io/workflow": "wf"}
    assert core["spec"] == {
        "selector": {"xeem.io/service": "web"},
        "ports": [
            {"name": "http", "port": 80, "targetPort": "web", "protocol": "TCP"},
            {"name": "m", "port": 9090, "targetPort": 9090, "protocol": "TCP"},
        ],
    }


@pytest.mark.parametrize(
    ("name", "deployment"),
    [("web-5d8f9c7b6", "web"), ("my-api-7f9", "my-api"), ("plain", None), ("-x", None)],
)
def test_a_replica_set_belongs_to_the_deployment_its_name_starts_with(
    name: str, deployment: str | None
) -> None:
    assert replica_set_deployment(name) == deployment


def _event(kind: str, name: str, type_: str = "Warning", ev: str = "e1") -> dict[str, Any]:
    return {
        "metadata": {"name": ev, "namespace": "prod"},
        "type": type_,
        "reason": "FailedCreate",
        "involvedObject": {"kind": kind, "name": name, "namespace": "prod"},
    }


def test_events_are_indexed_by_subject_and_replica_set_events_by_deployment() -> None:
    assert index_event_about(_event("ReplicaSet", "web-5d8f")) == [
        "prod/ReplicaSet/web-5d8f",
        "prod/Deployment/web",
    ]
    regarding = {"metadata": {"namespace": "prod"}, "regarding": {"kind": "Pod", "name": "p"}}
    assert index_event_about(regarding) == ["prod/Pod/p"]
    assert index_event_about({"metadata": {}}) == []


def test_warning_events_about_are_found_once_and_normal_ones_dropped() -> None:
    events = Informer(None, EVENT, indexers={EVENT_INDEX: index_event_about})  # type: ignore[arg-type]
    events.store.add(_event("ReplicaSet", "web-5d8f", ev="rs"))
    events.store.add(_event("Deployment", "web", type_="Normal", ev="normal"))
    events.store.add(_event("Pod", "web-5d8f-a", ev="pod"))
    found = warning_events_about(
        events, ["prod/Deployment/web", "prod/ReplicaSet/web-5d8f", "prod/Pod/web-5d8f-a"]
    )
    assert sorted(e["metadata"]["name"] for e in found) == ["pod", "rs"]


def test_pods_and_events_map_to_the_service() -> None:
    deployment = build_deployment(service(), NfsXMount())
    pod = {
        "metadata": {
            "name": "web-5d8f-a",
            "namespace": "prod",
            "labels": {"xeem.io/service": "web"},
        }
    }
    deployments = Informer(None, DEPLOYMENT)  # type: ignore[arg-type]
    deployments.store.add(deployment)
    pods = Informer(None, POD)  # type: ignore[arg-type]
    pods.store.add(pod)
    web = [Request("prod", "web")]
    assert _service_of_pod(pod) == web
    assert _service_of_pod({"metadata": {"name": "x", "namespace": "prod"}}) == []
    assert _service_of_event(deployments, pods, _event("ReplicaSet", "web-5d8f")) == web
    assert _service_of_event(deployments, pods, _event("Deployment", "web")) == web
    assert _service_of_event(deployments, pods, _event("Pod", "web-5d8f-a")) == web
    assert _service_of_event(deployments, pods, _event("Deployment", "other")) == []
    assert _service_of_event(deployments, pods, _event("Job", "web")) == []
