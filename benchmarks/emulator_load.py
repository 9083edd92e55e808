"""Whether metric queries stall the emulator's data plane, and how its memory grows.

Starts ``sm-bench emulator`` in a separate process (from whichever ``sm_bench_widgets``
Python imports: point ``PYTHONPATH`` at another checkout to measure that one), deploys
demo-tabular with provisioned concurrency 200, and first serves ``--prefill`` invocations
so CloudWatch holds many data points. Then, at 1, 8, 64 and 200 in flight, it drives
closed-loop load twice: alone, and with a thread sending the engine's metric queries
(GetMetricData over every serverless metric with p50/p90/p99, GetMetricStatistics with
percentiles, ListMetrics) back to back. The latency the emulator adds is the client's wall
time minus the emulated (model + overhead) time it reports in headers; p50 and p99 are
printed per level, with and without queries, and the queries' own latency.

Memory: the resident size of the emulator's process and its children (CloudWatch's) after
the prefill and one round of queries, and after the levels, per 100,000 invocations served
in the levels; and the growth of a fresh in-process
metrics sink fed 100,000 invocation records directly (``--records``), which isolates what
metrics keep.

    nice -n 10 python benchmarks/emulator_load.py [--seconds 4] [--levels 1,8,64,200]
        [--prefill 20000] [--records 100000]
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import os
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))
from emulator_overhead import Level, client, deploy, run_level  # noqa: E402

import sm_bench_widgets  # noqa: E402
from sm_bench_widgets.emulator.process import served  # noqa: E402

NS = "AWS/SageMaker"
METRICS = (
    ("AWS/SageMaker", "Invocations"),
    ("AWS/SageMaker", "Invocation4XXErrors"),
    ("AWS/SageMaker", "Invocation5XXErrors"),
    ("AWS/SageMaker", "ModelLatency"),
    ("AWS/SageMaker", "OverheadLatency"),
    ("AWS/SageMaker", "ServerlessConcurrentExecutionsUtilization"),
    ("/aws/sagemaker/Endpoints", "MemoryUtilization"),
)
STATS = ("SampleCount", "Sum", "Average", "Maximum", "p50", "p90", "p99")


@dataclass
class Queries:
    """The metric queries sent while a level ran."""

    ms: list[float] = field(default_factory=list)
    errors: int = 0


def query_loop(url: str, endpoint: str, since: datetime, stop: threading.Event) -> Queries:
    """Send the engine's metric queries back to back until ``stop``; their latencies."""
    cw = client(url, "cloudwatch")
    dims = [
        {"Name": "EndpointName", "Value": endpoint},
        {"Name": "VariantName", "Value": "AllTraffic"},
    ]
    queries = [
        {
            "Id": f"q{i}",
            "MetricStat": {
                "Metric": {"Namespace": ns, "MetricName": name, "Dimensions": dims},
                "Period": 60,
                "Stat": stat,
            },
        }
        for i, ((ns, name), stat) in enumerate((m, s) for m in METRICS for s in STATS)
    ]
    done = Queries()
    while True:  # at least once: with ``stop`` already set, one round
        end = datetime.now(UTC) + timedelta(minutes=1)
        started = time.perf_counter()
        try:
            cw.get_metric_data(MetricDataQueries=queries, StartTime=since, EndTime=end)
            cw.get_metric_statistics(
                Namespace=NS,
                MetricName="ModelLatency",
                Dimensions=dims,
                StartTime=since,
                EndTime=end,
                Period=60,
                Statistics=["SampleCount", "Average"],
                ExtendedStatistics=["p50", "p99"],
            )
            cw.list_metrics(Namespace=NS)
        except Exception:  # noqa: BLE001 - counted, the benchmark goes on
            done.errors += 1
        else:
            done.ms.append((time.perf_counter() - started) * 1000)
        if stop.is_set():
            return done


def with_queries(
    url: str, endpoint: str, concurrency: int, seconds: float, since: datetime
) -> tuple[Level, Queries]:
    """A level of load with the metric queries running beside it."""
    stop = threading.Event()
    out: list[Queries] = []
    thread = threading.Thread(target=lambda: out.append(query_loop(url, endpoint, since, stop)))
    thread.start()
    try:
        level = run_level(url, endpoint, concurrency, seconds)
    finally:
        stop.set()
        thread.join()
    return level, out[0]


def rss_mb(pid: int) -> float:
    """The resident memory of process ``pid``, in MB."""
    return psutil.Process(pid).memory_info().rss / 2**20


def tree_rss_mb(pid: int) -> float:
    """The resident memory of ``pid`` and its child processes (e.g. CloudWatch's), in MB."""
    root = psutil.Process(pid)
    total = 0
    for p in [root, *root.children(recursive=True)]:
        with contextlib.suppress(psutil.NoSuchProcess):  # a child that ended mid-walk
            total += p.memory_info().rss
    return total / 2**20


