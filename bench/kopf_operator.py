"""The kopf side of ``bench.runtime_bench``: the same status write, idiomatic kopf.

Run by the bench as ``python -m kopf run --standalone --namespace NS bench/kopf_operator.py``.
Event posting is off so kopf, like the xeem controller, writes nothing but the status.
"""

from __future__ import annotations

from typing import Any

import kopf


@kopf.on.startup()
def configure(settings: kopf.OperatorSettings, **_: Any) -> None:
    settings.posting.enabled = False


@kopf.on.create("bench.xeem.io", "v1", "benchitems")
async def reconcile(patch: kopf.Patch, **_: Any) -> None:
    patch.status["reconciled"] = True
