"""Prometheus metrics with controller-runtime's and client-go's names and labels.

One ``RuntimeMetrics`` per ``CollectorRegistry`` (cached), so several managers in a process
share metric families when they share a registry, and never collide when they do not. The
binary uses ``DEFAULT_REGISTRY``.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

DEFAULT_REGISTRY = CollectorRegistry(auto_describe=True)

# client-go / controller-runtime: prometheus.ExponentialBuckets(10e-9, 10, 12)
_WORKQUEUE_BUCKETS = tuple(1e-8 * 10**i for i in range(12))
_RECONCILE_BUCKETS = (
    0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.6, 0.7, 0.8,
    0.9, 1.0, 1.25, 1.5, 1.75, 2.0, 2.5, 3.0, 3.5, 4.0, 4.5, 5, 6, 7, 8, 9, 10, 15, 20, 25, 30,
    40, 50, 60,
)  # fmt: skip


class RuntimeMetrics:
    """All metric families of the runtime, registered on one registry."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry
        r = registry
        # controller-runtime pkg/internal/controller/metrics
        self.reconcile_total = Counter(
            "controller_runtime_reconcile_total",
            "Total number of reconciliations per controller",
            ["controller", "result"],
            registry=r,
        )
        self.reconcile_errors = Counter(
            "controller_runtime_reconcile_errors_total",
            "Total number of reconciliation errors per controller",
            ["controller"],
            registry=r,
        )
        self.terminal_reconcile_errors = Counter(
            "controller_runtime_terminal_reconcile_errors_total",
            "Total number of terminal reconciliation errors per controller",
            ["controller"],
            registry=r,
        )
        self.reconcile_panics = Counter(
            "controller_runtime_reconcile_panics_total",
            "Total number of reconciliation panics per controller",
            ["controller"],
            registry=r,
        )
        self.reconcile_time = Histogram(
            "controller_runtime_reconcile_time_seconds",
            "Length of time per reconciliation per controller",
            ["controller"],
            buckets=_RECONCILE_BUCKETS,
            registry=r,
        )
        self.max_concurrent_reconciles = Gauge(
            "controller_runtime_max_concurrent_reconciles",
            "Maximum number of concurrent reconciles per controller",
            ["controller"],
            registry=r,
        )
        self.active_workers = Gauge(
            "controller_runtime_active_workers",
            "Number of currently used workers per controller",
            ["controller"],
            registry=r,
        )
        # controller-runtime pkg/metrics/workqueue.go
        self.workqueue_depth = Gauge(
            "workqueue_depth",
            "Current depth of workqueue by workqueue and priority",
            ["name", "controller", "priority"],
            registry=r,
        )
        self.workqueue_adds = Counter(
            "workqueue_adds_total",
            "Total number of adds handled by workqueue",
            ["name", "controller"],
            registry=r,
        )
        self.workqueue_queue_duration = Histogram(
            "workqueue_queue_duration_seconds",
            "How long in seconds an item stays in workqueue before being requested",
            ["name", "controller"],
            buckets=_WORKQUEUE_BUCKETS,
            registry=r,
        )
        self.workqueue_work_duration = Histogram(
            "workqueue_work_duration_seconds",
            "How long in seconds processing an item from workqueue takes.",
            ["name", "controller"],
            buckets=_WORKQUEUE_BUCKETS,
            registry=r,
        )
        self.workqueue_unfinished_work = Gauge(
            "workqueue_unfinished_work_seconds",
            "How many seconds of work has been done that is in progress and hasn't been "
            "observed by work_duration. Large values indicate stuck threads. One can deduce "
            "the number of stuck threads by observing the rate at which this increases.",
            ["name", "controller"],
            registry=r,
        )
        self.workqueue_longest_running_processor = Gauge(
            "workqueue_longest_running_processor_seconds",
            "How many seconds has the longest running processor for workqueue been running.",
            ["name", "controller"],
            registry=r,
        )
        self.workqueue_retries = Counter(
            "workqueue_retries_total",
            "Total number of retries handled by workqueue",
            ["name", "controller"],
            registry=r,
        )
        # controller-runtime pkg/metrics/client_go_adapter.go (client-go's REST client)
        self.rest_client_requests = Counter(
            "rest_client_requests_total",
            "Number of HTTP requests, partitioned by status code, method, and host.",
            ["code", "method", "host"],
            registry=r,
        )
        # xeem's event recorder (client-go's has no metrics): events written or dropped
        self.recorded_events = Counter(
            "event_recorder_events_total",
            "Events recorded, by component and outcome (written, or dropped by the spam "
            "filter, a full queue or the API server)",
            ["component", "outcome"],
            registry=r,
        )
        # client-go tools/leaderelection/metrics.go
        self.leader_election_master_status = Gauge(
            "leader_election_master_status",
            "Gauge of if the reporting system is master of the relevant lease, 0 indicates "
            "backup, 1 indicates master. 'name' is the string used to identify the lease. "
            "Please make sure to group by name.",
            ["name"],
            registry=r,
        )

    def queue(self, name: str) -> QueueMetrics:
        return QueueMetrics(self, name)


class QueueMetrics:
    """The children of the workqueue families for one queue (labels name=controller=name)."""

    def __init__(self, metrics: RuntimeMetrics, name: str) -> None:
        self.depth = metrics.workqueue_depth.labels(name, name, "")
        self.adds = metrics.workqueue_adds.labels(name, name)
        self.latency = metrics.workqueue_queue_duration.labels(name, name)
        self.work_duration = metrics.workqueue_work_duration.labels(name, name)
        self.unfinished = metrics.workqueue_unfinished_work.labels(name, name)
        self.longest = metrics.workqueue_longest_running_processor.labels(name, name)
        self.retries = metrics.workqueue_retries.labels(name, name)

    def bind_processing(
        self, unfinished: Callable[[], float], longest: Callable[[], float]
    ) -> None:
        """Unfinished/longest-running are computed at scrape time from the queue's state."""
        self.unfinished.set_function(unfinished)
        self.longest.set_function(longest)


_lock = threading.Lock()
_by_registry: weakref.WeakKeyDictionary[CollectorRegistry, RuntimeMetrics] = (
    weakref.WeakKeyDictionary()
)


def metrics_for(registry: CollectorRegistry | None = None) -> RuntimeMetrics:
    """The (cached) ``RuntimeMetrics`` of ``registry`` (default: ``DEFAULT_REGISTRY``)."""
    reg = DEFAULT_REGISTRY if registry is None else registry
    with _lock:
        found = _by_registry.get(reg)
        if found is None:
            found = RuntimeMetrics(reg)
            _by_registry[reg] = found
        return found


def sample_value(
    registry: CollectorRegistry, name: str, labels: dict[str, str] | None = None
) -> float:
    """A sample's value, 0.0 when absent (tests and health checks)."""
    value: Any = registry.get_sample_value(name, labels or {})
    return float(value) if value is not None else 0.0
