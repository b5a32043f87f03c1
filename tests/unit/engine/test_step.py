"""Example tests of the step function, one per rule of DESIGN §4 and §6."""

from __future__ import annotations

import pytest

from tests.unit.engine.wfbuild import (
    Sim,
    compile_ok,
    node,
    phases,
    pool,
    service,
    settled,
    spec,
)
from xeem.api.phases import NodePhase, WorkflowPhase
from xeem.engine import NodeObservation, XvmgObservation, compile_workflow

pytestmark = pytest.mark.unit

P = NodePhase


def started(sim: Sim) -> list[str]:
    return [s.node for s in sim.results[-1].start]


def test_diamond_joins_only_when_both_branches_are_done() -> None:
    sim = Sim(compile_ok(spec(node("a"), node("b", "a"), node("c", "a"), node("d", "b", "c"))))
    sim.step()
    assert started(sim) == ["a"]
    sim.happen("node", "a")
    sim.step()
    assert started(sim) == ["b", "c"]
    sim.happen("node", "b")
    r = sim.step()
    assert started(sim) == []
    assert phases(r)["d"] is P.PENDING
    assert r.nodes[3].message == "waiting for c"
    sim.happen("node", "c")
    sim.step()
    assert started(sim) == ["d"]
    r = sim.run()
    assert r.phase is WorkflowPhase.SUCCEEDED
    assert r.progress == "4/4"


def test_fan_out_then_fan_in() -> None:
    middle = [node(f"m{i}", "root") for i in range(5)]
    sink = node("sink", *(m.name for m in middle))
    sim = Sim(compile_ok(spec(node("root"), *middle, sink)))
    sim.step()
    sim.happen("node", "root")
    sim.step()
    assert started(sim) == [f"m{i}" for i in range(5)]
    for i in range(4):
        sim.happen("node", f"m{i}")
    sim.step()
    assert "sink" not in sim.observed
    sim.happen("node", "m4")
    sim.step()
    assert started(sim) == ["sink"]
    assert sim.run().phase is WorkflowPhase.SUCCEEDED


def test_skipped_node_in_the_middle_satisfies_its_dependents() -> None:
    sim = Sim(compile_ok(spec(node("a"), node("b", "a"), node("c", "b"), skipped_nodes=["b"])))
    r = sim.step()
    assert phases(r)["b"] is P.SKIPPED
    sim.happen("node", "a")
    sim.step()
    assert started(sim) == ["c"]
    r = sim.run()
    assert "b" not in sim.started
    assert r.phase is WorkflowPhase.SUCCEEDED


def test_failure_omits_downstream_while_an_independent_branch_finishes() -> None:
    s = spec(node("a"), node("b", "a"), node("c", "b"), node("x"), node("y", "x"))
    sim = Sim(compile_ok(s), outcomes={"a": P.FAILED})
    sim.step()
    sim.happen("node", "a")
    r = sim.step()
    assert phases(r)["b"] is P.OMITTED
    assert phases(r)["c"] is P.OMITTED
    assert r.nodes[2].message == "dependency b is Omitted"
    assert r.phase is WorkflowPhase.RUNNING
    r = sim.run()
    assert phases(r) == {
        "a": P.FAILED,
        "b": P.OMITTED,
        "c": P.OMITTED,
        "x": P.SUCCEEDED,
        "y": P.SUCCEEDED,
    }
    assert r.phase is WorkflowPhase.FAILED
    assert r.message == "node a is Failed: a Failed"


def test_fail_fast_starts_nothing_new_after_a_failure() -> None:
    s = spec(node("a"), node("x"), node("y", "x"), fail_fast=True)
    sim = Sim(compile_ok(s), outcomes={"a": P.FAILED})
    sim.step()
    assert started(sim) == ["a", "x"]
    sim.happen("node", "a")
    r = sim.step()
    assert phases(r) == {"a": P.FAILED, "x": P.RUNNING, "y": P.OMITTED}
    assert r.nodes[2].message == "failFast: node a is Failed"
    sim.happen("node", "x")
    r = sim.step()
    assert started(sim) == []
    assert "y" not in sim.started
    assert r.phase is WorkflowPhase.FAILED


def test_without_fail_fast_the_other_branch_continues() -> None:
    sim = Sim(compile_ok(spec(node("a"), node("x"), node("y", "x"))), outcomes={"a": P.FAILED})
    sim.run()
    assert "y" in sim.started


def test_a_ready_service_satisfies_its_dependents_and_keeps_running() -> None:
    sim = Sim(compile_ok(spec(service("db"), node("load", "db"))))
    sim.step()
    assert sim.results[-1].start[0].kind == "Service"
    sim.happen("node", "db")
    sim.step()
    assert started(sim) == ["load"]
    r = sim.run()
    assert phases(r) == {"db": P.READY, "load": P.SUCCEEDED}
    assert r.phase is WorkflowPhase.SUCCEEDED


def test_a_progressing_service_does_not_satisfy_dependents() -> None:
    compiled = compile_ok(spec(service("db"), node("load", "db")))
    r = compiled.step({"db": NodeObservation(P.RUNNING, "progressing")}, {})
    assert r.start == []
    assert phases(r)["load"] is P.PENDING


