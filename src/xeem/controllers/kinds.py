"""Resource types of the xeem.io/v1alpha1 kinds, for the runtime's client and informers."""

from __future__ import annotations

from xeem.api.base import GROUP, VERSION
from xeem.runtime.resource import ResourceType

WORKFLOW = ResourceType(GROUP, VERSION, "workflows", "Workflow")
TASK = ResourceType(GROUP, VERSION, "tasks", "Task")
XSERVICE = ResourceType(GROUP, VERSION, "services", "Service")
"""xeem's Service (``xsvc``), not the core v1 Service (``xeem.runtime.resource.SERVICE``)."""
VIRTUAL_MACHINE_GROUP = ResourceType(GROUP, VERSION, "virtualmachinegroups", "VirtualMachineGroup")
VIRTUAL_MACHINE = ResourceType(GROUP, VERSION, "virtualmachines", "VirtualMachine")
"""xeem's VirtualMachine (``xvm``), not KubeVirt's (``xeem.providers.kubevirt.KUBEVIRT_VM``)."""
BLOCK_STORAGE = ResourceType(GROUP, VERSION, "blockstorages", "BlockStorage")
VIRTUAL_MACHINE_TYPE = ResourceType(
    GROUP, VERSION, "virtualmachinetypes", "VirtualMachineType", namespaced=False
)
