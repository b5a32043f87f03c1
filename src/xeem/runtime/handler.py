"""Map informer events to reconcile requests (controller-runtime ``pkg/handler``)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Protocol

from xeem.runtime.reconcile import Request
from xeem.runtime.resource import Obj, ResourceType, meta


class EventMapper(Protocol):
    def create(self, obj: Obj) -> Iterable[Request]: ...

    def update(self, old: Obj, new: Obj) -> Iterable[Request]: ...

    def delete(self, obj: Obj) -> Iterable[Request]: ...


def request_for(obj: Obj) -> Request:
    m = meta(obj)
    return Request(str(m.get("namespace") or ""), str(m.get("name", "")))


class EnqueueRequestForObject:
    """The object itself."""

    def create(self, obj: Obj) -> Iterable[Request]:
        return (request_for(obj),)

    def update(self, old: Obj, new: Obj) -> Iterable[Request]:
        return (request_for(new),)

    def delete(self, obj: Obj) -> Iterable[Request]:
        return (request_for(obj),)


def _group_of(api_version: str) -> str:
    return api_version.rpartition("/")[0]


class EnqueueRequestForOwner:
    """The owner of type ``owner`` named in the object's ownerReferences (only the one with
    ``controller: true`` unless ``only_controller=False``). On update both the old and the
    new owners are enqueued."""

    def __init__(self, owner: ResourceType, *, only_controller: bool = True) -> None:
        self.owner = owner
        self.only_controller = only_controller

    def _owners(self, obj: Obj) -> list[Request]:
        m = meta(obj)
        namespace = str(m.get("namespace") or "") if self.owner.namespaced else ""
        out = []
        for ref in m.get("ownerReferences") or ():
            if self.only_controller and not ref.get("controller"):
                continue
            if ref.get("kind") != self.owner.kind:
                continue
            if _group_of(str(ref.get("apiVersion", ""))) != self.owner.group:
                continue
            out.append(Request(namespace, str(ref.get("name", ""))))
        return out

    def create(self, obj: Obj) -> Iterable[Request]:
        return self._owners(obj)

    def update(self, old: Obj, new: Obj) -> Iterable[Request]:
        return dict.fromkeys([*self._owners(old), *self._owners(new)])

    def delete(self, obj: Obj) -> Iterable[Request]:
        return self._owners(obj)


MapFunc = Callable[[Obj], Iterable[Request]]


class EnqueueRequestsFromMapFunc:
    """Whatever ``fn`` maps the object to (on update: the old and the new object's)."""

    def __init__(self, fn: MapFunc) -> None:
        self.fn = fn

    def create(self, obj: Obj) -> Iterable[Request]:
        return self.fn(obj)

    def update(self, old: Obj, new: Obj) -> Iterable[Request]:
        return dict.fromkeys([*self.fn(old), *self.fn(new)])

    def delete(self, obj: Obj) -> Iterable[Request]:
        return self.fn(obj)
