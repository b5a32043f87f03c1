"""Pure status logic for Tasks and Services: Kubernetes API JSON in, status view out.

Nothing here talks to the API server; the reconcilers list the objects and write the status.
"""

from xeem.status.service import NOT_CREATED, ServiceStatusView, observe_service
from xeem.status.task import TaskStatusView, observe_task

PROGRESS_REASONS = frozenset({"JobNotCreated", "PodsPending", "Running", NOT_CREATED, "RollingOut"})
"""Reasons of a Task or Service that is progressing normally: nothing to tell its parent
(a Workflow shows no message for such a node, and does not rewrite its status for them)."""

__all__ = [
    "PROGRESS_REASONS",
    "ServiceStatusView",
    "TaskStatusView",
    "observe_service",
    "observe_task",
]
