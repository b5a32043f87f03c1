"""KWOK's part of the local control plane: stage rules and fake nodes.

Contract: nodes annotated ``kwok.x-k8s.io/node: fake`` are managed by the harness's kwok;
they become Ready, their pods become Running at once, pods owned by a Job finish with exit
code 0 after the default delay (the annotation ``pod-complete.stage.kwok.x-k8s.io/delay``,
e.g. ``"2s"``, overrides it per pod), and a pod labelled
``pod-container-running-failed.stage.kwok.x-k8s.io: "true"`` fails with the exit code,
reason and message named by the annotations ``pod-container-running-failed.stage.kwok.x-k8s.io/
{exit-code,reason,message}`` (KWOK's own chaos stage).
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

import yaml

FAKE_NODE_ANNOTATION = "kwok.x-k8s.io/node"
FAKE_NODE_VALUE = "fake"
JOB_POD_DELAY_ANNOTATION = "pod-complete.stage.kwok.x-k8s.io/delay"
FAIL_LABEL = "pod-container-running-failed.stage.kwok.x-k8s.io"
FAIL_EXIT_CODE_ANNOTATION = f"{FAIL_LABEL}/exit-code"
FAIL_REASON_ANNOTATION = f"{FAIL_LABEL}/reason"
FAIL_MESSAGE_ANNOTATION = f"{FAIL_LABEL}/message"


def write_stages(path: Path, job_pod_seconds: float) -> Path:
    """Write the stage rules with Job pods completing after ``job_pod_seconds``."""
    text = resources.files("xeem.testing").joinpath("kwok-stages.yaml").read_text()
    stages: list[dict[str, Any]] = list(yaml.safe_load_all(text))
    for stage in stages:
        if stage["metadata"]["name"] == "pod-complete":
            stage["spec"]["delay"]["durationMilliseconds"] = round(job_pod_seconds * 1000)
    path.write_text(yaml.safe_dump_all(stages, sort_keys=False))
    return path


def fake_node(name: str, labels: dict[str, str] | None = None) -> dict[str, Any]:
    """A Node object that the harness's kwok will manage."""
    capacity = {"cpu": "64", "memory": "256Gi", "pods": "500"}
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": name,
            "annotations": {
                FAKE_NODE_ANNOTATION: FAKE_NODE_VALUE,
                "node.alpha.kubernetes.io/ttl": "0",
            },
            "labels": {
                "kubernetes.io/hostname": name,
                "kubernetes.io/os": "linux",
                "kubernetes.io/arch": "amd64",
                "type": "kwok",
                **(labels or {}),
            },
        },
        "status": {"allocatable": capacity, "capacity": capacity},
    }