def test_xvmg_is_created_for_its_first_ready_user_and_released_after_its_last() -> None:
    s = spec(
        node("prep"),
        node("train", "prep", xvmg="gpu"),
        node("eval", "train", xvmg="gpu"),
        node("report", "eval"),
        xvmg_templates=[pool("gpu", 3)],
    )
    sim = Sim(compile_ok(s))
    r = sim.step()
    assert r.create_xvmgs == []
    assert phases(r)["train"] is P.PENDING
    sim.happen("node", "prep")
    r = sim.step()
    assert [c.name for c in r.create_xvmgs] == ["wf-gpu"]
    assert r.create_xvmgs[0].template.min_size == 3
    assert phases(r)["train"] is P.WAITING_FOR_VMS
    r = sim.step()
    assert r.create_xvmgs == []
    assert r.nodes[1].message == "provisioning"
    sim.happen("xvmg", "wf-gpu")
    sim.step()
    assert started(sim) == ["train"]
    assert sim.results[-1].start[0].xvmg == "wf-gpu"
    sim.happen("node", "train")
    r = sim.step()
    assert started(sim) == ["eval"]
    assert r.release_xvmgs == []
    sim.happen("node", "eval")
    r = sim.step()
    assert r.release_xvmgs == ["wf-gpu"]
    assert sim.run().phase is WorkflowPhase.SUCCEEDED
    assert sim.created == ["wf-gpu"]
    assert sim.released == ["wf-gpu"]


def test_a_ready_service_keeps_its_xvmg() -> None:
    s = spec(service("api", xvmg="gpu"), node("after", "api"), xvmg_templates=[pool()])
    sim = Sim(compile_ok(s))
    r = sim.run()
    assert r.phase is WorkflowPhase.SUCCEEDED
    assert phases(r)["api"] is P.READY
    assert sim.released == []
    assert "wf-gpu" in sim.xvmgs


def test_xvmg_of_only_skipped_users_is_never_created() -> None:
    s = spec(node("a", xvmg="gpu"), skipped_nodes=["a"], xvmg_templates=[pool()])
    sim = Sim(compile_ok(s))
    assert sim.run().phase is WorkflowPhase.SUCCEEDED
    assert sim.created == []


def test_failed_xvmg_errors_its_waiting_users_and_is_released() -> None:
    compiled = compile_ok(spec(node("a", xvmg="gpu"), node("b", "a"), xvmg_templates=[pool()]))
    failed = {"wf-gpu": XvmgObservation(ready=False, failed=True, message="quota exceeded")}
    r = compiled.step({}, failed)
    assert phases(r) == {"a": P.ERROR, "b": P.OMITTED}
    assert r.nodes[0].message == "machine group wf-gpu failed: quota exceeded"
    assert r.release_xvmgs == ["wf-gpu"]
    assert r.phase is WorkflowPhase.FAILED
    sticky = {"a": NodeObservation(P.ERROR, r.nodes[0].message, child=False)}
    again = compiled.step(sticky, {})
    assert again.create_xvmgs == []
    assert phases(again)["a"] is P.ERROR
    assert again.nodes[0].child is None


def test_groups_no_template_names_are_released() -> None:
    compiled = compile_ok(spec(node("a")))
    r = compiled.step({}, {"wf-old": XvmgObservation(ready=True)})
    assert r.release_xvmgs == ["wf-old"]


def test_exit_expression_can_succeed_despite_a_failed_optional_node() -> None:
    s = spec(
        node("train"),
        node("optional-lint"),
        exit_phase_expression='nodes.train.phase == "Succeeded"',
    )
    r = Sim(compile_ok(s), outcomes={"optional-lint": P.FAILED}).run()
    assert phases(r)["optional-lint"] is P.FAILED
    assert r.phase is WorkflowPhase.SUCCEEDED
    assert r.exit_error is None


@pytest.mark.parametrize(
    ("expression", "want"),
    [
        ("false", WorkflowPhase.FAILED),
        ('"Error"', WorkflowPhase.ERROR),
        ('nodes["a"].message == "a Succeeded" ? "Succeeded" : "Failed"', WorkflowPhase.SUCCEEDED),
        ('workflow.name == "wf" && workflow.namespace == "ns"', WorkflowPhase.SUCCEEDED),
        ('workflow.labels.team == "vision"', WorkflowPhase.SUCCEEDED),
        ('inputs.n + 1 == 4 && inputs.data.mountPath == "/d"', WorkflowPhase.SUCCEEDED),
    ],
)
def test_exit_expression_results(expression: str, want: WorkflowPhase) -> None:
    s = spec(
        node("a"),
        exit_phase_expression=expression,
        inputs=[
            {"name": "n", "value": {"integer": 3}},
            {
                "name": "data",
                "value": {"xMount": {"serverAddr": "h:1", "mountID": "v", "mountPath": "/d"}},
            },
        ],
    )
    compiled = compile_ok(s, labels={"team": "vision"})
    assert Sim(compiled).run().phase is want


