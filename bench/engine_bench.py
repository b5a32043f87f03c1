"""Benchmark of the workflow engine: parse, validate (compile) and one mid-run step.

Run ``python -m bench.engine_bench [--sizes 1000 10000 50000]``. Random DAGs have a mean
in-degree of 2 (dependencies drawn from a window of earlier nodes), inputRef chains of
depth 10, a Service every 10th node, an xvmg user every 20th, an xMount every 100th. The
step is taken mid-run: the first half of the nodes settled, and about 1% of all nodes
startable (more are marked Running). Reports the median (and, in the JSON, the minimum)
per call in milliseconds and the 50k/10k growth ratio of the medians; writes
bench/results/engine.json. No assertions: numbers only. On a shared machine compare the
minimums too: they move less with other load.

The setup objects (wire dict, parsed spec, compiled workflow, observations) are moved to
the GC's permanent generation with ``gc.freeze()`` before timing, as a long-running
controller's steady heap would be; otherwise a full collection triggered by the timed call
scans the whole benchmark heap and the numbers measure the heap, not the engine.
``--no-freeze`` shows the default behaviour. Each timed call starts after ``gc.collect()``.
"""

from __future__ import annotations

import argparse
import gc
import platform
import random
import statistics
import time
from collections.abc import Callable
from typing import Any

from bench.report import table, write_json
from xeem.api.phases import NodePhase
from xeem.api.workflow import WorkflowSpec
from xeem.engine import NodeObservation, XvmgObservation, compile_workflow

CHAIN = 10
TEMPLATES = 4


def make_spec(n: int, seed: int = 1) -> dict[str, Any]:
    """The wire form of a random workflow spec of ``n`` nodes."""
    rng = random.Random(seed)
    window = max(10, n // 25)
    depth = [0] * n
    nodes: list[dict[str, Any]] = []
    for i in range(n):
        lo = max(0, i - window)
        deps = rng.sample(range(lo, i), 2) if i - lo >= 2 else list(range(lo, i))
        inputs: list[dict[str, Any]] = [{"name": "s", "value": {"string": f"v{i}"}}]
        if deps and depth[deps[0]] < CHAIN - 1:
            depth[i] = depth[deps[0]] + 1
            ref = {"nodeName": f"n{deps[0]}", "inputName": "c"}
            inputs.append({"name": "c", "valueFrom": {"inputRef": ref}})
        else:
            inputs.append({"name": "c", "value": {"integer": i}})
        if i % 100 == 0:
            mount = {"serverAddr": "10.0.0.1:9000", "mountID": f"vol-{i}", "mountPath": "/data"}
            inputs.append({"name": "m", "value": {"xMount": mount}})
        pod = {
            "spec": {
                "containers": [
                    {
                        "name": "main",
                        "image": "busybox",
                        "command": ["sh", "-c", "echo $(inputs.c) $(inputs.s)"],
                        "env": [{"name": "C", "value": "$(inputs.c)"}],
                    }
                ]
            }
        }
        workload: dict[str, Any] = (
            {"deployment": {"replicas": 1, "template": pod}, "service": {"ports": [{"port": 80}]}}
            if i % 10 == 5
            else {"job": {"backoffLimit": 1, "template": pod}}
        )
        node: dict[str, Any] = {
            "name": f"n{i}",
            "depends": [f"n{d}" for d in deps],
            "inputs": inputs,
            "workloadTemplate": workload,
        }
        if i % 20 == 7:
            node["xvmgTemplateName"] = f"pool-{i % TEMPLATES}"
        nodes.append(node)
    pools = [
        {"name": f"pool-{k}", "minSize": 2, "maxSize": 2, "template": {"type": "gpu"}}
        for k in range(TEMPLATES)
    ]
    return {
        "inputs": [{"name": "model", "value": {"string": "resnet"}}],
        "nodes": nodes,
        "xvmgTemplates": pools,
        "exitPhaseExpression": 'nodes.all(n, nodes[n].phase != "Error")',
    }


def mid_run(doc: dict[str, Any]) -> tuple[dict[str, NodeObservation], int]:
    """Observations with the first half settled and about 1% of the nodes startable."""
    nodes = doc["nodes"]
    n = len(nodes)
    half = n // 2
    observed: dict[str, NodeObservation] = {}
    for node in nodes[:half]:
        done = NodePhase.READY if "deployment" in node["workloadTemplate"] else NodePhase.SUCCEEDED
        observed[node["name"]] = NodeObservation(done, "done")
    startable = [
        node["name"] for node in nodes[half:] if all(int(d[1:]) < half for d in node["depends"])
    ]
    for name in startable[max(1, n // 100) :]:
        observed[name] = NodeObservation(NodePhase.RUNNING, "running")
    return observed, min(len(startable), max(1, n // 100))


def timed_ms(fn: Callable[[], object], repeat: int) -> tuple[float, float]:
    """(median, minimum) milliseconds of ``repeat`` calls, each after a full collection."""
    times = []
    for _ in range(repeat):
        gc.collect()
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1000, min(times) * 1000


def bench(n: int, freeze: bool) -> dict[str, Any]:
    gc.unfreeze()
    doc = make_spec(n)
    repeat = 15 if n <= 1000 else 7 if n <= 10000 else 3
    spec = WorkflowSpec.model_validate(doc)
    compiled = compile_workflow(spec, workflow_name="bench", namespace="default")
    assert compiled.valid, compiled.problems[:3]
    observed, startable = mid_run(doc)
    xvmgs = {g.name: XvmgObservation(ready=True, size=2) for g in compiled.groups}
    result = compiled.step(observed, xvmgs)
    if freeze:
        gc.collect()
        gc.freeze()
    row: dict[str, Any] = {
        "nodes": n,
        "edges": sum(len(x["depends"]) for x in doc["nodes"]),
        "started": len(result.start),
        "expected_startable": startable,
    }
    timings: dict[str, tuple[Callable[[], object], int]] = {
        "parse": (lambda: WorkflowSpec.model_validate(doc), repeat),
        "validate": (
            lambda: compile_workflow(spec, workflow_name="bench", namespace="default"),
            repeat,
        ),
        "step": (lambda: compiled.step(observed, xvmgs), repeat * 2),
    }
    for name, (fn, times) in timings.items():
        row[f"{name}_ms"], row[f"{name}_min_ms"] = timed_ms(fn, times)
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000, 50000])
    parser.add_argument(
        "--no-freeze",
        action="store_true",
        help="let full GC collections scan the setup objects (spec, observations) too",
    )
    args = parser.parse_args()
    rows = [bench(n, freeze=not args.no_freeze) for n in args.sizes]
    by_n = {r["nodes"]: r for r in rows}
    ratios = {}
    if 10000 in by_n and 50000 in by_n:
        ratios = {
            k: by_n[50000][k] / by_n[10000][k] for k in ("parse_ms", "validate_ms", "step_ms")
        }
    targets = {"step_10k_ms": 50, "validate_10k_ms": 100, "ratio_50k_10k": 6}
    payload = {
        "python": platform.python_version(),
        "gc_freeze": not args.no_freeze,
        "rows": rows,
        "ratio_50k_10k": ratios,
    }
    write_json("engine", payload | {"targets": targets})
    cols = ["nodes", "edges", "started", "parse_ms", "validate_ms", "step_ms"]
    print(table(rows, cols))
    if ratios:
        print(table([{"": "50k/10k", **ratios}], ["", "parse_ms", "validate_ms", "step_ms"]))


if __name__ == "__main__":
    main()
