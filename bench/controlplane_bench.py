"""Warm start-to-ready time of ``LocalControlPlane`` (binaries already built).

``python -m bench.controlplane_bench [--runs N]``: starts and stops the local control plane
N times, writes bench/results/controlplane.json and prints a table. Target: under 15 s.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time

from bench.report import table, write_json
from xeem.testing import LocalControlPlane


async def one_start() -> tuple[float, float]:
    """(seconds to ready, seconds to stop) of one control plane."""
    cp = LocalControlPlane()
    await cp.start()
    assert cp.startup_seconds is not None
    began = time.monotonic()
    await cp.stop()
    return cp.startup_seconds, time.monotonic() - began


async def run(runs: int) -> dict[str, object]:
    starts, stops = [], []
    for _ in range(runs):
        start, stop = await one_start()
        starts.append(start)
        stops.append(stop)
    return {
        "runs": runs,
        "start_to_ready_seconds": starts,
        "start_to_ready_median_seconds": statistics.median(starts),
        "start_to_ready_max_seconds": max(starts),
        "stop_median_seconds": statistics.median(stops),
        "target_seconds": 15.0,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    result = asyncio.run(run(parser.parse_args().runs))
    path = write_json("controlplane", result)
    print(
        table(
            [result],
            [
                "runs",
                "start_to_ready_median_seconds",
                "start_to_ready_max_seconds",
                "stop_median_seconds",
                "target_seconds",
            ],
        )
    )
    print(f"(written to {path})")


if __name__ == "__main__":
    main()
