"""An in-memory stand-in for ``xeem.runtime.client.Client`` with the API server's rules the
providers rely on: AlreadyExists on create, Conflict on a stale resourceVersion, NotFound,
equality label selectors. Each call yields to the event loop, so concurrent callers
interleave as they would against a server."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Mapping
from typing import Any

from xeem.runtime.kube import AlreadyExistsError, ConflictError, NotFoundError
from xeem.runtime.resource import Obj, ResourceType, json_copy


class FakeClient:
    def __init__(self) -> None:
        self.objects: dict[tuple[str, str, str], Obj] = {}
        self._versions = itertools.count(1)

    def _key(self, rt: ResourceType, name: str, namespace: str | None) -> tuple[str, str, str]:
        return (str(rt), namespace or "" if rt.namespaced else "", name)

    def put(self, rt: ResourceType, obj: Obj) -> Obj:
        m = obj.setdefault("metadata", {})
        m["resourceVersion"] = str(next(self._versions))
        m.setdefault("uid", f"uid-{m['name']}")
        self.objects[self._key(rt, m["name"], m.get("namespace"))] = json_copy(obj)
        return json_copy(obj)  # type: ignore[no-any-return]

    async def get(self, rt: ResourceType, name: str, namespace: str | None = None, **_: Any) -> Obj:
        await asyncio.sleep(0)
        obj = self.objects.get(self._key(rt, name, namespace))
        if obj is None:
            raise NotFoundError(404, "NotFound", f"{name} not found")
        return json_copy(obj)  # type: ignore[no-any-return]

    async def list(
        self,
        rt: ResourceType,
        namespace: str | None = None,
        *,
        label_selector: Mapping[str, str] | None = None,
        **_: Any,
    ) -> list[Obj]:
        await asyncio.sleep(0)
        out = []
        for (kind, _ns, _name), obj in sorted(self.objects.items()):
            labels = obj["metadata"].get("labels") or {}
            if kind == str(rt) and all(
                labels.get(k) == v for k, v in (label_selector or {}).items()
            ):
                out.append(json_copy(obj))
        return out

    async def create(self, rt: ResourceType, obj: Obj, **_: Any) -> Obj:
        await asyncio.sleep(0)
        m = obj["metadata"]
        if self._key(rt, m["name"], m.get("namespace")) in self.objects:
            raise AlreadyExistsError(409, "AlreadyExists", f"{m['name']} exists")
        return self.put(rt, json_copy(obj))

    async def update(self, rt: ResourceType, obj: Obj, **_: Any) -> Obj:
        await asyncio.sleep(0)
        m = obj["metadata"]
        stored = self.objects.get(self._key(rt, m["name"], m.get("namespace")))
        if stored is None:
            raise NotFoundError(404, "NotFound", m["name"])
        if stored["metadata"]["resourceVersion"] != m.get("resourceVersion"):
            raise ConflictError(409, "Conflict", "the object has been modified")
        return self.put(rt, json_copy(obj))

    async def delete(
        self, rt: ResourceType, name: str, namespace: str | None = None, **kw: Any
    ) -> Obj | None:
        await asyncio.sleep(0)
        obj = self.objects.pop(self._key(rt, name, namespace), None)
        if obj is None and not kw.get("ignore_not_found"):
            raise NotFoundError(404, "NotFound", name)
        return obj
