"""Disks as PersistentVolumeClaims: the default volume provider.

Contract: the disk of BlockStorage ``ref`` is the PVC named ``ref.name`` in its namespace,
controlled by the BlockStorage (so it is garbage-collected even if a finalizer is forced
off), ReadWriteOnce, ``<sizeGB>Gi``, of the given StorageClass (the cluster default when
none). A PVC of that name controlled by another object is never touched: the disk fails
with reason ``ClaimNameTaken``. Observation: ``bound`` when the PVC is Bound; when it is
Pending and its StorageClass has ``volumeBindingMode: WaitForFirstConsumer``,
``binds_on_first_use`` (the first pod on the machine binds it); a Lost claim is a failure.
"""

from __future__ import annotations

from xeem.providers.base import (
    PROVIDER_LABEL,
    VOLUME_UID_LABEL,
    Failure,
    ObjectRef,
    Volume,
    VolumeObservation,
)
from xeem.providers.objects import fresh_get, gib, owned_by, ref_of, tag
from xeem.runtime.client import Client
from xeem.runtime.kube import AlreadyExistsError, InvalidError, NotFoundError
from xeem.runtime.resource import PERSISTENT_VOLUME_CLAIM, Obj, ResourceType, controller_of

NAME = "pvc"
BLOCK_STORAGE_KIND = "BlockStorage"
STORAGE_CLASS = ResourceType("storage.k8s.io", "v1", "storageclasses", "StorageClass", False)
WAIT_FOR_FIRST_CONSUMER = "WaitForFirstConsumer"


def render_claim(volume: Volume) -> Obj:
    metadata = tag(volume.ref, NAME, VOLUME_UID_LABEL)
    spec: Obj = {
        "accessModes": ["ReadWriteOnce"],
        "resources": {"requests": {"storage": gib(volume.size_gb)}},
    }
    if volume.storage_class_name:
        spec["storageClassName"] = volume.storage_class_name
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {
            "name": volume.ref.name,
            "namespace": volume.ref.namespace,
            **metadata,
            "ownerReferences": [owned_by(BLOCK_STORAGE_KIND, volume.ref)],
        },
        "spec": spec,
    }


class ClaimObserver:
    """Reads the PVC named like the BlockStorage and says what it means for the disk."""

    def __init__(self, client: Client) -> None:
        self._client = client

    async def _claim(self, ref: ObjectRef) -> Obj | None:
        return await fresh_get(self._client, PERSISTENT_VOLUME_CLAIM, ref.name, ref.namespace)

    async def observe(self, ref: ObjectRef) -> VolumeObservation | None:
        claim = await self._claim(ref)
        return None if claim is None else await self._observation(claim)

    async def _observation(self, claim: Obj) -> VolumeObservation:
        name = claim["metadata"]["name"]
        phase = (claim.get("status") or {}).get("phase") or "Pending"
        if phase == "Bound":
            return VolumeObservation(name, bound=True, reason="Bound")
        if phase == "Lost":
            return VolumeObservation(
                name, failure=Failure("ClaimLost", f"PVC {name} lost its PersistentVolume")
            )
        class_name = (claim.get("spec") or {}).get("storageClassName") or ""
        if class_name and await self._binding_mode(class_name) == WAIT_FOR_FIRST_CONSUMER:
            return VolumeObservation(
                name,
                binds_on_first_use=True,
                reason=WAIT_FOR_FIRST_CONSUMER,
                message=f"PVC {name} binds when the first pod on the machine uses it",
            )
        waiting = f"StorageClass {class_name}" if class_name else "a matching PersistentVolume"
        return VolumeObservation(
            name, reason="Pending", message=f"PVC {name} is waiting for {waiting}"
        )

    async def _binding_mode(self, class_name: str) -> str:
        try:
            storage_class = await self._client.get(STORAGE_CLASS, class_name)
        except NotFoundError:
            return ""
        return str(storage_class.get("volumeBindingMode") or "")


class PvcVolumes(ClaimObserver):
    """Creates, observes and deletes the PVC of each disk."""

    async def observe(self, ref: ObjectRef) -> VolumeObservation | None:
        claim = await self._claim(ref)
        if claim is None:
            return None
        if not _controlled_by(claim, ref):
            return _taken(claim)
        return await self._observation(claim)

    async def create(self, volume: Volume) -> VolumeObservation:
        try:
            claim = await self._client.create(PERSISTENT_VOLUME_CLAIM, render_claim(volume))
        except AlreadyExistsError:
            existing = await self.observe(volume.ref)
            if existing is None:  # deleted again meanwhile: the next reconcile creates it
                raise
            return existing
        except InvalidError as error:
            return VolumeObservation(
                volume.ref.name, failure=Failure("ClaimRejected", f"PVC rejected: {error.message}")
            )
        return await self._observation(claim)

    async def delete(self, ref: ObjectRef) -> bool:
        """Delete the PVC; True once it is gone (a later call after the delete event)."""
        claim = await self._claim(ref)
        if claim is None or not _controlled_by(claim, ref):
            return True
        answer = await self._client.delete(
            PERSISTENT_VOLUME_CLAIM,
            ref.name,
            ref.namespace,
            preconditions={"uid": claim["metadata"]["uid"]},
            ignore_not_found=True,
        )
        return answer is None

    async def list(self) -> list[ObjectRef]:
        claims = await self._client.list(
            PERSISTENT_VOLUME_CLAIM, label_selector={PROVIDER_LABEL: NAME}
        )
        return [r for r in (ref_of(c, VOLUME_UID_LABEL) for c in claims) if r is not None]


def _controlled_by(claim: Obj, ref: ObjectRef) -> bool:
    owner = controller_of(claim)
    return owner is not None and owner.get("uid") == ref.key


def _taken(claim: Obj) -> VolumeObservation:
    name = claim["metadata"]["name"]
    return VolumeObservation(
        name,
        failure=Failure(
            "ClaimNameTaken", f"PVC {name} already exists and belongs to another object"
        ),
    )