def sink_growth_mb(records: int) -> float:
    """MB a fresh metrics sink's moto backend grows by over ``records`` invocations."""
    from sm_bench_widgets.emulator import cw_percentiles, moto_adapter
    from sm_bench_widgets.emulator.metrics import InvocationRecord, MetricsSink

    cw_percentiles.install()
    account, region = "000000000777", "us-east-1"
    sink = MetricsSink(account)
    rng = np.random.default_rng(1)
    latencies = rng.lognormal(np.log(12), 0.3, records)
    sink.publish(region, InvocationRecord("mem", "AllTraffic", True, model_ms=1.0))
    gc.collect()
    before = rss_mb(os.getpid())
    for ms in latencies:
        rec = InvocationRecord(
            "mem",
            "AllTraffic",
            True,
            model_ms=float(ms),
            overhead_ms=2.0,
            memory_utilization=15.6,
            concurrency_utilization=0.5,
        )
        sink.publish(region, rec)
    gc.collect()
    grown = rss_mb(os.getpid()) - before
    moto_adapter.wipe_account(account)
    return grown


def pct(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q)) if values else float("nan")


def added(level: Level) -> tuple[float, float]:
    """The added latency at p50 and p99, in ms."""
    extra = np.asarray(level.wall_ms) - np.asarray(level.emulated_ms)
    return pct(list(extra), 50), pct(list(extra), 99)


def main() -> int:
    """Run the benchmark and print the tables."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=4.0, help="duration of each run")
    parser.add_argument("--levels", default="1,8,64,200", help="comma-separated in-flight counts")
    parser.add_argument("--prefill", type=int, default=20000, help="invocations served first")
    parser.add_argument("--records", type=int, default=100000, help="records for the sink test")
    args = parser.parse_args()
    levels = [int(x) for x in args.levels.split(",")]
    source = Path(sm_bench_widgets.__file__).resolve().parent.parent
    with served() as emulator:
        url = emulator.url
        pid = emulator.process.pid
        since = datetime.now(UTC) - timedelta(minutes=1)
        endpoint = deploy(url, provisioned=200)
        served_before = 0
        while served_before < args.prefill:
            served_before += len(run_level(url, endpoint, 64, 2.0).wall_ms)
        stopped = threading.Event()
        stopped.set()
        query_loop(url, endpoint, since, stopped)  # one round: CloudWatch's code is loaded
        gc.collect()
        rss_start = tree_rss_mb(pid)  # growth from here on: the levels' invocations
        rows, served_total = [], 0
        for c in levels:
            run_level(url, endpoint, c, min(0.5, args.seconds))  # warm connections
            alone = run_level(url, endpoint, c, args.seconds)
            loaded, queries = with_queries(url, endpoint, c, args.seconds, since)
            served_total += len(alone.wall_ms) + len(loaded.wall_ms)
            rows.append((c, alone, loaded, queries))
        rss_end = tree_rss_mb(pid)
    print(
        f"sm_bench_widgets from {source}; {os.cpu_count()} CPUs; {args.seconds:g} s per run; "
        f"{served_before} invocations served before the levels"
    )
    print("added = client wall time - emulated (model + overhead) time, ms")
    head = (
        f"{'in flight':>9} {'inv/s':>7} {'p50':>6} {'p99':>7} | {'with queries: inv/s':>19} "
        f"{'p50':>6} {'p99':>7} {'queries':>7} {'query p50':>9} {'query p99':>9}"
    )
    print(head)
    print("-" * len(head))
    for c, alone, loaded, queries in rows:
        a50, a99 = added(alone)
        l50, l99 = added(loaded)
        print(
            f"{c:>9} {len(alone.wall_ms) / alone.seconds:>7.0f} {a50:>6.1f} {a99:>7.1f} | "
            f"{len(loaded.wall_ms) / loaded.seconds:>19.0f} {l50:>6.1f} {l99:>7.1f} "
            f"{len(queries.ms):>7} {pct(queries.ms, 50):>9.1f} {pct(queries.ms, 99):>9.1f}"
        )
    per_100k = (rss_end - rss_start) / served_total * 100_000
    print(
        f"emulator RSS (with its child processes) {rss_start:.0f} -> {rss_end:.0f} MB over "
        f"{served_total} invocations: {per_100k:+.1f} MB per 100k invocations"
    )
    print(f"metrics sink alone: {sink_growth_mb(args.records):+.1f} MB over {args.records} records")
    return 0


if __name__ == "__main__":
    sys.exit(main())
