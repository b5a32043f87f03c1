"""The statuses a reconciler wrote that its cache may not show yet.

A controller that is the only writer of its objects' status can trust its own last write
over a cache that lags behind it. Without this, a reconcile that runs between the write and
the watch event that carries it computes the same status again, sees the old one in the
cache, and writes it a second time: on a busy API server, one wasted status PATCH per lag.

Contract: ``overlay(obj)`` returns ``obj`` with the status this process last wrote for it
(same namespace/name and UID) while the cache does not show that status yet; once the cache
shows it, or the object is forgotten or replaced by a namesake, the entry is dropped, so
memory holds only writes still in flight. ``wrote(obj, status)`` records a write.
"""

from __future__ import annotations

from typing import Any

from xeem.runtime.resource import Obj, meta


def _key(obj: Obj) -> str:
    return f"{meta(obj).get('namespace', '')}/{meta(obj).get('name', '')}"


class WrittenStatus:
    """Per object: (UID, status last written) until the cache shows that status."""

    def __init__(self) -> None:
        self._pending: dict[str, tuple[str, dict[str, Any]]] = {}

    def overlay(self, obj: Obj) -> Obj:
        key = _key(obj)
        entry = self._pending.get(key)
        if entry is None:
            return obj
        uid, written = entry
        if uid != meta(obj).get("uid") or obj.get("status") == written:
            del self._pending[key]
            return obj
        return {**obj, "status": written}

    def wrote(self, obj: Obj, status: dict[str, Any]) -> None:
        """Record that ``status`` (as the server stores it: no null fields) was written."""
        self._pending[_key(obj)] = (str(meta(obj).get("uid", "")), status)

    def forget(self, key: str) -> None:
        """Drop the entry of ``namespace/name`` (the object is gone)."""
        self._pending.pop(key, None)

    def __len__(self) -> int:
        return len(self._pending)
