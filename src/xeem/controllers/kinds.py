"""Resource types of the xeem.io/v1alpha1 kinds, for the runtime's client and informers."""

from __future__ import annotations

from xeem.api.base import GROUP, VERSION
from xeem.runtime.resource import ResourceType

WORKFLOW = ResourceType(GROUP, VERSION, "workflows", "Workflow")
TASK = ResourceType(GROUP, VERSION, "tasks", "Task")
XSERVICE = ResourceType(GROUP, VERSION, "services", "Service")
"""xeem's Service (``xsvc``), not the core v1 Service (``xeem.runtime.resource.SERVICE``)."""
