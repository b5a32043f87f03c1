"""When each node became startable, as this controller saw it (for the start latency).

Contract: ``seen(workflow_key, child_name)`` records the wall time of a child's latest
change event; ``startable_at(workflow_key, child_names, fallback)`` is the latest of those
times among a node's dependencies' children — the moment the controller saw the last one
settle — or ``fallback`` when none was seen (a root node, or a restarted controller).
``forget`` drops a workflow. Memory: one float per child of a live workflow.
"""

from __future__ import annotations

import time
from collections.abc import Iterable


class StartClock:
    """Latest change time of every child, per workflow."""

    def __init__(self) -> None:
        self._seen: dict[str, dict[str, float]] = {}

    def seen(self, workflow_key: str, child_name: str) -> None:
        self._seen.setdefault(workflow_key, {})[child_name] = time.time()

    def startable_at(self, workflow_key: str, child_names: Iterable[str], fallback: float) -> float:
        seen = self._seen.get(workflow_key, {})
        times = [seen[name] for name in child_names if name in seen]
        return max(times) if times else fallback

    def forget(self, workflow_key: str) -> None:
        self._seen.pop(workflow_key, None)
