"""Service status from its apps/v1 Deployment, the Deployment's pods and their events
(DESIGN.md section 5).

Contract: :func:`observe_service` is a pure function of API JSON dicts; the same input
always gives the same view. Rules, in order:

- no Deployment: Progressing, reason DeploymentNotCreated;
- Deployment condition Progressing=False with reason ProgressDeadlineExceeded: Failed, the
  message that condition plus what blocked the rollout;
- rollout complete: Ready. Complete means the Deployment controller observed the current
  generation, condition Available is True, and updated, ready, available and total
  replicas all equal the desired replicas (no old pods left);
- else Progressing, the message naming the blocker: a pod's container waiting reason
  (ImagePullBackOff, CrashLoopBackOff, ...) or Unschedulable condition, else the
  Deployment's ReplicaFailure condition (FailedCreate, e.g. quota), else the most recent
  current Warning event; without one, the rollout's progress.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from xeem.api.base import Condition, ConditionStatus
from xeem.api.service import ServiceConditionType, ServicePhase, ServiceStatus
from xeem.api.task import LocalObjectReference
from xeem.status.conditions import condition, stamp_conditions, true_if
from xeem.status.events import event_blocker
from xeem.status.finding import Finding, describe
from xeem.status.objects import Obj, count, field, has_condition, name, text
from xeem.status.objects import condition as find_condition
from xeem.status.pods import pod_blocker

NOT_CREATED = "DeploymentNotCreated"


@dataclass(frozen=True)
class ServiceStatusView:
    """Everything a Service's status says that follows from the observed objects."""

    phase: ServicePhase
    reason: str
    message: str
    available: Condition
    desired: int = 1
    replicas: int = 0
    ready_replicas: int = 0
    updated_replicas: int = 0
    available_replicas: int = 0
    deployment_name: str | None = None
    service_name: str | None = None

    @property
    def conditions(self) -> list[Condition]:
        """``Available`` as the Deployment reports it and ``Progressing`` (True while the
        rollout is neither complete nor failed) with the phase's reason and message.
        """
        progressing = true_if(self.phase is ServicePhase.PROGRESSING)
        return [
            self.available,
            condition(ServiceConditionType.PROGRESSING, progressing, self.reason, self.message),
        ]

    def to_status(
        self, previous: ServiceStatus | None, *, generation: int | None, now: datetime
    ) -> ServiceStatus:
        """The status to write, keeping condition transition times from ``previous``."""
        return ServiceStatus(
            phase=self.phase,
            reason=self.reason,
            message=self.message,
            ready=f"{self.ready_replicas}/{self.desired}",
            replicas=self.replicas,
            ready_replicas=self.ready_replicas,
            updated_replicas=self.updated_replicas,
            available_replicas=self.available_replicas,
            deployment_ref=_ref(self.deployment_name),
            service_ref=_ref(self.service_name),
            observed_generation=generation,
            conditions=stamp_conditions(
                self.conditions,
                previous.conditions if previous else [],
                now=now,
                generation=generation,
            ),
        )


def _ref(name_: str | None) -> LocalObjectReference | None:
    return LocalObjectReference(name=name_) if name_ else None


def _desired(deployment: Obj) -> int:
    """``spec.replicas``, which the API server defaults to 1."""
    replicas = field(deployment, "spec", "replicas")
    return replicas if isinstance(replicas, int) else 1


def _available(deployment: Obj | None) -> Condition:
    """The Deployment's Available condition, without its times."""
    found = find_condition(deployment, "Available")
    if found is None:
        reason = NOT_CREATED if deployment is None else "DeploymentNotAvailable"
        return condition(ServiceConditionType.AVAILABLE, ConditionStatus.FALSE, reason, "")
    status = ConditionStatus(text(found, "status") or ConditionStatus.UNKNOWN)
    return condition(
        ServiceConditionType.AVAILABLE, status, text(found, "reason"), text(found, "message")
    )


