"""A thread-unsafe (single event loop) indexed object store: client-go's ``cache.Indexer``.

Objects are keyed by ``namespace/name`` (``name`` when cluster-scoped). Indexers map an
object to index values; ``by_index`` returns the objects with a given value. Built in:
namespace, controller owner UID and labels (``key=value``).

Stored objects are shared, not copied: treat what the store returns as read-only.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from xeem.runtime.resource import Obj, controller_of, meta, object_key

IndexFunc = Callable[[Obj], Iterable[str]]

INDEX_NAMESPACE = "namespace"
INDEX_CONTROLLER_UID = "controller-uid"
INDEX_LABEL = "label"


def index_by_namespace(obj: Obj) -> list[str]:
    ns = meta(obj).get("namespace")
    return [ns] if ns else []


def index_by_controller_uid(obj: Obj) -> list[str]:
    ref = controller_of(obj)
    return [str(ref["uid"])] if ref and ref.get("uid") else []


def index_by_label(obj: Obj) -> list[str]:
    labels = meta(obj).get("labels") or {}
    return [f"{k}={v}" for k, v in labels.items()]


DEFAULT_INDEXERS: dict[str, IndexFunc] = {
    INDEX_NAMESPACE: index_by_namespace,
    INDEX_CONTROLLER_UID: index_by_controller_uid,
    INDEX_LABEL: index_by_label,
}


def labels_match(obj: Obj, selector: Mapping[str, str] | None) -> bool:
    if not selector:
        return True
    labels = meta(obj).get("labels") or {}
    return all(labels.get(k) == v for k, v in selector.items())


def parse_label_selector(selector: str | Mapping[str, str] | None) -> dict[str, str] | None:
    """Equality-based selectors only (``a=b,c==d``); the cache can't evaluate set-based."""
    if selector is None:
        return None
    if not isinstance(selector, str):
        return dict(selector)
    out: dict[str, str] = {}
    for term in filter(None, (t.strip() for t in selector.split(","))):
        if "!=" in term or " in " in term or " notin " in term or "=" not in term:
            raise ValueError(f"unsupported label selector term for the cache: {term!r}")
        key, _, value = term.replace("==", "=").partition("=")
        out[key.strip()] = value.strip()
    return out


def format_label_selector(selector: Mapping[str, str]) -> str:
    return ",".join(f"{k}={v}" for k, v in selector.items())


class Store:
    """Objects by key, plus indices kept up to date on every write."""

    def __init__(self, indexers: Mapping[str, IndexFunc] | None = None) -> None:
        self._items: dict[str, Obj] = {}
        self._indexers: dict[str, IndexFunc] = dict(
            DEFAULT_INDEXERS if indexers is None else indexers
        )
        self._indices: dict[str, dict[str, set[str]]] = {n: {} for n in self._indexers}

    # -- indexers ----------------------------------------------------------------------------

    def add_indexers(self, indexers: Mapping[str, IndexFunc]) -> None:
        """Add indexers (existing objects are indexed at once)."""
        for name, fn in indexers.items():
            if name in self._indexers:
                raise ValueError(f"indexer {name!r} already exists")
            self._indexers[name] = fn
            index: dict[str, set[str]] = {}
            for key, obj in self._items.items():
                for value in fn(obj):
                    index.setdefault(value, set()).add(key)
            self._indices[name] = index

    @property
    def indexers(self) -> dict[str, IndexFunc]:
        return dict(self._indexers)

    # -- writes ------------------------------------------------------------------------------

    def add(self, obj: Obj) -> Obj | None:
        """Insert or replace; returns the previous object under the same key."""
        key = object_key(obj)
        old = self._items.get(key)
        self._items[key] = obj
        self._update_indices(key, old, obj)
        return old

    update = add

    def delete(self, obj: Obj) -> Obj | None:
        return self.delete_key(object_key(obj))

    def delete_key(self, key: str) -> Obj | None:
        old = self._items.pop(key, None)
        if old is not None:
            self._update_indices(key, old, None)
        return old

    def replace(self, objs: Iterable[Obj]) -> None:
        self._items = {}
        self._indices = {n: {} for n in self._indexers}
        for obj in objs:
            self.add(obj)

    # -- reads -------------------------------------------------------------------------------

    def get(self, key: str) -> Obj | None:
        return self._items.get(key)

    def __contains__(self, key: object) -> bool:
        return key in self._items

    def __len__(self) -> int:
        return len(self._items)

    def keys(self) -> builtins.list[str]:
        return builtins.list(self._items)

    def list(self) -> builtins.list[Obj]:
        return builtins.list(self._items.values())

    def items(self) -> Iterable[tuple[str, Obj]]:
        return self._items.items()

    def index_keys(self, index_name: str, value: str) -> builtins.list[str]:
        return sorted(self._index(index_name).get(value, ()))

    def by_index(self, index_name: str, value: str) -> builtins.list[Obj]:
        keys = self._index(index_name).get(value, ())
        return [self._items[k] for k in sorted(keys)]

    def index_values(self, index_name: str) -> builtins.list[str]:
        return sorted(self._index(index_name))

    def select(
        self, namespace: str | None = None, label_selector: Mapping[str, str] | None = None
    ) -> builtins.list[Obj]:
        """Objects in ``namespace`` (all when None) whose labels match ``label_selector``."""
        candidates: Iterable[str]
        if label_selector:
            # start from the smallest label posting list
            postings = [
                self._indices.get(INDEX_LABEL, {}).get(f"{k}={v}", set())
                for k, v in label_selector.items()
            ]
            if INDEX_LABEL in self._indices:
                candidates = set.intersection(*postings) if postings else set()
            else:
                candidates = self._items.keys()
        elif namespace and INDEX_NAMESPACE in self._indices:
            candidates = self._indices[INDEX_NAMESPACE].get(namespace, set())
        else:
            candidates = self._items.keys()
        out = []
        for key in sorted(candidates):
            obj = self._items[key]
            if namespace and meta(obj).get("namespace") != namespace:
                continue
            if not labels_match(obj, label_selector):
                continue
            out.append(obj)
        return out

    # -- internals ---------------------------------------------------------------------------

    def _index(self, index_name: str) -> dict[str, set[str]]:
        try:
            return self._indices[index_name]
        except KeyError:
            raise KeyError(f"no indexer named {index_name!r}") from None

    def _update_indices(self, key: str, old: Obj | None, new: Obj | None) -> None:
        for name, fn in self._indexers.items():
            index = self._indices[name]
            old_values = set(fn(old)) if old is not None else set()
            new_values = set(fn(new)) if new is not None else set()
            for value in old_values - new_values:
                keys = index.get(value)
                if keys is not None:
                    keys.discard(key)
                    if not keys:
                        del index[value]
            for value in new_values - old_values:
                index.setdefault(value, set()).add(key)


def describe(obj: Obj) -> dict[str, Any]:
    """namespace/name for structured logs."""
    m = meta(obj)
    return {"namespace": m.get("namespace", ""), "name": m.get("name", "")}
