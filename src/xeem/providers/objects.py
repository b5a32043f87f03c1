"""Metadata shared by the objects providers create or claim.

Contract: ``tag(ref, provider, uid_label)`` gives the labels and annotation that let
``ref_of`` rebuild the ``ObjectRef`` from the object (for ``list``); ``owned_by`` is a
controller ownerReference to the xeem object itself, built from its ref alone;
``fresh_get`` reads through the cache but trusts only the server for absence.
"""

from __future__ import annotations

from typing import Any

from xeem.api.base import API_VERSION
from xeem.providers.base import OBJECT_ANNOTATION, PROVIDER_LABEL, ObjectRef
from xeem.runtime.client import Client
from xeem.runtime.kube import NotFoundError
from xeem.runtime.resource import Obj, ResourceType, meta, name_of

GIB = "Gi"


def tag(ref: ObjectRef, provider: str, uid_label: str) -> dict[str, Any]:
    """Labels and annotations (a partial ``metadata``) of a provider object for ``ref``."""
    return {
        "labels": {uid_label: ref.key, PROVIDER_LABEL: provider},
        "annotations": {OBJECT_ANNOTATION: f"{ref.namespace}/{ref.name}"},
    }


def ref_of(obj: Obj, uid_label: str) -> ObjectRef | None:
    """The xeem object a provider object was made for, None when it carries no tag."""
    key = (meta(obj).get("labels") or {}).get(uid_label)
    if not key:
        return None
    annotation = str((meta(obj).get("annotations") or {}).get(OBJECT_ANNOTATION, ""))
    namespace, _, name = annotation.partition("/")
    return ObjectRef(str(key), namespace, name or name_of(obj))


async def fresh_get(
    client: Client, rt: ResourceType, name: str, namespace: str | None = None
) -> Obj | None:
    """The object from the cache, or from the server when the cache has none: an object
    this provider just made may not be cached yet, and its absence must not be mistaken
    for a lost machine or a missing volume."""
    for live in (False, True):
        try:
            return await client.get(rt, name, namespace, live=live)
        except NotFoundError:
            continue
    return None


def owned_by(kind: str, ref: ObjectRef) -> dict[str, Any]:
    """A controller ownerReference to the xeem object ``kind``/``ref`` (same namespace)."""
    return {
        "apiVersion": API_VERSION,
        "kind": kind,
        "name": ref.name,
        "uid": ref.key,
        "controller": True,
        "blockOwnerDeletion": True,
    }


def gib(size_gb: int) -> str:
    """A size in GiB as a Kubernetes quantity."""
    return f"{size_gb}{GIB}"
