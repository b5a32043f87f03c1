"""The engine and the API models import nothing from any Kubernetes client."""

from __future__ import annotations

import subprocess
import sys

import pytest

pytestmark = pytest.mark.unit

PROBE = """
import sys
import xeem.engine, xeem.api.workflow, xeem.api.schema
clients = ("kubernetes", "kubernetes_asyncio", "kopf")
bad = sorted(m for m in sys.modules if m.split(".")[0] in clients)
assert "xeem.engine" in sys.modules
print(",".join(bad))
"""


def test_engine_imports_no_kubernetes_client() -> None:
    out = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.strip() == ""
