"""``python -m bench`` (``make bench``): every benchmark, one process each, in order.

Each writes ``bench/results/<name>.json`` and prints its own table; a failing benchmark
fails the run after the others have run.
"""

from __future__ import annotations

import subprocess
import sys

BENCHMARKS = ("engine_bench", "controlplane_bench", "runtime_bench", "controller_bench")


def main() -> None:
    failed = []
    for name in BENCHMARKS:
        print(f"\n=== bench.{name}", flush=True)
        if subprocess.run([sys.executable, "-m", f"bench.{name}"], check=False).returncode:
            failed.append(name)
    if failed:
        sys.exit(f"failed: {', '.join(failed)}")


if __name__ == "__main__":
    main()
