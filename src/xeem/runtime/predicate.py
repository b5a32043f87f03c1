"""Event filters for controllers (controller-runtime ``pkg/predicate``)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from xeem.runtime.resource import Obj, meta


class Predicate(Protocol):
    def create(self, obj: Obj) -> bool: ...

    def update(self, old: Obj, new: Obj) -> bool: ...

    def delete(self, obj: Obj) -> bool: ...


@dataclass(frozen=True)
class Funcs:
    """A predicate from optional callables; a missing one lets events through."""

    on_create: Callable[[Obj], bool] | None = None
    on_update: Callable[[Obj, Obj], bool] | None = None
    on_delete: Callable[[Obj], bool] | None = None

    def create(self, obj: Obj) -> bool:
        return self.on_create(obj) if self.on_create else True

    def update(self, old: Obj, new: Obj) -> bool:
        return self.on_update(old, new) if self.on_update else True

    def delete(self, obj: Obj) -> bool:
        return self.on_delete(obj) if self.on_delete else True


def _field_changed(name: str) -> Callable[[Obj, Obj], bool]:
    def changed(old: Obj, new: Obj) -> bool:
        return meta(old).get(name) != meta(new).get(name)

    return changed


def generation_changed() -> Predicate:
    """Pass updates only when ``metadata.generation`` changed (spec edits, not status)."""
    return Funcs(on_update=_field_changed("generation"))


def resource_version_changed() -> Predicate:
    return Funcs(on_update=_field_changed("resourceVersion"))


def labels_changed() -> Predicate:
    return Funcs(on_update=_field_changed("labels"))


def annotations_changed() -> Predicate:
    return Funcs(on_update=_field_changed("annotations"))


GenerationChangedPredicate = generation_changed


class _And:
    def __init__(self, *ps: Predicate) -> None:
        self.ps = ps

    def create(self, obj: Obj) -> bool:
        return all(p.create(obj) for p in self.ps)

    def update(self, old: Obj, new: Obj) -> bool:
        return all(p.update(old, new) for p in self.ps)

    def delete(self, obj: Obj) -> bool:
        return all(p.delete(obj) for p in self.ps)


class _Or:
    def __init__(self, *ps: Predicate) -> None:
        self.ps = ps

    def create(self, obj: Obj) -> bool:
        return any(p.create(obj) for p in self.ps)

    def update(self, old: Obj, new: Obj) -> bool:
        return any(p.update(old, new) for p in self.ps)

    def delete(self, obj: Obj) -> bool:
        return any(p.delete(obj) for p in self.ps)


class _Not:
    def __init__(self, p: Predicate) -> None:
        self.p = p

    def create(self, obj: Obj) -> bool:
        return not self.p.create(obj)

    def update(self, old: Obj, new: Obj) -> bool:
        return not self.p.update(old, new)

    def delete(self, obj: Obj) -> bool:
        return not self.p.delete(obj)


def and_(*ps: Predicate) -> Predicate:
    return _And(*ps)


def or_(*ps: Predicate) -> Predicate:
    return _Or(*ps)


def not_(p: Predicate) -> Predicate:
    return _Not(p)
