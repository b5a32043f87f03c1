"""The shipped manifests: sample workflows, the kustomize install, the image.

Samples are checked through the engine, not by eye: each parses into the Workflow model,
compiles with no problems, and runs to Succeeded when the engine is stepped with every
started node observed Succeeded (a Task) or Ready (a Service); then each sample's point is
checked (inputs resolved through two generations, a skipped node and an exit expression,
a Service node after a Task). The image's Dockerfile agrees with the manifests.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from xeem.api.phases import NodePhase, WorkflowPhase
from xeem.api.workflow import Workflow
from xeem.engine import CompiledWorkflow, NodeObservation, NodeStart, StepResult, compile_workflow

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "config"
SAMPLES = CONFIG / "samples"
EXPECTED_SAMPLES = {"pipeline", "diamond", "train-and-serve"}

P = NodePhase
W = WorkflowPhase


# --- helpers -----------------------------------------------------------------------------


def load_sample(name: str) -> Workflow:
    docs = list(yaml.safe_load_all((SAMPLES / f"{name}.yaml").read_text()))
    assert len(docs) == 1, f"{name}.yaml must hold exactly one object"
    doc = docs[0]
    assert doc["apiVersion"] == "xeem.io/v1alpha1"
    assert doc["kind"] == "Workflow"
    assert doc["metadata"]["name"] == name, "a sample's object is named like its file"
    return Workflow.model_validate(doc)


def compile_sample(name: str) -> CompiledWorkflow:
    wf = load_sample(name)
    compiled = compile_workflow(wf.spec, workflow_name=wf.metadata["name"], namespace="default")
    assert compiled.problems == []
    return compiled


class Run:
    """Steps the engine the way the controller would, with scripted child outcomes."""

    def __init__(self, compiled: CompiledWorkflow, outcomes: dict[str, NodePhase] | None = None):
        self.compiled = compiled
        self.outcomes = outcomes or {}
        self.observed: dict[str, NodeObservation] = {}
        self.starts: dict[str, NodeStart] = {}
        self.order: list[list[str]] = []  # the nodes started by each step

    def step(self) -> StepResult:
        return self.compiled.step(self.observed, {})

    def finish(self, max_steps: int = 20) -> StepResult:
        """Step until the workflow settles; every started child ends as scripted."""
        for _ in range(max_steps):
            result = self.step()
            if result.phase in (W.SUCCEEDED, W.FAILED, W.ERROR):
                return result
            assert result.start, f"stuck: {result.message}"
            self.order.append([s.node for s in result.start])
            for start in result.start:
                assert start.node not in self.starts, f"{start.node} started twice"
                self.starts[start.node] = start
                default = P.SUCCEEDED if start.kind == "Task" else P.READY
                self.observed[start.node] = NodeObservation(
                    self.outcomes.get(start.node, default), "scripted"
                )
        raise AssertionError("the workflow did not settle")


def phases(result: StepResult) -> dict[str, NodePhase]:
    return {n.name: n.phase for n in result.nodes}


def containers(start: NodeStart) -> list[dict[str, Any]]:
    body = start.job if start.job is not None else start.deployment
    assert body is not None
    out: list[dict[str, Any]] = body["template"]["spec"]["containers"]
    return out


def env_of(container: dict[str, Any]) -> dict[str, str]:
    return {e["name"]: e["value"] for e in container.get("env", []) if "value" in e}


# --- every sample ------------------------------------------------------------------------


def test_the_samples_are_the_three_documented_ones() -> None:
    assert {p.stem for p in SAMPLES.glob("*.yaml")} == EXPECTED_SAMPLES


@pytest.mark.parametrize("name", sorted(EXPECTED_SAMPLES))
def test_sample_compiles_without_problems(name: str) -> None:
    compiled = compile_sample(name)
    assert compiled.valid
    assert len(compiled.names) >= 2


@pytest.mark.parametrize("name", sorted(EXPECTED_SAMPLES))
def test_sample_runs_to_succeeded_and_renders_valid_workloads(name: str) -> None:
    run = Run(compile_sample(name))
    result = run.finish()
    assert result.phase is W.SUCCEEDED, result.message
    skipped = set(run.compiled.spec.skipped_nodes)
    assert set(run.starts) == set(run.compiled.names) - skipped
    for start in run.starts.values():
        assert start.name == f"{name}-{start.node}"
        if start.job is not None:
            # batch/v1 rejects a Job whose pods may restart in place (the default Always).
            assert start.job["template"]["spec"]["restartPolicy"] in ("Never", "OnFailure")
        for c in containers(start):
            text = " ".join([c["image"], *c.get("command", []), *c.get("args", [])])
            assert "$(inputs." not in text, f"{start.node}: unsubstituted input in {text!r}"
            env = env_of(c)
            assert env["XEEM_WORKFLOW"] == name
            assert env["XEEM_NODE"] == start.node


# --- pipeline: inputRef through two generations and a workflow input ---------------------


def test_pipeline_is_a_chain_whose_last_input_is_referenced_through_two_generations() -> None:
    spec = load_sample("pipeline").spec
    by_name = {n.name: n for n in spec.nodes}
    assert [n.name for n in spec.nodes] == ["fetch", "clean", "report"]
    assert by_name["clean"].depends == ["fetch"]
    assert by_name["report"].depends == ["clean"]
    refs = {
        (n.name, i.name): i.value_from.input_ref
        for n in spec.nodes
        for i in n.inputs
        if i.value_from is not None
    }
    # report.dataset -> clean.dataset -> fetch.dataset (a static value)
    first = refs[("report", "dataset")]
    assert (first.node_name, first.input_name) == ("clean", "dataset")
    second = refs[("clean", "dataset")]
    assert (second.node_name, second.input_name) == ("fetch", "dataset")
    assert ("fetch", "dataset") not in refs
    # report.modelName -> the workflow's model
    wf_ref = refs[("report", "modelName")]
    assert (wf_ref.node_name, wf_ref.input_name) == (None, "model")
    assert [i.name for i in spec.inputs] == ["model"]


def test_pipeline_report_resolves_its_refs_to_the_declared_values() -> None:
    compiled = compile_sample("pipeline")
    report = compiled.inputs[compiled.names.index("report")]
    assert report["dataset"].string == "imagenet-mini"
    assert report["modelName"].string == "resnet50"
    assert report["model"].string == "resnet50"  # workflow inputs reach every node
    assert compiled.workflow_inputs["model"].string == "resnet50"


def test_pipeline_runs_in_chain_order_and_delivers_resolved_inputs_to_the_last_job() -> None:
    run = Run(compile_sample("pipeline"))
    assert run.finish().phase is W.SUCCEEDED
    assert run.order == [["fetch"], ["clean"], ["report"]]
    (main,) = containers(run.starts["report"])
    env = env_of(main)
    assert env["XEEM_INPUT_DATASET"] == "imagenet-mini"
    assert env["XEEM_INPUT_MODELNAME"] == "resnet50"
    assert env["XEEM_INPUT_MODEL"] == "resnet50"
    assert "dataset=imagenet-mini model=resnet50" in main["command"][-1]


# --- diamond: a skipped node and an exit expression -------------------------------------


def test_diamond_shape_skipped_node_and_exit_expression() -> None:
    compiled = compile_sample("diamond")
    spec = compiled.spec
    deps = {n.name: set(n.depends) for n in spec.nodes}
    assert deps == {
        "prepare": set(),
        "augment": {"prepare"},
        "train": {"prepare"},
        "evaluate": {"augment", "train"},
    }
    assert spec.skipped_nodes == ["augment"]
    assert spec.exit_phase_expression == 'nodes.train.phase == "Succeeded"'
    assert compiled.exit_expression is not None


def test_diamond_skips_augment_and_joins_after_train() -> None:
    run = Run(compile_sample("diamond"))
    result = run.finish()
    assert result.phase is W.SUCCEEDED
    assert run.order == [["prepare"], ["train"], ["evaluate"]]
    assert phases(result)["augment"] is P.SKIPPED
    assert "augment" not in run.starts
    assert result.message == "exitPhaseExpression chose Succeeded"


def test_diamond_exit_expression_decides_the_phase() -> None:
    # evaluate is advisory: its failure alone leaves the workflow Succeeded ...
    run = Run(compile_sample("diamond"), {"evaluate": P.FAILED})
    assert run.finish().phase is W.SUCCEEDED
    # ... but a failed train fails it (and evaluate never runs).
    run = Run(compile_sample("diamond"), {"train": P.FAILED})
    result = run.finish()
    assert result.phase is W.FAILED
    assert phases(result)["evaluate"] is P.OMITTED
    assert "evaluate" not in run.starts


# --- train-and-serve: a Task, then a Service with a core Service ------------------------


def test_train_and_serve_starts_the_service_after_training() -> None:
    run = Run(compile_sample("train-and-serve"))
    result = run.finish()
    assert result.phase is W.SUCCEEDED
    assert phases(result) == {"train": P.SUCCEEDED, "serve": P.READY}
    assert run.order == [["train"], ["serve"]]
    train, serve = run.starts["train"], run.starts["serve"]
    assert train.kind == "Task"
    assert train.job is not None
    assert train.annotations == {"team": "vision"}
    assert serve.kind == "Service"
    assert serve.deployment is not None
    assert serve.deployment["replicas"] == 2
    assert serve.deployment["selector"]["matchLabels"].items() <= (
        serve.deployment["template"]["metadata"]["labels"].items()
    )
    assert serve.service is not None
    (port,) = serve.service["ports"]
    (main,) = containers(serve)
    named = {p["name"]: p["containerPort"] for p in main["ports"]}
    assert port["port"] == 80
    assert port["targetPort"] in named
    assert env_of(main)["XEEM_INPUT_VERSION"] == "v1"


# --- the image -------------------------------------------------------------------------


def test_dockerfile_runs_the_console_script_as_the_manifests_non_root_user() -> None:
    text = (ROOT / "Dockerfile").read_text()
    froms = re.findall(r"^FROM (\S+)", text, re.MULTILINE)
    assert froms
    assert all(f == "python:3.11-slim" for f in froms)
    users = re.findall(r"^USER (\S+)", text, re.MULTILINE)
    assert users == ["65532:65532"]
    assert '\nENTRYPOINT ["xeem-controller"]\n' in text
    assert "[dev]" not in text
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert re.search(r'^xeem-controller = "xeem_controller\.__main__:main"$', pyproject, re.M)
    manager = yaml.safe_load_all((CONFIG / "manager" / "manager.yaml").read_text())
    deploy = next(d for d in manager if d["kind"] == "Deployment")
    assert deploy["spec"]["template"]["spec"]["securityContext"]["runAsUser"] == 65532
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert {".venv", "bin", ".git", "**/__pycache__"} <= set(ignored)