def test_exit_expression_runtime_error_gives_error_with_the_cel_message() -> None:
    s = spec(node("a"), exit_phase_expression="nodes.missing.phase == 'Succeeded'")
    r = Sim(compile_ok(s)).run()
    assert r.phase is WorkflowPhase.ERROR
    assert r.exit_error is not None
    assert "missing" in r.exit_error
    assert r.message == r.exit_error


def test_exit_expression_of_the_wrong_type_gives_error() -> None:
    r = Sim(compile_ok(spec(node("a"), exit_phase_expression="42"))).run()
    assert r.phase is WorkflowPhase.ERROR
    assert r.exit_error is not None
    assert "42" in r.exit_error


def test_exit_expression_waits_until_everything_is_settled() -> None:
    compiled = compile_ok(spec(node("a"), node("b"), exit_phase_expression="true"))
    r = compiled.step({"a": NodeObservation(P.SUCCEEDED)}, {})
    assert r.phase is WorkflowPhase.RUNNING
    assert r.progress == "1/2"


def test_error_of_a_child_omits_dependents() -> None:
    compiled = compile_ok(spec(node("a"), node("b", "a")))
    r = compiled.step({"a": NodeObservation(P.ERROR, "create failed")}, {})
    assert phases(r)["b"] is P.OMITTED
    assert r.phase is WorkflowPhase.FAILED
    assert r.message == "node a is Error: create failed"


def test_only_omitted_nodes_still_fail_the_workflow() -> None:
    compiled = compile_ok(spec(node("a"), node("b", "a")))
    r = compiled.step({"a": NodeObservation(P.OMITTED, "")}, {})
    assert r.phase is WorkflowPhase.FAILED


def test_started_nodes_are_running_with_a_child_and_observations_pass_through() -> None:
    compiled = compile_ok(spec(node("a"), node("b")))
    r = compiled.step({"b": NodeObservation(P.SUCCEEDED, "done")}, {})
    a, b = r.nodes
    assert (a.phase, a.message, a.child) == (P.RUNNING, "starting", "wf-a")
    assert (b.phase, b.message, b.child) == (P.SUCCEEDED, "done", "wf-b")
    status = a.to_status()
    assert status.child_ref is not None
    assert (status.child_ref.kind, status.child_ref.name) == ("Task", "wf-a")
    assert r.phase is WorkflowPhase.RUNNING
    assert r.message == "1 Running"


def test_node_messages_are_capped() -> None:
    compiled = compile_ok(spec(node("a")))
    r = compiled.step({"a": NodeObservation(P.FAILED, "x" * 10_000)}, {})
    assert len(r.nodes[0].message) == 256
    assert r.nodes[0].message.endswith("...")


def test_a_render_error_makes_the_node_error() -> None:
    bad = {"job": {"template": {"spec": {"containers": [{"name": "c", "env": "oops"}]}}}}
    compiled = compile_ok(spec(node("a", workload=bad)))
    r = compiled.step({}, {})
    assert r.start == []
    assert phases(r)["a"] is P.ERROR
    assert "env must be a list" in r.nodes[0].message


def test_an_invalid_spec_steps_to_error_and_decides_nothing() -> None:
    compiled = compile_workflow(spec(node("a", "nope")), workflow_name=WF_NAME)
    r = compiled.step({}, {})
    assert r.phase is WorkflowPhase.ERROR
    assert r.message == "invalid spec: spec.nodes[a].depends[nope]: names no node"
    assert (r.start, r.nodes, r.create_xvmgs) == ([], [], [])


def test_step_is_deterministic_and_does_not_touch_its_arguments() -> None:
    compiled = compile_ok(spec(node("a"), node("b", "a"), node("c")))
    observed = {"a": NodeObservation(P.SUCCEEDED)}
    first = compiled.step(observed, {})
    assert compiled.step(observed, {}) == first
    assert observed == {"a": NodeObservation(P.SUCCEEDED)}


def test_empty_workflow_succeeds() -> None:
    r = compile_ok(spec()).step({}, {})
    assert settled(r)
    assert r.phase is WorkflowPhase.SUCCEEDED


WF_NAME = "wf"


def test_a_skipped_node_passes_an_upstream_failure_on() -> None:
    s = spec(node("a"), node("b", "a"), node("c", "b"), skipped_nodes=["b"])
    r = Sim(compile_ok(s), outcomes={"a": P.FAILED}).run()
    assert phases(r) == {"a": P.FAILED, "b": P.SKIPPED, "c": P.OMITTED}
    assert r.nodes[2].message == "dependency b is skipped and its dependencies did not succeed"


def test_fail_fast_on_a_failure_found_in_the_same_step() -> None:
    s = spec(node("a", xvmg="gpu"), node("x"), xvmg_templates=[pool()], fail_fast=True)
    failed = {"wf-gpu": XvmgObservation(ready=False, failed=True, message="no capacity")}
    r = compile_ok(s).step({}, failed)
    assert r.start == []
    assert phases(r) == {"a": P.ERROR, "x": P.OMITTED}
    assert r.nodes[1].message == "failFast: node a is Error"
