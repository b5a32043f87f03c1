"""xeem's controller runtime: a controller-runtime-style core on asyncio.

Knows nothing about workflows (a test enforces that it imports nothing from
``xeem.engine`` or ``xeem.api``). Objects are plain JSON dicts; types are ``ResourceType``.
"""

from xeem.runtime.cache import INDEX_CONTROLLER_UID, INDEX_LABEL, INDEX_NAMESPACE, Store
from xeem.runtime.client import Client, PatchType, retry_on_conflict
from xeem.runtime.clock import Clock, FakeClock, RealClock
from xeem.runtime.controller import Builder, Controller, Watch
from xeem.runtime.events import NORMAL, WARNING, EventRecorder
from xeem.runtime.handler import (
    EnqueueRequestForObject,
    EnqueueRequestForOwner,
    EnqueueRequestsFromMapFunc,
)
from xeem.runtime.informer import EventHandlerFuncs, Informer
from xeem.runtime.kube import (
    AlreadyExistsError,
    ApiError,
    ConflictError,
    GoneError,
    KubeConfig,
    NotFoundError,
    Transport,
    load_config,
)
from xeem.runtime.leader_election import LeaderElectionConfig, LeaderElectionLost, LeaderElector
from xeem.runtime.manager import CacheSyncTimeout, Manager
from xeem.runtime.metrics import DEFAULT_REGISTRY, RuntimeMetrics, metrics_for
from xeem.runtime.predicate import Predicate, generation_changed
from xeem.runtime.reconcile import Reconciler, Request, Result, TerminalError
from xeem.runtime.resource import Obj, ResourceType, owner_reference
from xeem.runtime.workqueue import RateLimitingQueue

__all__ = [
    "DEFAULT_REGISTRY",
    "INDEX_CONTROLLER_UID",
    "INDEX_LABEL",
    "INDEX_NAMESPACE",
    "NORMAL",
    "WARNING",
    "AlreadyExistsError",
    "ApiError",
    "Builder",
    "CacheSyncTimeout",
    "Client",
    "Clock",
    "ConflictError",
    "Controller",
    "EnqueueRequestForObject",
    "EnqueueRequestForOwner",
    "EnqueueRequestsFromMapFunc",
    "EventHandlerFuncs",
    "EventRecorder",
    "FakeClock",
    "GoneError",
    "Informer",
    "KubeConfig",
    "LeaderElectionConfig",
    "LeaderElectionLost",
    "LeaderElector",
    "Manager",
    "NotFoundError",
    "Obj",
    "PatchType",
    "Predicate",
    "RateLimitingQueue",
    "RealClock",
    "Reconciler",
    "Request",
    "ResourceType",
    "Result",
    "RuntimeMetrics",
    "Store",
    "TerminalError",
    "Transport",
    "Watch",
    "generation_changed",
    "load_config",
    "metrics_for",
    "owner_reference",
    "retry_on_conflict",
]
