"""The runtime knows nothing about workflows: it imports nothing from the engine or API."""

from __future__ import annotations

import ast
import json
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

import xeem.runtime

pytestmark = pytest.mark.unit

RUNTIME = Path(xeem.runtime.__file__).parent
FORBIDDEN = ("xeem.engine", "xeem.api", "xeem.controllers", "xeem.providers", "xeem_controller")


def test_no_runtime_module_imports_outside_the_runtime() -> None:
    offenders = []
    for path in sorted(RUNTIME.rglob("*.py")):
        tree = ast.parse(path.read_text(), str(path))
        for node in ast.walk(tree):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            for name in names:
                if (name == "xeem" or name.startswith("xeem")) and not name.startswith(
                    "xeem.runtime"
                ):
                    offenders.append(f"{path.relative_to(RUNTIME)}: {name}")
    assert offenders == []


def test_importing_every_runtime_module_loads_no_engine_or_api_module() -> None:
    modules = [m.name for m in pkgutil.walk_packages([str(RUNTIME)], "xeem.runtime.")]
    assert "xeem.runtime.manager" in modules
    code = (
        "import importlib, json, sys\n"
        f"for m in {modules!r}: importlib.import_module(m)\n"
        f"print(json.dumps(sorted(m for m in sys.modules if m.startswith({FORBIDDEN!r}))))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout) == []
