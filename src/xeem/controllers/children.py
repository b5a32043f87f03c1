"""Shared helpers of reconcilers that own child objects (Task -> Job, Service -> Deployment,
Workflow -> Task/Service).

Contracts:

- :func:`create_or_adopt` never modifies an object controlled by someone else: it creates the
  desired child, or returns the existing one when the owner controls it, or adopts an orphan
  (no controller) by adding the owner's controller reference, or raises
  :class:`ChildConflict` when another object controls it.
- :func:`child_metadata` gives every child the controller ownerReference
  (``controller: true``, ``blockOwnerDeletion: true``) so deleting the owner deletes it.
- :func:`write_status` patches the status subresource only when the computed status differs
  from the stored one, so a reconcile that changes nothing writes nothing.
- :func:`update_if_changed` rewrites a child only when the hash of its desired labels,
  annotations and spec (kept in the ``xeem.io/spec-hash`` annotation) changed.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from xeem.api.inputs import Input, InputValue
from xeem.controllers.written_status import WrittenStatus
from xeem.engine.render import RenderError
from xeem.runtime.client import Client
from xeem.runtime.handler import EnqueueRequestForOwner, MapFunc
from xeem.runtime.informer import Informer
from xeem.runtime.kube import AlreadyExistsError, ApiError, NotFoundError
from xeem.runtime.manager import Manager
from xeem.runtime.reconcile import Request
from xeem.runtime.resource import (
    EVENT,
    Obj,
    ResourceType,
    controller_of,
    meta,
    name_of,
    namespace_of,
    owner_reference,
    uid_of,
)

LABEL_PREFIX = "xeem.io/"
SPEC_HASH_ANNOTATION = "xeem.io/spec-hash"

M = TypeVar("M", bound=BaseModel)


INVALID_SPEC = "InvalidSpec"
"""Reason of a Task or Service whose spec cannot be rendered or is rejected by the API."""
OWNED_BY_OTHER = "OwnedByOther"
"""Reason of a Task or Service whose child's name is taken by a foreign object."""
INVALID_STATUSES = (400, 422)


class InvalidSpec(Exception):
    """The workload cannot be made from the spec; the message says why."""


def invalid_spec(error: Exception) -> InvalidSpec | None:
    """``error`` as an ``InvalidSpec`` when it means the spec is wrong, else None."""
    if isinstance(error, RenderError):
        return InvalidSpec(f"cannot render the workload: {error}")
    if isinstance(error, ValidationError):
        return InvalidSpec(f"invalid spec: {error.errors()[0].get('msg', error)}")
    if isinstance(error, ApiError) and error.status in INVALID_STATUSES:
        return InvalidSpec(f"rejected by the API server: {error.message or error}")
    return None


class ChildConflict(Exception):
    """The child's name is taken by an object another controller owns; it is left alone."""


@dataclass(frozen=True, slots=True)
class Claim:
    """The child the owner now controls, and how it got it."""

    obj: Obj
    created: bool = False
    adopted: bool = False
    updated: bool = False

    def __bool__(self) -> bool:
        """True when this call created the child (``if await create_or_adopt(...):``)."""
        return self.created


# -- metadata ------------------------------------------------------------------------------


def inherited_labels(owner: Obj) -> dict[str, str]:
    """The owner's ``xeem.io/*`` labels (e.g. ``xeem.io/workflow``), which children carry."""
    labels = meta(owner).get("labels") or {}
    return {k: str(v) for k, v in labels.items() if k.startswith(LABEL_PREFIX)}


def child_metadata(
    owner: Obj, name: str, labels: Mapping[str, str], annotations: Mapping[str, str]
) -> dict[str, Any]:
    """Metadata of a child of ``owner`` in its namespace, controlled by it."""
    return {
        "name": name,
        "namespace": namespace_of(owner),
        "labels": dict(labels),
        "annotations": dict(annotations),
        "ownerReferences": [owner_reference(owner)],
    }


def is_controlled_by(obj: Obj, owner: Obj) -> bool:
    """Whether ``owner`` is the controller of ``obj`` (by UID)."""
    ref = controller_of(obj)
    return ref is not None and ref.get("uid") == uid_of(owner)


def describe_controller(obj: Obj) -> str:
    """``Kind name`` of the controller of ``obj``, or "nobody"."""
    ref = controller_of(obj)
    return f"{ref.get('kind', '?')} {ref.get('name', '?')}" if ref else "nobody"


