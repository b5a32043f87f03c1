"""The xeem controller end to end: many workflows on the local control plane.

``python -m bench.controller_bench [--workflows 200] [--rates 0,1.5,2]``: half chains of 10
nodes, half fan-outs (1 -> 8 -> 1); kwok completes each Job's pod 1 s after it starts. One
run per arrival rate, each on a fresh control plane: all workflows at once (rate 0, the
burst), or N workflows created per second (an open-loop arrival). Reports
workflows and node workloads per minute, the dependency-to-start latency (p50, p99 from the
controller's ``xeem_node_start_latency_seconds`` histogram), API requests per node (the
controller's ``rest_client_requests_total``), the requests the API server served per node
(all clients), its p99 for the two creates on the start path, the controllers' mean queue
wait and reconcile time, the controller's peak RSS, and CPU seconds per process (which one
saturates). Targets: p99 < 250 ms; >= 1,000 node workloads per minute.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from pathlib import Path
from typing import Any

import yaml
from prometheus_client.parser import text_string_to_metric_families

from bench.report import table, write_json
from xeem.testing import ControlPlaneConfig, LocalControlPlane
from xeem.testing.controller import XeemController, install_crds, run_kubectl

NAMESPACE = "bench"
NODES_PER_WORKFLOW = 10


def _job(name: str, depends: list[str]) -> dict[str, Any]:
    container = {"name": "main", "image": "busybox:1.36", "command": ["sleep", "1"]}
    return {
        "name": name,
        "depends": depends,
        "workloadTemplate": {
            "job": {
                "backoffLimit": 0,
                "template": {"spec": {"restartPolicy": "Never", "containers": [container]}},
            }
        },
    }


def bench_workflow(index: int) -> dict[str, Any]:
    """A chain of 10 (even index) or a 1 -> 8 -> 1 fan-out (odd index)."""
    if index % 2 == 0:
        nodes = [_job(f"n{i}", [f"n{i - 1}"] if i else []) for i in range(NODES_PER_WORKFLOW)]
    else:
        fan = [f"f{i}" for i in range(NODES_PER_WORKFLOW - 2)]
        nodes = [_job("start", []), *(_job(f, ["start"]) for f in fan), _job("end", fan)]
    return {
        "apiVersion": "xeem.io/v1alpha1",
        "kind": "Workflow",
        "metadata": {"name": f"wf-{index:04d}", "namespace": NAMESPACE},
        "spec": {"nodes": nodes},
    }


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / 100.0  # utime, stime in clock ticks


def peak_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def histogram_quantile(q: float, buckets: list[tuple[float, float]]) -> float:
    """Prometheus' histogram_quantile over cumulative ``(upper bound, count)`` buckets."""
    total = buckets[-1][1]
    rank = q * total
    lower_bound, lower_count = 0.0, 0.0
    for bound, count in buckets:
        if count >= rank:
            if bound == float("inf"):
                return lower_bound
            return lower_bound + (bound - lower_bound) * (rank - lower_count) / max(
                count - lower_count, 1e-9
            )
        lower_bound, lower_count = bound, count
    return lower_bound


def _buckets(served: dict[str, float], call: str) -> list[tuple[float, float]]:
    """The API server's latency buckets of ``call`` from the served-counter deltas."""
    suffix = f" {call}"
    return sorted(
        (float(key.split(" ")[1]), count)
        for key, count in served.items()
        if key.startswith("le ") and key.endswith(suffix)
    )


def mean_ms_by_controller(samples: list[Any]) -> dict[str, float]:
    """Mean of a histogram per ``controller`` label (its _sum over its _count), in ms."""
    sums: dict[str, float] = {}
    counts: dict[str, float] = {}
    for sample in samples:
        controller = sample.labels.get("controller", "")
        if sample.name.endswith("_sum"):
            sums[controller] = sample.value
        elif sample.name.endswith("_count"):
            counts[controller] = sample.value
    return {c: round(sums[c] / counts[c] * 1000, 1) for c in sums if counts.get(c)}


def parse_metrics(text: str) -> dict[str, list[Any]]:
    return {f.name: f.samples for f in text_string_to_metric_families(text)}