def _rollout_complete(deployment: Obj, desired: int) -> bool:
    """Whether the current generation is fully rolled out and Available."""
    observed = count(deployment, "status", "observedGeneration")
    replicas = [
        count(deployment, "status", key)
        for key in ("replicas", "updatedReplicas", "readyReplicas", "availableReplicas")
    ]
    return (
        observed >= count(deployment, "metadata", "generation")
        and has_condition(deployment, "Available")
        and all(n == desired for n in replicas)
    )


def _progress(deployment: Obj, desired: int) -> str:
    """What the rollout waits for, in the words of ``kubectl rollout status``."""
    generation = count(deployment, "metadata", "generation")
    replicas, updated, available = (
        count(deployment, "status", key)
        for key in ("replicas", "updatedReplicas", "availableReplicas")
    )
    if count(deployment, "status", "observedGeneration") < generation:
        return f"waiting for the Deployment controller to observe generation {generation}"
    if updated < desired:
        return f"waiting for rollout: {updated} of {desired} new replicas updated"
    if replicas > updated:
        return f"waiting for rollout: {replicas - updated} old replicas pending termination"
    if available < updated:
        return f"waiting for rollout: {available} of {updated} updated replicas available"
    return "waiting for the Deployment to become Available"


def _replica_failure(deployment: Obj) -> Finding | None:
    """The Deployment's ReplicaFailure condition (e.g. FailedCreate on quota) if True."""
    failure = find_condition(deployment, "ReplicaFailure")
    if text(failure, "status") != "True":
        return None
    reason = text(failure, "reason") or "ReplicaFailure"
    subject = f"deployment {name(deployment)}"
    return Finding(reason, describe(subject, reason, text(failure, "message")))


def _blocker(
    deployment: Obj, pods: Sequence[Obj], events: Sequence[Obj], since: datetime | None
) -> Finding | None:
    """What holds the rollout back: pod states, then ReplicaFailure, then Warning events."""
    return pod_blocker(pods) or _replica_failure(deployment) or event_blocker(events, pods, since)


def _outcome(
    deployment: Obj, pods: Sequence[Obj], events: Sequence[Obj], since: datetime | None
) -> tuple[ServicePhase, Finding]:
    desired = _desired(deployment)
    progressing = find_condition(deployment, "Progressing")
    if (
        text(progressing, "status") == "False"
        and text(progressing, "reason") == "ProgressDeadlineExceeded"
    ):
        head = describe("", "ProgressDeadlineExceeded", text(progressing, "message"))
        blocker = _blocker(deployment, pods, events, since)
        message = f"{head}; {blocker.message}" if blocker else head
        return ServicePhase.FAILED, Finding("ProgressDeadlineExceeded", message)
    if _rollout_complete(deployment, desired):
        ready = count(deployment, "status", "readyReplicas")
        return ServicePhase.READY, Finding("RolloutComplete", f"{ready}/{desired} replicas ready")
    blocker = _blocker(deployment, pods, events, since)
    return ServicePhase.PROGRESSING, blocker or Finding(
        "RollingOut", _progress(deployment, desired)
    )


def observe_service(
    deployment: Obj | None,
    pods: Sequence[Obj],
    events: Sequence[Obj],
    *,
    core_service: Obj | None = None,
    since: datetime | None = None,
) -> ServiceStatusView:
    """The Service's view from its Deployment (None if not created yet), the Deployment's
    pods, the events about them and its core Service if any; Warning events last seen before
    ``since`` are ignored.
    """
    service_name = name(core_service) or None
    if deployment is None:
        return ServiceStatusView(
            ServicePhase.PROGRESSING,
            NOT_CREATED,
            "waiting for the Deployment to be created",
            available=_available(None),
            service_name=service_name,
        )
    phase, finding = _outcome(deployment, pods, events, since)
    return ServiceStatusView(
        phase=phase,
        reason=finding.reason,
        message=finding.message,
        available=_available(deployment),
        desired=_desired(deployment),
        replicas=count(deployment, "status", "replicas"),
        ready_replicas=count(deployment, "status", "readyReplicas"),
        updated_replicas=count(deployment, "status", "updatedReplicas"),
        available_replicas=count(deployment, "status", "availableReplicas"),
        deployment_name=name(deployment),
        service_name=service_name,
    )