def resolved_inputs(inputs: Iterable[Input]) -> dict[str, InputValue]:
    """Input values by name; an input without a value (an unresolved valueFrom) is an error."""
    out: dict[str, InputValue] = {}
    for item in inputs:
        if item.value is None:
            raise RenderError(
                f"spec.inputs[{item.name}]: has no value (valueFrom is resolved "
                "only inside a Workflow)"
            )
        out[item.name] = item.value
    return out


def spec_hash(obj: Obj) -> str:
    """A short hash of what xeem sets on a child: labels, annotations (but the hash) and spec."""
    m = meta(obj)
    annotations = {
        k: v for k, v in (m.get("annotations") or {}).items() if k != SPEC_HASH_ANNOTATION
    }
    payload = {"labels": m.get("labels") or {}, "annotations": annotations, "spec": obj.get("spec")}
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:16]


def with_spec_hash(obj: Obj) -> Obj:
    """``obj`` with its ``xeem.io/spec-hash`` annotation set (in place, returned)."""
    obj["metadata"].setdefault("annotations", {})[SPEC_HASH_ANNOTATION] = spec_hash(obj)
    return obj


# -- reads ---------------------------------------------------------------------------------


async def get_or_none(
    client: Client, rt: ResourceType, name: str, namespace: str, *, live: bool = False
) -> Obj | None:
    """The object from the cache (or the server with ``live``), None when absent."""
    try:
        return await client.get(rt, name, namespace, live=live)
    except NotFoundError:
        return None


def is_deleting(obj: Obj) -> bool:
    return bool(meta(obj).get("deletionTimestamp"))


# -- writes --------------------------------------------------------------------------------


async def create_or_adopt(client: Client, rt: ResourceType, desired: Obj, owner: Obj) -> Claim:
    """Make ``owner`` control a child named like ``desired`` (see the module contract).

    Raises ``ChildConflict``; API errors (e.g. ``InvalidError`` for a spec the API server
    rejects) propagate.
    """
    name, namespace = name_of(desired), namespace_of(desired)
    existing = await get_or_none(client, rt, name, namespace)
    if existing is None:
        try:
            return Claim(await client.create(rt, desired), created=True)
        except AlreadyExistsError:
            existing = await client.get(rt, name, namespace, live=True)
    if is_controlled_by(existing, owner):
        return Claim(existing)
    if controller_of(existing) is not None:
        raise ChildConflict(
            f"{rt.kind.lower()} {name} already exists and is controlled by "
            f"{describe_controller(existing)}; xeem leaves it alone"
        )
    refs = [*(meta(existing).get("ownerReferences") or []), owner_reference(owner)]
    patch = {
        "metadata": {
            "ownerReferences": refs,
            "resourceVersion": meta(existing).get("resourceVersion"),
        }
    }
    adopted = await client.patch(rt, name, patch, namespace=namespace)
    return Claim(adopted, adopted=True)


async def update_if_changed(
    client: Client, rt: ResourceType, existing: Obj, desired: Obj, *, merge_spec: bool = False
) -> Obj:
    """Rewrite ``existing`` with ``desired``'s labels, annotations and spec when the spec hash
    ``desired`` carries (see :func:`with_spec_hash`) differs from the stored one; return the
    current object. Labels and annotations are merged (keys set by others survive); the spec
    is replaced, or with ``merge_spec`` updated key by key (keeping fields the server set, such
    as a core Service's clusterIP). A stale read raises ``ConflictError`` (retried).
    """
    want = (meta(desired).get("annotations") or {}).get(SPEC_HASH_ANNOTATION)
    have = (meta(existing).get("annotations") or {}).get(SPEC_HASH_ANNOTATION)
    if want == have:
        return existing
    updated = dict(existing)
    m = updated["metadata"] = dict(meta(existing))
    m["labels"] = {**(m.get("labels") or {}), **(meta(desired).get("labels") or {})}
    m["annotations"] = {**(m.get("annotations") or {}), **(meta(desired).get("annotations") or {})}
    spec = desired["spec"]
    updated["spec"] = {**(existing.get("spec") or {}), **spec} if merge_spec else spec
    return await client.update(rt, updated)


async def ensure_child(
    client: Client, rt: ResourceType, desired: Obj, owner: Obj, *, merge_spec: bool = False
) -> Claim:
    """:func:`create_or_adopt`, then :func:`update_if_changed` for a child that already was."""
    claim = await create_or_adopt(client, rt, desired, owner)
    if claim.created:
        return claim
    current = await update_if_changed(client, rt, claim.obj, desired, merge_spec=merge_spec)
    return Claim(current, adopted=claim.adopted, updated=current is not claim.obj)


