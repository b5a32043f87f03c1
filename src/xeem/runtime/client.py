"""The client: CRUD, patch and server-side apply on unstructured objects.

Reads (``get``, ``list``) are served from an informer's cache when one exists for the type
and covers the request (and has synced), like controller-runtime's delegating client; pass
``live=True`` to always ask the API server. Objects read from the cache are copies, safe to
mutate. Writes always go to the API server. A 409 on a stale ``resourceVersion`` raises
``ConflictError``; ``retry_on_conflict`` re-runs a read-modify-write until it sticks.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable, Mapping
from enum import StrEnum
from typing import Any, TypeVar

from xeem.runtime.cache import format_label_selector, parse_label_selector
from xeem.runtime.informer import Informer
from xeem.runtime.kube import ConflictError, NotFoundError, Transport
from xeem.runtime.resource import Obj, ResourceType, json_copy, meta

R = TypeVar("R")

InformerLookup = Callable[[ResourceType], Informer | None]


class PatchType(StrEnum):
    MERGE = "application/merge-patch+json"
    JSON = "application/json-patch+json"
    STRATEGIC = "application/strategic-merge-patch+json"
    APPLY = "application/apply-patch+yaml"


class Client:
    def __init__(
        self,
        transport: Transport,
        *,
        informers: InformerLookup | None = None,
        field_manager: str = "xeem",
    ) -> None:
        self.transport = transport
        self.field_manager = field_manager
        self._informers = informers

    # -- reads -------------------------------------------------------------------------------

    def _cache_for(
        self, rt: ResourceType, namespace: str | None, field_selector: str | None = None
    ) -> Informer | None:
        if self._informers is None or field_selector:
            return None
        informer = self._informers(rt)
        if informer is None or not informer.has_synced():
            return None
        if informer.label_selector or informer.field_selector:
            return None  # a filtered cache cannot answer for the whole type
        if informer.namespace and informer.namespace != namespace:
            return None
        return informer

    async def get(
        self, rt: ResourceType, name: str, namespace: str | None = None, *, live: bool = False
    ) -> Obj:
        """The object, from the cache when possible; raises ``NotFoundError``."""
        namespace = namespace if rt.namespaced else None
        informer = None if live else self._cache_for(rt, namespace)
        if informer is not None:
            obj = informer.get(name, namespace)
            if obj is None:
                raise NotFoundError(404, "NotFound", f'{rt} "{name}" not found (cache)')
            return dict(json_copy(obj))
        obj = await self.transport.request("GET", rt.path(namespace, name))
        return obj

    async def list(
        self,
        rt: ResourceType,
        namespace: str | None = None,
        *,
        label_selector: str | Mapping[str, str] | None = None,
        field_selector: str | None = None,
        live: bool = False,
    ) -> list[Obj]:
        """Objects of ``rt`` (in ``namespace`` or all), optionally filtered by selectors."""
        namespace = namespace if rt.namespaced else None
        informer = None if live else self._cache_for(rt, namespace, field_selector)
        if informer is not None:
            try:
                selector = parse_label_selector(label_selector)
            except ValueError:
                informer = None  # set-based selectors go to the server
            else:
                return [dict(json_copy(o)) for o in informer.list(namespace, selector)]
        if isinstance(label_selector, Mapping):
            label_selector = format_label_selector(label_selector)
        items: list[Obj] = []
        cont: str | None = None
        while True:
            body = await self.transport.request(
                "GET",
                rt.path(namespace),
                params={
                    "labelSelector": label_selector,
                    "fieldSelector": field_selector,
                    "limit": 500,
                    "continue": cont,
                },
            )
            for obj in body.get("items") or ():
                obj.setdefault("apiVersion", rt.api_version)
                obj.setdefault("kind", rt.kind)
                items.append(obj)
            cont = (body.get("metadata") or {}).get("continue") or None
            if cont is None:
                return items

    # -- writes ------------------------------------------------------------------------------

    @staticmethod
    def _ns(rt: ResourceType, obj: Obj, namespace: str | None) -> str | None:
        if not rt.namespaced:
            return None
        return namespace or meta(obj).get("namespace") or None

    def _with_type(self, rt: ResourceType, obj: Obj) -> Obj:
        if "apiVersion" in obj and "kind" in obj:
            return obj
        return {"apiVersion": rt.api_version, "kind": rt.kind, **obj}

    async def create(
        self,
        rt: ResourceType,
        obj: Obj,
        *,
        namespace: str | None = None,
        dry_run: bool = False,
    ) -> Obj:
        """POST; raises ``AlreadyExistsError`` when the name is taken."""
        return await self.transport.request(
            "POST",
            rt.path(self._ns(rt, obj, namespace)),
            body=self._with_type(rt, obj),
            params={"fieldManager": self.field_manager, "dryRun": "All" if dry_run else None},
        )

    async def update(self, rt: ResourceType, obj: Obj, *, subresource: str | None = None) -> Obj:
        """PUT with the object's resourceVersion; raises ``ConflictError`` if it is stale."""
        return await self.transport.request(
            "PUT",
            rt.path(self._ns(rt, obj, None), str(meta(obj).get("name", "")), subresource),
            body=self._with_type(rt, obj),
            params={"fieldManager": self.field_manager},
        )

    async def update_status(self, rt: ResourceType, obj: Obj) -> Obj:
        """PUT to the status subresource (only ``status`` changes are kept)."""
        return await self.update(rt, obj, subresource="status")

    async def patch(
        self,
        rt: ResourceType,
        name: str,
        patch: Any,
        *,
        namespace: str | None = None,
        patch_type: PatchType = PatchType.MERGE,
        subresource: str | None = None,
        field_manager: str | None = None,
        force: bool | None = None,
    ) -> Obj:
        """PATCH with a merge patch (a dict), a JSON patch (a list of operations), a
        strategic merge patch (built-in types) or a server-side apply configuration."""
        if patch_type is PatchType.JSON and not isinstance(patch, list):
            raise TypeError("a JSON patch is a list of operations")
        return await self.transport.request(
            "PATCH",
            rt.path(namespace if rt.namespaced else None, name, subresource),
            body=patch,
            content_type=str(patch_type),
            params={
                "fieldManager": field_manager or self.field_manager,
                "force": force if patch_type is PatchType.APPLY else None,
            },
        )

    async def patch_status(
        self,
        rt: ResourceType,
        name: str,
        patch: Any,
        *,
        namespace: str | None = None,
        patch_type: PatchType = PatchType.MERGE,
    ) -> Obj:
        return await self.patch(
            rt, name, patch, namespace=namespace, patch_type=patch_type, subresource="status"
        )

    async def apply(
        self,
        rt: ResourceType,
        obj: Obj,
        *,
        field_manager: str | None = None,
        force: bool = True,
        subresource: str | None = None,
    ) -> Obj:
        """Server-side apply ``obj`` (a partial object naming the fields this manager owns)."""
        body = self._with_type(rt, obj)
        return await self.patch(
            rt,
            str(meta(body).get("name", "")),
            body,
            namespace=self._ns(rt, body, None),
            patch_type=PatchType.APPLY,
            subresource=subresource,
            field_manager=field_manager,
            force=force,
        )

    async def apply_status(
        self, rt: ResourceType, obj: Obj, *, field_manager: str | None = None, force: bool = True
    ) -> Obj:
        return await self.apply(
            rt, obj, field_manager=field_manager, force=force, subresource="status"
        )

    async def delete(
        self,
        rt: ResourceType,
        name: str,
        namespace: str | None = None,
        *,
        propagation_policy: str | None = "Background",
        grace_period_seconds: int | None = None,
        preconditions: Mapping[str, str] | None = None,
        ignore_not_found: bool = False,
    ) -> Obj | None:
        """DELETE; returns the object (or Status) the server answered with."""
        body: dict[str, Any] = {"apiVersion": "v1", "kind": "DeleteOptions"}
        if propagation_policy:
            body["propagationPolicy"] = propagation_policy
        if grace_period_seconds is not None:
            body["gracePeriodSeconds"] = grace_period_seconds
        if preconditions:
            body["preconditions"] = dict(preconditions)
        try:
            return await self.transport.request(
                "DELETE", rt.path(namespace if rt.namespaced else None, name), body=body
            )
        except NotFoundError:
            if ignore_not_found:
                return None
            raise


async def retry_on_conflict(
    fn: Callable[[], Awaitable[R]],
    *,
    steps: int = 5,
    duration: float = 0.01,
    factor: float = 1.0,
    jitter: float = 0.1,
) -> R:
    """Run ``fn`` (a read-modify-write) again while it raises ``ConflictError``
    (client-go's ``retry.RetryOnConflict`` with ``retry.DefaultRetry``)."""
    delay = duration
    for attempt in range(steps):
        try:
            return await fn()
        except ConflictError:
            if attempt == steps - 1:
                raise
            await asyncio.sleep(delay * (1 + random.random() * jitter))
            delay *= factor
    raise AssertionError("unreachable")
