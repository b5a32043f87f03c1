"""A tiny shared writer of benchmark results: JSON under bench/results/ and a text table.

Contract: ``write_json(name, payload)`` writes ``bench/results/<name>.json`` (creating the
folder) and returns its path; ``table(rows, columns)`` renders dict rows as an aligned
plain-text table with the given columns, floats to 3 significant decimals.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"


def write_json(name: str, payload: Mapping[str, Any]) -> Path:
    """Write ``payload`` as ``bench/results/<name>.json``."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps(payload, indent=2, sort_keys=True) + "\n")
    return path


def table(rows: Sequence[Mapping[str, Any]], columns: Sequence[str]) -> str:
    """An aligned text table of ``rows`` (missing cells are blank)."""
    cells = [[_cell(row.get(c)) for c in columns] for row in rows]
    widths = [max([len(c), *(len(r[k]) for r in cells)]) for k, c in enumerate(columns)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True))]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(v.rjust(w) for v, w in zip(r, widths, strict=True)) for r in cells]
    return "\n".join(lines)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)
