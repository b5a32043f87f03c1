"""What a machine's Node looks like to workloads: labels, the group taint, readiness.

Contract: a Node that serves machine ``m`` of group ``g`` carries the labels
``xeem.io/machine-uid=<m's UID>``, ``xeem.io/xvmg=<g>`` and ``xeem.io/xvmg-namespace`` and
the taint ``xeem.io/xvmg=<g>:NoSchedule`` (DESIGN §6): workloads pinned to the group select
and tolerate exactly that.
"""

from __future__ import annotations

from typing import Any

from xeem.providers.base import (
    MACHINE_UID_LABEL,
    XVMG_LABEL,
    XVMG_NAMESPACE_LABEL,
    Machine,
)
from xeem.runtime.resource import Obj

MACHINE_LABELS = (MACHINE_UID_LABEL, XVMG_LABEL, XVMG_NAMESPACE_LABEL)


def machine_labels(machine: Machine) -> dict[str, str]:
    return {
        MACHINE_UID_LABEL: machine.ref.key,
        XVMG_LABEL: machine.group,
        XVMG_NAMESPACE_LABEL: machine.ref.namespace,
    }


def group_taint(group: str) -> dict[str, Any]:
    return {"key": XVMG_LABEL, "value": group, "effect": "NoSchedule"}


def is_group_taint(taint: dict[str, Any]) -> bool:
    return taint.get("key") == XVMG_LABEL and taint.get("effect") == "NoSchedule"


def node_ready(node: Obj) -> tuple[bool, str]:
    """Whether the Node's Ready condition is True, and the condition's message."""
    for condition in (node.get("status") or {}).get("conditions") or ():
        if condition.get("type") == "Ready":
            return condition.get("status") == "True", str(condition.get("message") or "")
    return False, "the node reports no Ready condition yet"
