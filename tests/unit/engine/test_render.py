"""Rendering of pod templates: env, substitution, xMount volumes, placement, idempotence."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from xeem.api.inputs import InputValue, XMount
from xeem.engine import (
    CsiXMount,
    NfsXMount,
    Placement,
    RenderContext,
    RenderError,
    render_deployment_spec,
    render_job_spec,
    render_pod_template,
)
from xeem.engine.xmount import server_host

pytestmark = pytest.mark.unit

MOUNT = XMount(server_addr="10.1.2.3:9000", mount_id="vol-42", mount_path="/data", read_only=True)
INPUTS = {
    "dataset": InputValue(string="imagenet"),
    "epochs": InputValue(integer=3),
    "fast": InputValue(bool=False),
    "data": InputValue(x_mount=MOUNT),
}
CONTEXT = RenderContext(
    workflow="wf",
    node="train",
    xvmg=Placement("wf-gpu", 2),
    labels={"xeem.io/workflow": "wf", "xeem.io/node": "train"},
    annotations={"team": "vision"},
)


def template() -> dict[str, Any]:
    return {
        "metadata": {"labels": {"app": "x"}},
        "spec": {
            "initContainers": [{"name": "init", "image": "busybox"}],
            "containers": [
                {
                    "name": "main",
                    "image": "trainer:$(inputs.dataset)",
                    "command": ["train", "--data=$(inputs.data)"],
                    "args": ["--epochs", "$(inputs.epochs)", "$$(inputs.epochs)"],
                    "workingDir": "$(inputs.data)/work",
                    "env": [
                        {"name": "MINE", "value": "e=$(inputs.epochs)"},
                        {"name": "XEEM_NODE", "value": "user-set"},
                    ],
                }
            ],
        },
    }


def env(container: dict[str, Any]) -> dict[str, str]:
    return {e["name"]: e["value"] for e in container["env"]}


def test_env_substitution_and_metadata() -> None:
    out = render_pod_template(template(), INPUTS, CONTEXT)
    main = out["spec"]["containers"][0]
    assert main["image"] == "trainer:imagenet"
    assert main["command"] == ["train", "--data=/data"]
    assert main["args"] == ["--epochs", "3", "$$(inputs.epochs)"]
    assert main["workingDir"] == "/data/work"
    assert env(main) == {
        "MINE": "e=3",
        "XEEM_NODE": "train",
        "XEEM_WORKFLOW": "wf",
        "XEEM_XVMG": "wf-gpu",
        "XEEM_XVMG_SIZE": "2",
        "XEEM_INPUT_DATASET": "imagenet",
        "XEEM_INPUT_EPOCHS": "3",
        "XEEM_INPUT_FAST": "false",
    }
    assert env(out["spec"]["initContainers"][0])["XEEM_INPUT_EPOCHS"] == "3"
    assert out["metadata"] == {
        "labels": {"app": "x", "xeem.io/workflow": "wf", "xeem.io/node": "train"},
        "annotations": {"team": "vision"},
    }


def test_xmount_becomes_a_volume_in_every_container() -> None:
    out = render_pod_template(template(), INPUTS, CONTEXT)
    assert out["spec"]["volumes"] == [
        {
            "name": "xeem-input-data",
            "nfs": {"server": "10.1.2.3", "path": "/vol-42", "readOnly": True},
        }
    ]
    mount = {"name": "xeem-input-data", "mountPath": "/data", "readOnly": True}
    for c in out["spec"]["initContainers"] + out["spec"]["containers"]:
        assert c["volumeMounts"] == [mount]


def test_csi_xmount_and_sub_path() -> None:
    m = MOUNT.model_copy(update={"sub_path": "part1", "read_only": False})
    ctx = RenderContext(xmount=CsiXMount("xfs.csi.example.com"))
    out = render_pod_template(template_with_args([]), {"Data_1": InputValue(x_mount=m)}, ctx)
    (vol,) = out["spec"]["volumes"]
    assert vol["csi"] == {
        "driver": "xfs.csi.example.com",
        "readOnly": False,
        "volumeAttributes": {"serverAddr": "10.1.2.3:9000", "mountID": "vol-42"},
    }
    assert vol["name"].startswith("xeem-input-data-1-")
    vm = out["spec"]["containers"][0]["volumeMounts"][0]
    assert vm == {"name": vol["name"], "mountPath": "/data", "readOnly": False, "subPath": "part1"}


def test_xvmg_placement() -> None:
    out = render_pod_template(template_with_args([]), {}, CONTEXT)
    assert out["spec"]["nodeSelector"] == {"xeem.io/xvmg": "wf-gpu"}
    assert out["spec"]["tolerations"] == [
        {"key": "xeem.io/xvmg", "operator": "Equal", "value": "wf-gpu", "effect": "NoSchedule"}
    ]


def test_without_a_workflow_nothing_of_it_is_injected() -> None:
    bare = {"spec": {"containers": [{"name": "c", "image": "i"}]}}
    out = render_pod_template(bare, {}, RenderContext())
    assert out == {"metadata": {}, "spec": {"containers": [{"name": "c", "image": "i"}]}}


def test_rendering_does_not_mutate_and_is_idempotent() -> None:
    original = template()
    pristine = copy.deepcopy(original)
    once = render_pod_template(original, INPUTS, CONTEXT)
    assert original == pristine
    assert render_pod_template(once, INPUTS, CONTEXT) == once


def test_dollar_in_values_is_escaped_for_the_kubelet() -> None:
    inputs = {"price": InputValue(string="$(HOME) costs $5")}
    out = render_pod_template(template_with_args(["$(inputs.price)"]), inputs, RenderContext())
    main = out["spec"]["containers"][0]
    assert main["args"] == ["$$(HOME) costs $$5"]
    assert env(main)["XEEM_INPUT_PRICE"] == "$$(HOME) costs $$5"
    assert render_pod_template(out, inputs, RenderContext()) == out


def template_with_args(args: list[str]) -> dict[str, Any]:
    return {"spec": {"containers": [{"name": "c", "image": "i", "args": args}]}}


@settings(max_examples=60, deadline=None)
@given(
    value=st.text(alphabet="ab$(){}.inputs", max_size=20),
    arg=st.text(alphabet="x$()inputs.v", max_size=20),
)
def test_rendering_is_idempotent_for_any_text(value: str, arg: str) -> None:
    inputs = {"v": InputValue(string=value)}
    t = template_with_args([arg + "$(inputs.v)"])
    once = render_pod_template(t, inputs, RenderContext(node="n"))
    assert render_pod_template(once, inputs, RenderContext(node="n")) == once


def test_unknown_reference_raises() -> None:
    with pytest.raises(RenderError, match=r"\$\(inputs.nope\) names no input"):
        render_pod_template(template_with_args(["$(inputs.nope)"]), {}, RenderContext())


@pytest.mark.parametrize(
    ("bad", "where"),
    [
        ({"spec": {"containers": "x"}}, "template.spec.containers must be a list"),
        ({"spec": {}}, "template.spec.containers is required"),
        ({"spec": {"containers": ["x"]}}, r"template.spec.containers\[0\] must be an object"),
        ({"spec": "x"}, "template.spec must be an object"),
    ],
)
def test_bad_shapes_raise(bad: dict[str, Any], where: str) -> None:
    with pytest.raises(RenderError, match=where):
        render_pod_template(bad, {}, RenderContext())


def test_job_and_deployment_wrappers() -> None:
    job = {"backoffLimit": 2, "template": template()}
    out = render_job_spec(job, INPUTS, CONTEXT)
    assert out["backoffLimit"] == 2
    assert "selector" not in out
    assert out["template"]["spec"]["nodeSelector"] == {"xeem.io/xvmg": "wf-gpu"}
    assert job["template"] == template()
    dep = render_deployment_spec({"replicas": 2, "template": template()}, INPUTS, CONTEXT)
    assert dep["selector"] == {"matchLabels": {"xeem.io/workflow": "wf", "xeem.io/node": "train"}}
    assert dep["replicas"] == 2


@pytest.mark.parametrize(
    ("addr", "host"),
    [
        ("10.1.2.3:9000", "10.1.2.3"),
        ("files", "files"),
        ("[fe80::1]:9000", "fe80::1"),
        ("fe80::1", "fe80::1"),
    ],
)
def test_server_host(addr: str, host: str) -> None:
    assert server_host(addr) == host
    assert (
        NfsXMount().volume_source(MOUNT.model_copy(update={"server_addr": addr}))["nfs"]["server"]
        == host
    )