def controller_or_namesake(owner: ResourceType, owners: Informer) -> MapFunc:
    """Map a child to the ``owner`` that controls it or, when none of that kind does, to the
    cached ``owner`` of the same name (whose deterministic child name it holds): so a Task
    hears of a foreign Job named like it being deleted, or of an orphan to adopt."""
    controlling = EnqueueRequestForOwner(owner)

    def map_child(child: Obj) -> list[Request]:
        requests = list(controlling.create(child))
        if requests:
            return requests
        name, namespace = name_of(child), namespace_of(child)
        return [Request(namespace, name)] if owners.get(name, namespace) is not None else []

    return map_child


def parse_status(obj: Obj, model: type[M]) -> M | None:
    """The stored status as ``model``, None when absent or unreadable."""
    raw = obj.get("status")
    if not isinstance(raw, dict) or not raw:
        return None
    try:
        return model.model_validate(raw)
    except ValidationError:
        return None


async def write_status(
    client: Client,
    rt: ResourceType,
    obj: Obj,
    status: BaseModel,
    previous: BaseModel | None,
    written: WrittenStatus | None = None,
) -> bool:
    """Merge-patch ``status`` onto ``obj``'s status subresource unless it equals
    ``previous``; fields the new status leaves unset are removed. True if written; the
    write is recorded in ``written`` when given."""
    if previous is not None and previous == status:
        return False
    stored: dict[str, Any] = status.model_dump(by_alias=True, exclude_none=True, mode="json")
    body = {**dict.fromkeys(obj.get("status") or {}), **stored}
    await client.patch_status(rt, name_of(obj), {"status": body}, namespace=namespace_of(obj))
    if written is not None:
        written.wrote(obj, stored)
    return True


def request_of(obj: Obj) -> Request:
    return Request(namespace_of(obj), name_of(obj))


# -- watching pods and Warning events ---------------------------------------------------------

EVENT_INDEX = "xeem.io/about"
"""Index of the Warning-event informer: ``namespace/Kind/name`` of the object an event is
about; events about a ReplicaSet are also indexed under its Deployment."""


def about_key(namespace: str, kind: str, name: str) -> str:
    return f"{namespace}/{kind}/{name}"


def event_subject(event: Obj) -> tuple[str, str, str] | None:
    """(namespace, kind, name) of the object a core/v1 or events.k8s.io/v1 event is about."""
    about = event.get("involvedObject") or event.get("regarding")
    if not isinstance(about, dict) or not about.get("kind") or not about.get("name"):
        return None
    namespace = str(about.get("namespace") or namespace_of(event))
    return namespace, str(about["kind"]), str(about["name"])


def replica_set_deployment(name: str) -> str | None:
    """The Deployment a ReplicaSet named ``<deployment>-<pod-template-hash>`` belongs to."""
    head, _, suffix = name.rpartition("-")
    return head if head and suffix.isalnum() else None


def index_event_about(event: Obj) -> list[str]:
    subject = event_subject(event)
    if subject is None:
        return []
    namespace, kind, name = subject
    keys = [about_key(namespace, kind, name)]
    deployment = replica_set_deployment(name) if kind == "ReplicaSet" else None
    if deployment:
        keys.append(about_key(namespace, "Deployment", deployment))
    return keys


def warning_event_informer(manager: Manager) -> Informer:
    """The shared Event informer, created listing only Warning events (call before any
    other user of the Event informer to get the filter), with :data:`EVENT_INDEX`."""
    informer = manager.informer(EVENT, field_selector="type=Warning")
    if EVENT_INDEX not in informer.store.indexers:
        informer.store.add_indexers({EVENT_INDEX: index_event_about})
    return informer


def warning_events_about(informer: Informer, keys: Iterable[str]) -> list[Obj]:
    """The cached Warning events about the objects with these :func:`about_key` keys."""
    found: dict[str, Obj] = {}
    for key in keys:
        for event in informer.store.by_index(EVENT_INDEX, key):
            if event.get("type") == "Warning":
                found[f"{namespace_of(event)}/{name_of(event)}"] = event
    return list(found.values())


def created_at(obj: Obj | None) -> datetime | None:
    """``metadata.creationTimestamp`` as an aware datetime."""
    value = meta(obj).get("creationTimestamp") if obj else None
    return datetime.fromisoformat(value) if isinstance(value, str) and value else None


def utc_now() -> datetime:
    """Now, to the second (the precision of a Kubernetes Time)."""
    return datetime.now(UTC).replace(microsecond=0)
