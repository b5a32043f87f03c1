"""The pure workflow engine: validation, input resolution, rendering, CEL and the step.

Contract: this package imports nothing from any Kubernetes client; it turns a
``WorkflowSpec`` plus observed state into decisions (``StepResult``) for a controller.
"""

from xeem.engine.compile import compile_workflow
from xeem.engine.compiled import CompiledWorkflow
from xeem.engine.observations import NodeObservation, XvmgObservation
from xeem.engine.problems import Problem
from xeem.engine.render import (
    Placement,
    RenderContext,
    RenderError,
    render_deployment_spec,
    render_job_spec,
    render_pod_template,
)
from xeem.engine.results import NodeStart, NodeState, StepResult, XvmgCreate
from xeem.engine.xmount import CsiXMount, NfsXMount, XMountRenderer

__all__ = [
    "CompiledWorkflow",
    "CsiXMount",
    "NfsXMount",
    "NodeObservation",
    "NodeStart",
    "NodeState",
    "Placement",
    "Problem",
    "RenderContext",
    "RenderError",
    "StepResult",
    "XMountRenderer",
    "XvmgCreate",
    "XvmgObservation",
    "compile_workflow",
    "render_deployment_spec",
    "render_job_spec",
    "render_pod_template",
]
