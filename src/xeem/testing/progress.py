"""Live progress of one Workflow in a terminal, read from its status.

Contract: ``follow_workflow`` prints one line per node phase change and per workflow phase
change (with the elapsed time and progress), and returns the workflow's final phase once
it is Succeeded, Failed or Error.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

from xeem.testing.admin import AdminClient

FINAL_PHASES = frozenset({"Succeeded", "Failed", "Error"})


async def follow_workflow(
    admin: AdminClient,
    namespace: str,
    name: str,
    *,
    interval: float = 0.2,
    out: Callable[[str], None] = print,
) -> str:
    """Print the workflow's changes until it finishes; returns its final phase."""
    path = f"/apis/xeem.io/v1alpha1/namespaces/{namespace}/workflows/{name}"
    began = time.monotonic()
    seen: dict[str, str] = {}
    phase = ""
    while True:
        code, workflow = await admin.request("GET", path)
        status: dict[str, Any] = workflow.get("status") or {} if code == 200 else {}
        stamp = f"[{time.monotonic() - began:6.1f}s]"
        for node in status.get("nodes") or []:
            if seen.get(node["name"]) != node["phase"]:
                seen[node["name"]] = node["phase"]
                message = f"  {node['message']}" if node.get("message") else ""
                out(f"{stamp}   node {node['name']:<20} {node['phase']:<14}{message}")
        if status.get("phase") and status["phase"] != phase:
            phase = status["phase"]
            progress, message = status.get("progress", ""), status.get("message", "")
            out(f"{stamp} workflow {name}: {phase} {progress}  {message}")
        if phase in FINAL_PHASES:
            return phase
        await asyncio.sleep(interval)
