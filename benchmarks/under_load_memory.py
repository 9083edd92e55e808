"""Memory of a run over 100,000 invocations: 400 clients at MaxConcurrency 200.

Starts ``sm-bench emulator`` in a process of its own, runs one concurrency trial of
``--invocations`` (default 100,000) invocations with 400 closed-loop clients against an
endpoint of MaxConcurrency 200, and samples every second the resident memory of this
process (the run: events, store, racing) and of its child processes other than the
emulator (the load worker), next to the invocations recorded so far. Prints the samples
at each tenth of the run, the growth per 10,000 invocations over the second half (after
warm-up), whether every invocation was accounted for, and whether threads or processes
were left behind.

"Flat" means growing by less than 1 MB per 10,000 invocations over the second half of the
load; the exit status is 0 only when both processes are flat, every invocation is
accounted for and nothing is left behind. (At the time of writing the run's own process
is not flat: the engine keeps every row in memory as a dict, ``engine/context.py`` Rows.)

    nice -n 10 python benchmarks/under_load_memory.py [--invocations 100000] [--time-scale 0.05]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import threading
import time

import psutil

from sm_bench_widgets.api import InvocationBatch, start_benchmark
from sm_bench_widgets.aws.clients import Target
from sm_bench_widgets.aws.endpoints import find_leftovers
from sm_bench_widgets.config import BenchmarkConfig
from sm_bench_widgets.emulator.process import served

MAX_CONCURRENCY = 200
CLIENTS = 400
MB = 1024 * 1024


def rss(process: psutil.Process) -> int:
    """Resident bytes of ``process`` (0 once it is gone)."""
    try:
        return process.memory_info().rss
    except psutil.Error:
        return 0


def main() -> int:
    """Run the trial, sample memory, print the figures; 0 when accounting and leaks pass."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--invocations", type=int, default=100_000)
    parser.add_argument("--time-scale", type=float, default=0.05)
    args = parser.parse_args()

    me = psutil.Process()
    threads_before = {t.ident for t in threading.enumerate()}
    with (
        served("--account-max-concurrency", "1000", time_scale=args.time_scale) as emu,
        tempfile.TemporaryDirectory(prefix="sm-bench-memory-") as folder,
    ):
        emulator_pid = emu.process.pid
        config = BenchmarkConfig(
            model_name="demo-tabular",
            invoke_args_examples=[{"Body": "5.1,3.5,1.4,0.2", "ContentType": "text/csv"}],
            memory_sizes=[2048],
            stability_benchmark_invocations=30,
            concurrency_benchmark_max_conc=[MAX_CONCURRENCY],
            concurrency_num_clients_multiplier=[CLIENTS / MAX_CONCURRENCY],
            concurrency_benchmark_invocations=args.invocations,
            adaptive=False,
            fetch_cloudwatch=False,
            result_save_path=folder,
        )
        target = Target.for_emulator(emu.url)
        seen = [0]
        lock = threading.Lock()

        def count(event: object) -> None:
            if isinstance(event, InvocationBatch):
                with lock:
                    seen[0] += len(event.rows)

        started = time.monotonic()
        handle = start_benchmark(config, target)
        handle.subscribe(count)
        samples: list[tuple[float, int, int, int]] = []  # (s, invocations, run RSS, worker RSS)
        while not handle.done:
            handle.wait(1.0)
            workers = [p for p in me.children(recursive=True) if p.pid != emulator_pid]
            with lock:
                n = seen[0]
            samples.append((time.monotonic() - started, n, rss(me), sum(map(rss, workers))))
        result = handle.result
        elapsed = time.monotonic() - started
        rows = len(result.invocations)
        counts = result.invocations["outcome"].value_counts().to_dict()
        summary = result.summary
        summed = int(summary["count"].sum())
        leftovers = find_leftovers(target, run_id=result.run_id)
        children_left = [p for p in me.children(recursive=True) if p.pid != emulator_pid]

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        extra = [t for t in threading.enumerate() if t.ident not in threads_before]
        if not extra:
            break
        time.sleep(0.2)

    print(
        f"run {result.run_id}: {result.status}, {rows} invocations in {elapsed:.0f} s "
        f"({rows / elapsed:.0f}/s), outcomes {counts}"
    )
    print("measured while other work ran: figures are noisy")
    print(f"{'s':>6} {'invocations':>12} {'run MB':>8} {'worker MB':>10}")
    step = max(1, len(samples) // 10)
    for s, n, run_rss, worker_rss in samples[::step] + samples[-1:]:
        print(f"{s:6.0f} {n:12d} {run_rss / MB:8.1f} {worker_rss / MB:10.1f}")
    # the second half of the load, while the worker runs (not the result built at the end)
    half = [x for x in samples if x[1] >= rows // 2 and x[3] > 0]
    ok = True
    if len(half) >= 2 and half[-1][1] > half[0][1]:
        done = half[-1][1] - half[0][1]
        run_growth = (half[-1][2] - half[0][2]) / done
        worker_growth = (half[-1][3] - half[0][3]) / done
        print(
            f"second half: run process {run_growth:.0f} B/invocation "
            f"({run_growth * 10_000 / MB:.2f} MB per 10k), load worker "
            f"{worker_growth:.0f} B/invocation ({worker_growth * 10_000 / MB:.2f} MB per 10k)"
        )
        for name, growth in (("run process", run_growth), ("load worker", worker_growth)):
            flat = growth * 10_000 / MB < 1.0
            print(f"{name}: {'flat' if flat else 'GROWS with invocations'}")
            ok &= flat
    accounted = rows == summed == seen[0]
    print(f"accounted: rows {rows} = summary counts {summed} = streamed {seen[0]}: {accounted}")
    print(
        f"left behind: endpoints {leftovers}, processes {[p.pid for p in children_left]}, "
        f"threads {[t.name for t in threading.enumerate() if t.ident not in threads_before]}"
    )
    ok &= accounted and not leftovers and not children_left
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
