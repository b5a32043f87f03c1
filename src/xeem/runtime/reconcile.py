"""What a reconciler gets and returns: ``Request``, ``Result``, ``TerminalError``."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True, order=True)
class Request:
    """The object to reconcile, by name (the workqueue key)."""

    namespace: str
    name: str

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}" if self.namespace else self.name

    def __str__(self) -> str:
        return self.key


@dataclass(frozen=True, slots=True)
class Result:
    """``requeue_after > 0``: reconcile again after that many seconds (not an error).
    ``requeue``: reconcile again, rate limited (as after an error, without counting one)."""

    requeue_after: float = 0.0
    requeue: bool = False


class TerminalError(Exception):
    """A reconcile error that retrying can't fix: counted and logged, never requeued."""


class Reconciler(Protocol):
    async def reconcile(self, request: Request) -> Result | None: ...


ReconcileFunc = Callable[[Request], Awaitable[Result | None]]


class FuncReconciler:
    """A ``Reconciler`` from an async function."""

    def __init__(self, fn: ReconcileFunc) -> None:
        self._fn = fn

    async def reconcile(self, request: Request) -> Result | None:
        return await self._fn(request)
