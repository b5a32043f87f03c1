"""The CEL exit expression on its own."""

from __future__ import annotations

import pytest

from xeem.api.phases import WorkflowPhase
from xeem.engine.exitexpr import ExitCompileError, ExitExpression

pytestmark = pytest.mark.unit

NODES = {"a": {"phase": "Succeeded", "message": ""}, "b-c": {"phase": "Failed", "message": "x"}}
WORKFLOW = {"name": "wf", "namespace": "ns", "labels": {}, "annotations": {}}


def run(source: str) -> tuple[WorkflowPhase, str | None]:
    out = ExitExpression(source).evaluate(NODES, WORKFLOW, {"n": 2})
    return out.phase, out.error


@pytest.mark.parametrize(
    ("source", "phase"),
    [
        ("true", WorkflowPhase.SUCCEEDED),
        ('nodes["b-c"].phase == "Failed"', WorkflowPhase.SUCCEEDED),
        ('nodes.all(n, nodes[n].phase == "Succeeded")', WorkflowPhase.FAILED),
        (
            'nodes.exists(n, nodes[n].phase == "Failed") ? "Error" : "Succeeded"',
            WorkflowPhase.ERROR,
        ),
        ('"Failed"', WorkflowPhase.FAILED),
        ("inputs.n == 2", WorkflowPhase.SUCCEEDED),
    ],
)
def test_results(source: str, phase: WorkflowPhase) -> None:
    assert run(source) == (phase, None)


@pytest.mark.parametrize(
    ("source", "needle"),
    [
        ("nodes.nope.phase", "no such key: 'nope'"),
        ("1 / 0", "division by zero"),
        ('1 + "a"', "overload"),
        ('"Running"', "returned 'Running'"),
        ("inputs.n", "returned 2"),
    ],
)
def test_errors(source: str, needle: str) -> None:
    phase, error = run(source)
    assert phase is WorkflowPhase.ERROR
    assert error is not None
    assert error.startswith("exitPhaseExpression: ")
    assert needle in error


def test_compile_error() -> None:
    with pytest.raises(ExitCompileError, match="Syntax error"):
        ExitExpression("nodes.a.phase ==")
