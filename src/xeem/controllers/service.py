"""The Service reconciler: one Service (``xsvc``) -> one apps/v1 Deployment and, when
``spec.service.ports`` is set, one core/v1 Service, both named like it.

Contract:

- The Deployment ``<name>`` is rendered from ``spec.deployment`` and ``spec.inputs`` (a
  Service applied by hand gets its inputs delivered; one a Workflow made is already
  rendered, and rendering is idempotent). Its selector is ``xeem.io/service: <name>`` only
  (selectors are immutable); its pods also carry the Service's ``xeem.io/*`` labels and
  ``spec.annotations``. Both children are controlled by the Service.
- Spec changes are applied: a child is rewritten when the hash of what xeem sets on it
  (``xeem.io/spec-hash``) changes; edits others make to a child are not reverted until then.
  A deleted Deployment is created again (a Service is a desired state, not a run).
- The core Service selects the same pods; it is deleted when the ports are removed.
- A child name held by a foreign object: reason ``OwnedByOther``, the object is untouched.
  A spec that cannot be rendered or that the API rejects: phase Failed, reason
  ``InvalidSpec``, ``TerminalError`` (no retry until the spec changes).
- Status comes from :func:`xeem.status.observe_service` over the Deployment, its pods (by the
  ``xeem.io/service`` label), cached Warning events about the Deployment, its ReplicaSets and
  its pods, and the core Service; it is written only when it changed.
- Wake-ups: the Service's spec changes, its children's events, its pods' events, Warning
  events about them; there is no polling.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import structlog
from pydantic import ValidationError

from xeem.api.service import Service, ServicePhase, ServiceStatus
from xeem.controllers.children import (
    INVALID_SPEC,
    OWNED_BY_OTHER,
    ChildConflict,
    child_metadata,
    controller_or_namesake,
    created_at,
    ensure_child,
    get_or_none,
    inherited_labels,
    invalid_spec,
    is_controlled_by,
    parse_status,
    resolved_inputs,
    utc_now,
    with_spec_hash,
)
from xeem.controllers.kinds import XSERVICE
from xeem.controllers.metrics import XeemMetrics
from xeem.controllers.workload import WorkloadReconciler, owner_of_event
from xeem.engine.render import RenderContext, RenderError, render_deployment_spec
from xeem.engine.xmount import XMountRenderer
from xeem.runtime.controller import Controller
from xeem.runtime.events import NORMAL, EventRecorder
from xeem.runtime.informer import Informer
from xeem.runtime.kube import ApiError
from xeem.runtime.manager import Manager
from xeem.runtime.predicate import generation_changed
from xeem.runtime.reconcile import Request, Result, TerminalError
from xeem.runtime.resource import (
    DEPLOYMENT,
    POD,
    SERVICE,
    Obj,
    ResourceType,
    generation_of,
    meta,
    name_of,
    namespace_of,
    uid_of,
)
from xeem.status import ServiceStatusView, observe_service

log = structlog.get_logger("xeem.controllers.service")

LABEL_SERVICE = "xeem.io/service"


def _labels(svc: Obj) -> dict[str, str]:
    return {**inherited_labels(svc), LABEL_SERVICE: name_of(svc)}


def selector(svc: Obj) -> dict[str, str]:
    """The labels that select a Service's pods (the Deployment's immutable selector)."""
    return {LABEL_SERVICE: name_of(svc)}


def build_deployment(svc: Obj, xmount: XMountRenderer) -> Obj:
    """The Deployment a Service wants (pure), with its spec hash; raises ``RenderError`` or
    ``ValidationError``."""
    model = Service.model_validate(svc)
    labels, annotations = _labels(svc), dict(model.spec.annotations)
    context = RenderContext(labels=labels, annotations=annotations, xmount=xmount)
    spec = render_deployment_spec(
        model.spec.deployment, resolved_inputs(model.spec.inputs), context
    )
    spec["selector"] = {"matchLabels": selector(svc)}
    return with_spec_hash(
        {
            "apiVersion": DEPLOYMENT.api_version,
            "kind": DEPLOYMENT.kind,
            "metadata": child_metadata(svc, name_of(svc), labels, annotations),
            "spec": spec,
        }
    )


def build_core_service(svc: Obj) -> Obj | None:
    """The core/v1 Service a Service wants (pure), or None without ports."""
    model = Service.model_validate(svc)
    if model.spec.service is None:
        return None
    ports = []
    for port in model.spec.service.ports:
        entry: dict[str, Any] = {
            "port": port.port,
            "targetPort": port.target_port if port.target_port is not None else port.port,
            "protocol": port.protocol,
        }
        if port.name:
            entry["name"] = port.name
        ports.append(entry)
    return with_spec_hash(
        {
            "apiVersion": SERVICE.api_version,
            "kind": SERVICE.kind,
            "metadata": child_metadata(svc, name_of(svc), _labels(svc), {}),
            "spec": {"selector": selector(svc), "ports": ports},
        }
    )


@dataclasses.dataclass
class _Children:
    deployment: Obj | None = None
    core: Obj | None = None


class ServiceReconciler(WorkloadReconciler):
    """Reconciles one Service at a time; see the module contract."""

    async def reconcile(self, request: Request) -> Result | None:
        svc = await self._current(XSERVICE, request)
        if svc is None:
            return None
        bound = log.bind(namespace=request.namespace, name=request.name)
        previous = parse_status(svc, ServiceStatus)
        children = _Children()
        override: tuple[ServicePhase, str, str] | None = None
        try:
            await self._sync(svc, children, bound)
        except ChildConflict as conflict:
            override = (ServicePhase.PROGRESSING, OWNED_BY_OTHER, str(conflict))
        except (RenderError, ValidationError, ApiError) as error:
            invalid = invalid_spec(error)
            if invalid is None:
                raise
            override = (ServicePhase.FAILED, INVALID_SPEC, str(invalid))
        view = self._observe(children)
        if override is not None:
            phase, reason, message = override
            view = dataclasses.replace(view, phase=phase, reason=reason, message=message)
        status = view.to_status(previous, generation=generation_of(svc), now=utc_now())
        if await self._write_status(XSERVICE, svc, status, previous):
            bound.info("status", phase=status.phase.value, reason=status.reason)
            self._announce(
                svc, previous, status, failed=ServicePhase.FAILED, ready=ServicePhase.READY
            )
        if override is not None and override[1] == INVALID_SPEC:
            raise TerminalError(override[2])
        return None

    async def _sync(self, svc: Obj, children: _Children, bound: Any) -> None:
        """Bring the children to the spec; ``children`` holds what exists, even on errors."""
        name, namespace = name_of(svc), namespace_of(svc)
        for rt in (DEPLOYMENT, SERVICE):
            found = await get_or_none(self.client, rt, name, namespace)
            if found is not None and is_controlled_by(found, svc):
                setattr(children, "deployment" if rt is DEPLOYMENT else "core", found)
        children.deployment = await self._ensure(
            DEPLOYMENT, build_deployment(svc, self.xmount), svc, bound
        )
        core = build_core_service(svc)
        if core is not None:
            children.core = await self._ensure(SERVICE, core, svc, bound, merge_spec=True)
        elif children.core is not None:
            await self.client.delete(
                SERVICE,
                name,
                namespace,
                preconditions={"uid": uid_of(children.core)},
                ignore_not_found=True,
            )
            children.core = None
            bound.info("deleted core service")
            self.recorder.event(svc, NORMAL, "Deleted", f"deleted service {name} (no ports)")

    async def _ensure(
        self, rt: ResourceType, desired: Obj, svc: Obj, bound: Any, *, merge_spec: bool = False
    ) -> Obj:
        claim = await ensure_child(self.client, rt, desired, svc, merge_spec=merge_spec)
        if claim.created and rt is DEPLOYMENT and self.metrics is not None:
            self.metrics.child_created("Deployment", svc)
        kind = rt.kind.lower()
        for done, verb in ((claim.created, "Created"), (claim.adopted, "Adopted")):
            if done:
                bound.info(f"{verb.lower()} {kind}")
                self.recorder.event(svc, NORMAL, verb, f"{verb.lower()} {kind} {name_of(svc)}")
        if claim.updated:
            bound.info(f"updated {kind}")
            self.recorder.event(svc, NORMAL, "Updated", f"updated {kind} {name_of(svc)}")
        return claim.obj

    def _observe(self, children: _Children) -> ServiceStatusView:
        deployment = children.deployment
        if deployment is None:
            return observe_service(None, [], [], core_service=children.core)
        namespace, name = namespace_of(deployment), name_of(deployment)
        pods = self.pods.list(namespace, {LABEL_SERVICE: name})
        events = self._warnings_about(namespace, "Deployment", name, pods)
        return observe_service(
            deployment, pods, events, core_service=children.core, since=created_at(deployment)
        )


def _service_of_pod(pod: Obj) -> list[Request]:
    """The Service whose selector label ``pod`` carries."""
    name = (meta(pod).get("labels") or {}).get(LABEL_SERVICE)
    return [Request(namespace_of(pod), str(name))] if name else []


def _service_of_event(deployments: Informer, pods: Informer, event: Obj) -> list[Request]:
    """The Service a Warning event about its Deployment, ReplicaSets or pods concerns."""
    return owner_of_event(event, XSERVICE, deployments, pods, _service_of_pod)


def setup_service_controller(
    manager: Manager,
    *,
    xmount: XMountRenderer | None = None,
    workers: int = 1,
    recorder: EventRecorder | None = None,
    metrics: XeemMetrics | None = None,
) -> Controller:
    """Register the Service controller (and the informers it needs) with ``manager``."""
    reconciler = ServiceReconciler.from_manager(
        manager, xmount=xmount, recorder=recorder, metrics=metrics
    )
    deployments, pods, events = manager.informer(DEPLOYMENT), reconciler.pods, reconciler.events
    services = manager.informer(XSERVICE)
    return (
        manager.controller("service")
        .for_(XSERVICE, generation_changed())
        .watches(DEPLOYMENT, controller_or_namesake(XSERVICE, services))
        .watches(SERVICE, controller_or_namesake(XSERVICE, services))
        .watches(POD, _service_of_pod)
        .watches(events.resource, lambda event: _service_of_event(deployments, pods, event))
        .with_options(max_concurrent_reconciles=workers)
        .complete(reconciler)
    )
