"""Validation: every invalid case of DESIGN §3 is reported, all at once, naming node and field."""

from __future__ import annotations

import pytest

from tests.unit.engine.wfbuild import (
    container,
    deployment,
    job,
    node,
    pool,
    ref,
    spec,
    static,
)
from xeem.api.workflow import WorkflowSpec
from xeem.engine import Problem, compile_workflow

pytestmark = pytest.mark.unit


def problems(s: WorkflowSpec, name: str = "wf") -> list[Problem]:
    return compile_workflow(s, workflow_name=name).problems


def only(s: WorkflowSpec) -> Problem:
    found = problems(s)
    assert len(found) == 1, found
    return found[0]


def test_the_design_example_is_valid_and_resolves_transitively() -> None:
    s = spec(
        node("prepare", inputs=[static("dataset", string="imagenet"), static("n", integer=3)]),
        node("train", "prepare", inputs=[ref("dataset", "dataset", "prepare")]),
        node("eval", "train", inputs=[ref("data", "dataset", "train"), ref("m", "model")]),
        inputs=[static("model", string="resnet50")],
    )
    compiled = compile_workflow(s, workflow_name="wf")
    assert compiled.problems == []
    assert compiled.valid
    ev = compiled.inputs[2]
    assert ev["data"].string == "imagenet"
    assert ev["m"].string == "resnet50"
    assert ev["model"].string == "resnet50"  # workflow inputs reach every node
    assert compiled.inputs[0]["n"].integer == 3


def test_a_grandparent_is_an_ancestor() -> None:
    s = spec(
        node("a", inputs=[static("x", bool=True)]),
        node("b", "a"),
        node("c", "b", inputs=[ref("y", "x", "a")]),
    )
    compiled = compile_workflow(s, workflow_name="wf")
    assert compiled.problems == []
    assert compiled.inputs[2]["y"].bool is True


def test_a_node_input_overrides_a_workflow_input_of_the_same_name() -> None:
    s = spec(node("a", inputs=[static("m", string="mine")]), inputs=[static("m", string="wf")])
    assert compile_workflow(s, workflow_name="wf").inputs[0]["m"].string == "mine"


def test_duplicate_node_names() -> None:
    assert only(spec(node("a"), node("a"))) == Problem("spec.nodes[a].name", "duplicate node name")


def test_depends_on_an_unknown_node() -> None:
    assert only(spec(node("a", "ghost"))) == Problem(
        "spec.nodes[a].depends[ghost]", "names no node"
    )


def test_a_cycle_is_named() -> None:
    found = only(spec(node("x"), node("b", "c"), node("c", "d"), node("d", "b"), node("e", "d")))
    assert found == Problem("spec.nodes[b].depends", "cycle: b -> c -> d -> b")


def test_a_self_dependency_is_a_cycle() -> None:
    assert only(spec(node("a", "a"))) == Problem("spec.nodes[a].depends", "cycle: a -> a")


def test_two_cycles_are_both_named() -> None:
    found = problems(spec(node("a", "b"), node("b", "a"), node("c", "d"), node("d", "c")))
    assert [p.message for p in found] == ["cycle: a -> b -> a", "cycle: c -> d -> c"]


def test_input_ref_to_a_non_ancestor() -> None:
    s = spec(node("a", inputs=[static("x", string="1")]), node("b", inputs=[ref("y", "x", "a")]))
    assert only(s) == Problem(
        "spec.nodes[b].inputs[y].valueFrom.inputRef", "node a is not an ancestor of node b"
    )


def test_input_ref_to_a_descendant() -> None:
    s = spec(
        node("a", inputs=[ref("y", "x", "b")]), node("b", "a", inputs=[static("x", integer=1)])
    )
    assert only(s).message == "node b is not an ancestor of node a"


def test_input_ref_to_itself() -> None:
    s = spec(node("a", inputs=[static("x", integer=1), ref("y", "x", "a")]))
    assert only(s).message == "node a is not an ancestor of node a"


def test_input_ref_to_a_missing_input() -> None:
    s = spec(node("a"), node("b", "a", inputs=[ref("y", "nope", "a")]))
    assert only(s) == Problem(
        "spec.nodes[b].inputs[y].valueFrom.inputRef", "node a has no input nope"
    )


def test_input_ref_to_an_unknown_node() -> None:
    s = spec(node("b", inputs=[ref("y", "x", "ghost")]))
    assert only(s).message == "nodeName ghost names no node"


def test_input_ref_to_a_missing_workflow_input() -> None:
    s = spec(node("b", inputs=[ref("y", "nope")]))
    assert only(s) == Problem(
        "spec.nodes[b].inputs[y].valueFrom.inputRef", "the workflow has no input nope"
    )


def test_a_broken_ref_is_reported_once_not_again_downstream() -> None:
    s = spec(
        node("a", inputs=[ref("x", "nope")]),
        node("b", "a", inputs=[ref("x", "x", "a")]),
    )
    assert only(s).path == "spec.nodes[a].inputs[x].valueFrom.inputRef"


