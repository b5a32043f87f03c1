"""Builders for Workflow manifests and waits on their status, for the e2e tests.

Job containers really do what kwok simulates, so the same workflows behave alike on the
local control plane and on kind: ``job_node(..., fail_with=3)`` exits 3 in a real
container and carries kwok's chaos label and annotations for simulated nodes.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

from tests.kube import Kubectl, get_json
from xeem.testing.kwok import FAIL_EXIT_CODE_ANNOTATION, FAIL_LABEL, FAIL_REASON_ANNOTATION

FINAL = ("Succeeded", "Failed", "Error")


def static(name: str, **value: Any) -> dict[str, Any]:
    """A static input: ``static("x", string="a")``."""
    return {"name": name, "value": value}


def ref(name: str, input_name: str, node: str | None = None) -> dict[str, Any]:
    """A dynamic input taken from an ancestor node (or the workflow when ``node`` is None)."""
    input_ref = {"inputName": input_name, **({"nodeName": node} if node else {})}
    return {"name": name, "valueFrom": {"inputRef": input_ref}}


def _pod_template(command: str, fail_with: int | None) -> dict[str, Any]:
    metadata: dict[str, Any] = {}
    if fail_with is not None:
        metadata = {
            "labels": {FAIL_LABEL: "true"},
            "annotations": {
                FAIL_EXIT_CODE_ANNOTATION: str(fail_with),
                FAIL_REASON_ANNOTATION: "Error",
            },
        }
        command = f"exit {fail_with}"
    return {
        "metadata": metadata,
        "spec": {
            "restartPolicy": "Never",
            "containers": [
                {"name": "main", "image": "busybox:1.36", "command": ["sh", "-c", command]}
            ],
        },
    }


def job_node(
    name: str,
    *,
    depends: list[str] | None = None,
    inputs: list[dict[str, Any]] | None = None,
    command: str = "true",
    fail_with: int | None = None,
) -> dict[str, Any]:
    """A Task node whose container runs ``command`` (or exits ``fail_with``)."""
    return {
        "name": name,
        "depends": depends or [],
        "inputs": inputs or [],
        "workloadTemplate": {
            "job": {"backoffLimit": 0, "template": _pod_template(command, fail_with)}
        },
    }


def service_node(
    name: str, *, replicas: int = 2, node_selector: dict[str, str] | None = None
) -> dict[str, Any]:
    """A Service node: a Deployment of ``replicas`` plus a core Service on port 80."""
    pod_spec: dict[str, Any] = {"containers": [{"name": "web", "image": "nginx:1.27"}]}
    if node_selector:
        pod_spec["nodeSelector"] = node_selector
    return {
        "name": name,
        "workloadTemplate": {
            "deployment": {"replicas": replicas, "template": {"spec": pod_spec}},
            "service": {"ports": [{"name": "http", "port": 80, "targetPort": 80}]},
        },
    }


def workflow(name: str, nodes: list[dict[str, Any]], **spec: Any) -> dict[str, Any]:
    """A Workflow manifest."""
    return {
        "apiVersion": "xeem.io/v1alpha1",
        "kind": "Workflow",
        "metadata": {"name": name},
        "spec": {"nodes": nodes, **spec},
    }


async def wait_for_phase(
    kubectl: Kubectl,
    namespace: str,
    name: str,
    phases: tuple[str, ...] = FINAL,
    timeout: float = 90,
) -> dict[str, Any]:
    """Poll the workflow until its phase is one of ``phases``; returns the workflow."""
    deadline = time.monotonic() + timeout
    last: dict[str, Any] = {}
    while time.monotonic() < deadline:
        code, out, _ = await kubectl(
            "get", "-n", namespace, f"workflow.xeem.io/{name}", "-o", "json"
        )
        if code == 0:
            last = json.loads(out)
            if (last.get("status") or {}).get("phase") in phases:
                return last
        await asyncio.sleep(0.2)
    raise AssertionError(
        f"workflow {namespace}/{name} did not reach {phases} in {timeout}s: "
        f"{json.dumps(last.get('status'), indent=1)}"
    )


def node_phases(wf: dict[str, Any]) -> dict[str, str]:
    """``{node: phase}`` from a workflow's status."""
    return {n["name"]: n["phase"] for n in wf["status"]["nodes"]}


def condition(wf_or_obj: dict[str, Any], type_: str) -> dict[str, Any]:
    """The condition of ``type_`` on an object (fails the test when absent)."""
    found = [c for c in (wf_or_obj.get("status") or {}).get("conditions", []) if c["type"] == type_]
    assert found, f"no {type_} condition in {wf_or_obj.get('status')}"
    return found[0]


async def items(kubectl: Kubectl, namespace: str, resource: str) -> list[dict[str, Any]]:
    """All objects of ``resource`` in ``namespace``."""
    return list((await get_json(kubectl, namespace, resource))["items"])


class CreationWatch:
    """Records every object of one resource type created while it runs (a kubectl watch).

    ``async with CreationWatch(...) as watch:`` ... then ``watch.created`` maps each name to
    the set of UIDs seen added under it: one UID per name means nothing was made twice.
    """

    def __init__(self, kubectl_binary: str, kubeconfig: str, resource: str, *scope: str) -> None:
        self._argv = [
            kubectl_binary,
            f"--kubeconfig={kubeconfig}",
            "get",
            resource,
            *scope,
            "--watch",
            "--output-watch-events",
            "-o",
            'jsonpath={.type} {.object.metadata.name} {.object.metadata.uid}{"\\n"}',
        ]
        self._process: asyncio.subprocess.Process | None = None
        self.created: dict[str, set[str]] = {}

    async def __aenter__(self) -> CreationWatch:
        self._process = await asyncio.create_subprocess_exec(
            *self._argv, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
        )
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        assert self._process is not None
        failed_early = self._process.returncode not in (None, 0)
        if self._process.returncode is None:
            self._process.terminate()
        out, err = await self._process.communicate()
        assert not failed_early, f"kubectl watch failed: {err.decode()}"
        for line in out.decode().splitlines():
            event, name, uid = line.split()
            if event == "ADDED":
                self.created.setdefault(name, set()).add(uid)
