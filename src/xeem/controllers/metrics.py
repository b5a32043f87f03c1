"""xeem's own metrics, next to the runtime's controller-runtime families.

Contract: ``xeem_workflows{phase}`` counts the workflows this controller knows by phase;
``xeem_node_start_latency_seconds{kind}`` is the time from the controller seeing a node
become startable (its last dependency satisfied, or its workflow created) to the node's
Task/Service (kind Task|Service) and its Job/Deployment (kind Job|Deployment) being
created; ``xeem_children_created_total{kind}`` counts the objects xeem created.
"""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

DEPENDENCIES_SATISFIED_AT = "xeem.io/dependencies-satisfied-at"
"""Annotation on a Task or Service made by a Workflow: when the controller saw its node
become startable (RFC 3339, microseconds)."""

_LATENCY_BUCKETS = (
    *(0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.125, 0.15, 0.175, 0.2, 0.25, 0.3, 0.4, 0.5),
    *(0.75, 1.0, 1.5, 2.0, 3.0, 5.0, 10.0, 30.0),
)
"""Fine around the 250 ms start-latency target, so its p99 can be read off the histogram."""


class XeemMetrics:
    """The metric families of xeem's controllers on one registry."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.workflows = Gauge(
            "xeem_workflows",
            "Workflows known to the controller, by phase",
            ["phase"],
            registry=registry,
        )
        self.node_start_latency = Histogram(
            "xeem_node_start_latency_seconds",
            "Time from a node becoming startable to its Job or Deployment being created",
            ["kind"],
            buckets=_LATENCY_BUCKETS,
            registry=registry,
        )
        self.children_created = Counter(
            "xeem_children_created_total",
            "Tasks, Services, Jobs and Deployments created by xeem",
            ["kind"],
            registry=registry,
        )
        self._phases: dict[str, str] = {}

    def workflow_phase(self, key: str, phase: str | None) -> None:
        """Record the phase of workflow ``key`` (None: it is gone)."""
        old = self._phases.pop(key, None)
        if old is not None:
            self.workflows.labels(phase=old).dec()
        if phase is not None:
            self._phases[key] = phase
            self.workflows.labels(phase=phase).inc()

    def child_created(self, kind: str, source: dict[str, Any]) -> None:
        """Count a created ``kind``; observe its start latency when ``source`` (the object
        it was made from, or itself) carries the dependencies-satisfied annotation."""
        self.children_created.labels(kind=kind).inc()
        stamp = ((source.get("metadata") or {}).get("annotations") or {}).get(
            DEPENDENCIES_SATISFIED_AT
        )
        if not stamp:
            return
        try:
            startable = datetime.fromisoformat(stamp).timestamp()
        except ValueError:
            return
        self.node_start_latency.labels(kind=kind).observe(max(time.time() - startable, 0.0))