def test_unknown_input_in_a_container_field() -> None:
    c = container(
        image="repo/$(inputs.tag)",
        command=["run", "$(inputs.x)", "$$(inputs.escaped)"],
        env=[{"name": "E", "value": "$(inputs.e)"}],
        workingDir="/w/$(inputs.x)",
    )
    s = spec(node("a", inputs=[static("x", string="1")], workload=job(c)))
    base = "spec.nodes[a].workloadTemplate.job.template.spec.containers[main]"
    assert problems(s) == [
        Problem(f"{base}.image", "$(inputs.tag) names no input of node a"),
        Problem(f"{base}.env[E].value", "$(inputs.e) names no input of node a"),
    ]


def test_workflow_inputs_count_as_known_in_containers() -> None:
    s = spec(
        node("a", workload=job(container(args=["$(inputs.m)"]))), inputs=[static("m", integer=1)]
    )
    assert problems(s) == []


def test_unknown_xvmg_template() -> None:
    assert only(spec(node("a", xvmg="gpu"))) == Problem(
        "spec.nodes[a].xvmgTemplateName", "no xvmgTemplate gpu"
    )


def test_exit_expression_that_does_not_compile() -> None:
    found = only(spec(node("a"), exit_phase_expression="nodes.a.phase =="))
    assert found.path == "spec.exitPhaseExpression"
    assert found.message.startswith("does not compile:")


def test_skipped_node_that_names_no_node() -> None:
    assert only(spec(node("a"), skipped_nodes=["ghost"])) == Problem(
        "spec.skippedNodes[ghost]", "names no node"
    )


def test_input_one_of_rules() -> None:
    both = static("x", string="s").model_copy(update={"value_from": ref("x", "y").value_from})
    neither = static("y", string="s").model_copy(update={"value": None})
    two_types = static("z", string="s", integer=1)
    no_type = static("w")
    s = spec(node("a", inputs=[both, neither, two_types, no_type]))
    assert problems(s) == [
        Problem("spec.nodes[a].inputs[x]", "exactly one of value or valueFrom must be set"),
        Problem("spec.nodes[a].inputs[y]", "exactly one of value or valueFrom must be set"),
        Problem(
            "spec.nodes[a].inputs[z].value",
            "exactly one of string, integer, bool or xMount must be set (got string, integer)",
        ),
        Problem(
            "spec.nodes[a].inputs[w].value",
            "exactly one of string, integer, bool or xMount must be set (got none)",
        ),
    ]


def test_duplicate_and_clashing_input_names() -> None:
    s = spec(
        node(
            "a", inputs=[static("x", integer=1), static("x", integer=2), static("a-b", integer=3)]
        ),
        inputs=[static("a_b", integer=1)],
    )
    assert problems(s) == [
        Problem("spec.nodes[a].inputs[x].name", "duplicate input name"),
        Problem(
            "spec.nodes[a].inputs[a-b].name", "inputs a_b and a-b both become env XEEM_INPUT_A_B"
        ),
    ]


def test_workflow_inputs_must_be_static() -> None:
    s = spec(node("a"), inputs=[static("m", integer=1), ref("n", "m")])
    assert only(s) == Problem(
        "spec.inputs[n].valueFrom", "workflow inputs take a value, not valueFrom"
    )


def test_workload_one_of_and_shape() -> None:
    both = {**job(), **deployment()}
    svc_on_job = {**job(), "service": {"ports": [{"port": 80}]}}
    no_containers = {"job": {"template": {"spec": {}}}}
    s = spec(
        node("a", workload=both),
        node("b", workload=svc_on_job),
        node("c", workload=no_containers),
    )
    assert problems(s) == [
        Problem("spec.nodes[a].workloadTemplate", "exactly one of job or deployment must be set"),
        Problem("spec.nodes[b].workloadTemplate.service", "service requires deployment"),
        Problem(
            "spec.nodes[c].workloadTemplate.job.template.spec.containers",
            "a non-empty list is required",
        ),
    ]


def test_xvmg_template_rules() -> None:
    uneven = pool("gpu").model_copy(update={"max_size": 3})
    s = spec(node("a", xvmg="gpu"), xvmg_templates=[uneven, pool("gpu")])
    assert problems(s) == [
        Problem("spec.xvmgTemplates[gpu].maxSize", "minSize (2) must equal maxSize"),
        Problem("spec.xvmgTemplates[gpu].name", "duplicate xvmgTemplate name"),
    ]


def test_derived_names_must_fit_a_label_value() -> None:
    long_wf = "w" * 60
    found = problems(spec(node("abcd", xvmg="gpu"), xvmg_templates=[pool("gpu")]), name=long_wf)
    assert [p.path for p in found] == ["spec.nodes[abcd].name", "spec.xvmgTemplates[gpu].name"]
    assert found[0].message == f"child name {long_wf}-abcd is 65 characters; at most 63 fit"


def test_every_problem_is_reported_at_once() -> None:
    s = spec(
        node("a", "ghost", xvmg="nope"),
        node("b", "b", inputs=[ref("x", "y", "a")]),
        skipped_nodes=["zzz"],
        exit_phase_expression="(",
    )
    paths = [p.path for p in problems(s)]
    assert sorted(paths) == sorted(
        [
            "spec.nodes[a].depends[ghost]",
            "spec.nodes[b].depends",
            "spec.skippedNodes[zzz]",
            "spec.nodes[a].xvmgTemplateName",
            "spec.nodes[b].inputs[x].valueFrom.inputRef",
            "spec.exitPhaseExpression",
        ]
    )


def test_problem_str() -> None:
    assert str(Problem("spec.x", "bad")) == "spec.x: bad"
