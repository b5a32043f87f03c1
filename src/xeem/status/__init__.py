"""Pure status logic for Tasks and Services: Kubernetes API JSON in, status view out.

Nothing here talks to the API server; the reconcilers list the objects and write the status.
"""

from xeem.status.service import ServiceStatusView, observe_service
from xeem.status.task import TaskStatusView, observe_task

__all__ = ["ServiceStatusView", "TaskStatusView", "observe_service", "observe_task"]