async def count_finished(cp: LocalControlPlane) -> tuple[int, int]:
    """(finished workflows, succeeded workflows) in the bench namespace."""
    code, body = await cp.admin.request(
        "GET", f"/apis/xeem.io/v1alpha1/namespaces/{NAMESPACE}/workflows"
    )
    if code != 200:
        return 0, 0
    phases = [(w.get("status") or {}).get("phase") for w in body["items"]]
    finished = sum(p in ("Succeeded", "Failed", "Error") for p in phases)
    return finished, phases.count("Succeeded")


CRITICAL_PATH = ("POST tasks", "POST jobs")
"""The API calls between a dependency finishing and its dependent's Job existing."""


def _request_key(labels: dict[str, str]) -> str:
    resource = labels.get("resource", "")
    if labels.get("subresource"):
        resource += "/" + labels["subresource"]
    return f"{labels.get('verb', '')} {resource}"


async def apiserver_counters(cp: LocalControlPlane) -> dict[str, float]:
    """The API server's request counters so far: ``requests <verb> <resource>`` (watches
    left out) and, for the critical-path calls, ``le <bound> <verb> <resource>`` latency
    buckets (cumulative)."""
    code, text = await cp.admin.request("GET", "/metrics")
    if code != 200 or not isinstance(text, str):
        return {}
    counters: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            key = _request_key(sample.labels)
            if family.name == "apiserver_request" and sample.name.endswith("_total"):
                if sample.labels.get("verb") != "WATCH":
                    name = f"requests {key}"
                    counters[name] = counters.get(name, 0.0) + sample.value
            elif (
                family.name == "apiserver_request_duration_seconds"
                and sample.name.endswith("_bucket")
                and key in CRITICAL_PATH
            ):
                name = f"le {sample.labels['le']} {key}"
                counters[name] = counters.get(name, 0.0) + sample.value
    return counters


async def submit(cp: LocalControlPlane, workflows: int, rate: float) -> None:
    """Create the workflows all at once (``rate`` 0: one ``kubectl apply``) or at ``rate``
    per second (an open-loop arrival, each one POSTed on schedule)."""
    manifests = [bench_workflow(i) for i in range(workflows)]
    if rate <= 0:
        await run_kubectl(
            cp.binary("kubectl"),
            str(cp.kubeconfig_path),
            *("apply", "--server-side", "-f", "-"),
            stdin=yaml.safe_dump_all(manifests),
        )
        return
    path = f"/apis/xeem.io/v1alpha1/namespaces/{NAMESPACE}/workflows"
    began = time.monotonic()
    for index, manifest in enumerate(manifests):
        await asyncio.sleep(max(began + index / rate - time.monotonic(), 0.0))
        code, body = await cp.admin.request("POST", path, manifest)
        if code != 201:
            raise RuntimeError(f"creating {manifest['metadata']['name']}: {code} {body}")


