"""Resource types and small helpers on unstructured objects.

Objects are the plain JSON dicts the API server returns; a ``ResourceType`` says where they
live (group, version, plural) and what they are called (kind), like a GroupVersionResource
plus a GroupVersionKind.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

Obj = dict[str, Any]


@dataclass(frozen=True, slots=True)
class ResourceType:
    group: str
    version: str
    plural: str
    kind: str
    namespaced: bool = True

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def group_kind(self) -> str:
        return f"{self.kind}.{self.group}" if self.group else self.kind

    def base_path(self) -> str:
        return f"/apis/{self.group}/{self.version}" if self.group else f"/api/{self.version}"

    def path(
        self, namespace: str | None = None, name: str | None = None, subresource: str | None = None
    ) -> str:
        """The REST path of the collection, an object, or one of its subresources."""
        parts = [self.base_path()]
        if self.namespaced and namespace:
            parts.append(f"/namespaces/{namespace}")
        parts.append(f"/{self.plural}")
        if name is not None:
            parts.append(f"/{name}")
            if subresource:
                parts.append(f"/{subresource}")
        return "".join(parts)

    def matches(self, api_version: str, kind: str) -> bool:
        return kind == self.kind and api_version == self.api_version

    def __str__(self) -> str:
        return f"{self.plural}.{self.group}" if self.group else self.plural


# Built-in types the runtime and xeem use.
NAMESPACE = ResourceType("", "v1", "namespaces", "Namespace", namespaced=False)
POD = ResourceType("", "v1", "pods", "Pod")
SERVICE = ResourceType("", "v1", "services", "Service")
CONFIG_MAP = ResourceType("", "v1", "configmaps", "ConfigMap")
SECRET = ResourceType("", "v1", "secrets", "Secret")
EVENT = ResourceType("", "v1", "events", "Event")
NODE = ResourceType("", "v1", "nodes", "Node", namespaced=False)
SERVICE_ACCOUNT = ResourceType("", "v1", "serviceaccounts", "ServiceAccount")
PERSISTENT_VOLUME_CLAIM = ResourceType("", "v1", "persistentvolumeclaims", "PersistentVolumeClaim")
PERSISTENT_VOLUME = ResourceType("", "v1", "persistentvolumes", "PersistentVolume", False)
JOB = ResourceType("batch", "v1", "jobs", "Job")
DEPLOYMENT = ResourceType("apps", "v1", "deployments", "Deployment")
STATEFUL_SET = ResourceType("apps", "v1", "statefulsets", "StatefulSet")
LEASE = ResourceType("coordination.k8s.io", "v1", "leases", "Lease")
CUSTOM_RESOURCE_DEFINITION = ResourceType(
    "apiextensions.k8s.io", "v1", "customresourcedefinitions", "CustomResourceDefinition", False
)

BUILTIN_TYPES: tuple[ResourceType, ...] = (
    NAMESPACE,
    POD,
    SERVICE,
    CONFIG_MAP,
    SECRET,
    EVENT,
    NODE,
    SERVICE_ACCOUNT,
    PERSISTENT_VOLUME_CLAIM,
    PERSISTENT_VOLUME,
    JOB,
    DEPLOYMENT,
    STATEFUL_SET,
    LEASE,
    CUSTOM_RESOURCE_DEFINITION,
)


def meta(obj: Obj) -> dict[str, Any]:
    m = obj.get("metadata")
    return m if isinstance(m, dict) else {}


def name_of(obj: Obj) -> str:
    return str(meta(obj).get("name", ""))


def namespace_of(obj: Obj) -> str:
    return str(meta(obj).get("namespace") or "")


def uid_of(obj: Obj) -> str:
    return str(meta(obj).get("uid", ""))


def resource_version_of(obj: Obj) -> str:
    return str(meta(obj).get("resourceVersion", ""))


def generation_of(obj: Obj) -> int | None:
    g = meta(obj).get("generation")
    return int(g) if g is not None else None


def object_key(obj: Obj) -> str:
    """client-go's MetaNamespaceKeyFunc: ``namespace/name`` or ``name``."""
    m = meta(obj)
    ns = m.get("namespace")
    name = m.get("name", "")
    return f"{ns}/{name}" if ns else str(name)


def make_key(namespace: str | None, name: str) -> str:
    return f"{namespace}/{name}" if namespace else name


def controller_of(obj: Obj) -> dict[str, Any] | None:
    """The ownerReference with ``controller: true``, if any."""
    for ref in meta(obj).get("ownerReferences") or ():
        if ref.get("controller"):
            return dict(ref)
    return None


def owner_reference(
    owner: Obj, *, controller: bool = True, block_owner_deletion: bool = True
) -> dict[str, Any]:
    """An ownerReference pointing at ``owner`` (pass to a child's metadata)."""
    return {
        "apiVersion": owner.get("apiVersion", ""),
        "kind": owner.get("kind", ""),
        "name": name_of(owner),
        "uid": uid_of(owner),
        "controller": controller,
        "blockOwnerDeletion": block_owner_deletion,
    }


def json_copy(value: Any) -> Any:
    """A deep copy of JSON data (dicts with string keys, lists, strings, numbers, booleans,
    None) through orjson: ~3x faster than a recursive copy, ~20x than ``copy.deepcopy``."""
    return orjson.loads(orjson.dumps(value))