async def run(workflows: int, workers: int, rate: float) -> dict[str, Any]:
    config = ControlPlaneConfig(nodes=3, job_pod_seconds=1.0)
    async with LocalControlPlane(config) as cp:
        kubectl, kubeconfig = cp.binary("kubectl"), str(cp.kubeconfig_path)
        await install_crds(kubectl, kubeconfig)
        await run_kubectl(kubectl, kubeconfig, "create", "namespace", NAMESPACE)
        controller = XeemController(kubeconfig, cp.log_dir, f"--workers={workers}")
        await controller.start()
        assert controller.process.pid is not None
        pids = {**cp.pids(), "xeem-controller": controller.process.pid}
        cpu_before = {name: cpu_seconds(pid) for name, pid in pids.items()}
        counters_before = await apiserver_counters(cp)
        began = time.monotonic()
        submitting = asyncio.create_task(submit(cp, workflows, rate))
        finished = succeeded = 0
        while finished < workflows:
            await asyncio.sleep(0.5)
            finished, succeeded = await count_finished(cp)
            if time.monotonic() - began > 1800:
                raise TimeoutError(f"only {finished}/{workflows} workflows finished in 30 min")
        elapsed = time.monotonic() - began
        await submitting
        counters = await apiserver_counters(cp)
        served = {key: count - counters_before.get(key, 0.0) for key, count in counters.items()}
        cpu = {name: round(cpu_seconds(pid) - cpu_before[name], 1) for name, pid in pids.items()}
        rss = peak_rss_mib(controller.process.pid)
        metrics = parse_metrics(await controller.metrics())
        await controller.stop()
    latency = {
        kind: [
            (float(s.labels["le"]), s.value)
            for s in metrics["xeem_node_start_latency_seconds"]
            if s.name.endswith("_bucket") and s.labels.get("kind") == kind
        ]
        for kind in ("Task", "Job")
    }
    requests = sum(
        s.value for s in metrics.get("rest_client_requests", []) if s.name.endswith("_total")
    )
    nodes = workflows * NODES_PER_WORKFLOW
    per_node = {
        key.removeprefix("requests "): round(count / nodes, 2)
        for key, count in served.items()
        if key.startswith("requests ") and count >= nodes / 10
    }
    apiserver_p99 = {
        call: round(histogram_quantile(0.99, _buckets(served, call)) * 1000, 1)
        for call in CRITICAL_PATH
    }
    return {
        "workflows": workflows,
        "succeeded": succeeded,
        "node_workloads": nodes,
        "elapsed_seconds": round(elapsed, 2),
        "workflows_per_minute": round(workflows / elapsed * 60, 1),
        "node_workloads_per_minute": round(nodes / elapsed * 60, 1),
        "dependency_to_start_p50_ms": round(histogram_quantile(0.5, latency["Job"]) * 1000, 1),
        "dependency_to_start_p99_ms": round(histogram_quantile(0.99, latency["Job"]) * 1000, 1),
        "dependency_to_task_p50_ms": round(histogram_quantile(0.5, latency["Task"]) * 1000, 1),
        "dependency_to_task_p99_ms": round(histogram_quantile(0.99, latency["Task"]) * 1000, 1),
        "api_requests_per_node": round(requests / nodes, 2),
        "apiserver_requests_per_node": dict(sorted(per_node.items(), key=lambda kv: -kv[1])),
        "apiserver_latency_p99_ms": apiserver_p99,
        "controller_peak_rss_mib": round(rss, 1),
        "controller_events": {
            outcome: sum(
                s.value
                for s in metrics.get("event_recorder_events", [])
                if s.name.endswith("_total") and s.labels.get("outcome") == outcome
            )
            for outcome in ("written", "dropped")
        },
        "queue_wait_mean_ms": mean_ms_by_controller(metrics["workqueue_queue_duration_seconds"]),
        "reconcile_mean_ms": mean_ms_by_controller(
            metrics["controller_runtime_reconcile_time_seconds"]
        ),
        "cpu_seconds_by_process": cpu,
        "cpu_busiest_process": max(cpu, key=lambda name: cpu[name]),
        "workers": workers,
        "arrival_per_second": rate,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--workflows", type=int, default=200)
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument(
        "--rates",
        default="0,1.5,2",
        help="comma-separated arrival rates, one run on a fresh control plane each: "
        "workflows created per second (0: all at once, in one kubectl apply)",
    )
    args = parser.parse_args()
    rates = [float(rate) for rate in args.rates.split(",")]
    results = [asyncio.run(run(args.workflows, args.workers, rate)) for rate in rates]
    path = write_json("controller", {"runs": results})
    columns = [
        "arrival_per_second",
        "elapsed_seconds",
        "workflows_per_minute",
        "node_workloads_per_minute",
        "dependency_to_start_p50_ms",
        "dependency_to_start_p99_ms",
        "api_requests_per_node",
        "controller_peak_rss_mib",
        "cpu_busiest_process",
    ]
    print(f"{args.workflows} workflows per run (arrival 0: all at once)")
    print(table(results, columns))
    for result in results:
        print(f"\narrival {result['arrival_per_second']}/s")
        print("  CPU seconds by process:", result["cpu_seconds_by_process"])
        print("  API server requests per node:", result["apiserver_requests_per_node"])
        print("  API server p99 of POST tasks/jobs (ms):", result["apiserver_latency_p99_ms"])
        print("  controller's events:", result["controller_events"])
        print("  mean queue wait (ms):", result["queue_wait_mean_ms"])
        print("  mean reconcile (ms):", result["reconcile_mean_ms"])
    print(f"(written to {path})")


if __name__ == "__main__":
    main()
