"""Memory of a run over 100,000 invocations: 400 clients at MaxConcurrency 200.

Starts ``sm-bench emulator`` in a process of its own, runs one concurrency trial of
``--invocations`` (default 100,000) invocations with 400 closed-loop clients against an
endpoint of MaxConcurrency 200, and samples every second the resident memory of this
process (the run: events, store, racing), of the run's load worker and of the emulator
with its children, next to the invocations recorded so far. Prints the samples at each
tenth of the run; the growth per invocation over the second half of the load, fitted by
least squares to the samples taken while the load worker runs; apart from it, what
building the result at the end added; whether every invocation was accounted for; and
whether threads or processes were left behind, by the run (when it ended) and by the
emulator (when it was stopped, and how: on its own or killed).

"Flat" means growing by less than 1 MB per 10,000 invocations (about 105 bytes an
invocation) over the second half of the load; the invocation rows themselves take about
50 bytes each in the run's process. The exit status is 0 only when the run's process and
its load worker are flat, every invocation is accounted for and nothing is left behind.

    nice -n 10 python benchmarks/under_load_memory.py [--invocations 100000] [--time-scale 0.05]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import threading
import time

import numpy as np
import psutil

from sm_bench_widgets.api import InvocationBatch, start_benchmark
from sm_bench_widgets.aws.clients import Target
from sm_bench_widgets.aws.endpoints import find_leftovers
from sm_bench_widgets.config import BenchmarkConfig
from sm_bench_widgets.emulator.process import served

MAX_CONCURRENCY = 200
CLIENTS = 400
MB = 1024 * 1024
FLAT_BYTES_PER_10K = 1 * MB
# Below this many invocations allocator warm-up outweighs growth: figures shown, not judged
JUDGE_MIN_INVOCATIONS = 20_000


def rss(process: psutil.Process | None) -> int:
    """Resident bytes of ``process`` (0 once it is gone)."""
    try:
        return process.memory_info().rss if process is not None else 0
    except psutil.Error:
        return 0


def alive(processes: list[psutil.Process]) -> list[psutil.Process]:
    """Those of ``processes`` still running (a zombie awaiting its reaping is not)."""
    out = []
    for p in processes:
        try:
            if p.is_running() and p.status() != psutil.STATUS_ZOMBIE:
                out.append(p)
        except psutil.Error:
            pass
    return out


def describe(processes: list[psutil.Process]) -> list[str]:
    """pid and module of each process, as far as it can still be read."""
    out = []
    for p in processes:
        try:
            out.append(f"{p.pid} {' '.join(p.cmdline()[1:3])}")
        except psutil.Error:
            out.append(f"{p.pid} (gone)")
    return out


def slope(points: list[tuple[int, int]]) -> float:
    """Least-squares bytes per invocation of (invocations, bytes) points."""
    x = np.array([p[0] for p in points], dtype=float)
    y = np.array([p[1] for p in points], dtype=float)
    return float(np.polyfit(x, y, 1)[0])


def main() -> int:
    """Run the trial, sample memory, print the figures; 0 when flat, accounted and clean."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--invocations", type=int, default=100_000)
    parser.add_argument("--time-scale", type=float, default=0.05)
    parser.add_argument(
        "--sample-seconds", type=float, default=1.0, help="wall time between memory samples"
    )
    args = parser.parse_args()

    me = psutil.Process()
    threads_before = {t.ident for t in threading.enumerate()}
    # (s, invocations, run RSS, load worker RSS, emulator and its children RSS, load on)
    samples: list[tuple[float, int, int, int, int, bool]] = []
    with (
        served("--account-max-concurrency", "1000", time_scale=args.time_scale) as emu,
        tempfile.TemporaryDirectory(prefix="sm-bench-memory-") as folder,
    ):
        emulator = psutil.Process(emu.process.pid)
        emulator_tree = [emulator, *emulator.children(recursive=True)]
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
        run_children: list[psutil.Process] = []
        while not handle.done:
            handle.wait(args.sample_seconds)
            emulator_pids = {p.pid for p in emulator_tree}
            emulator_tree += [
                p for p in emulator.children(recursive=True) if p.pid not in emulator_pids
            ]
            mine = [p for p in me.children() if p.pid != emulator.pid]
            run_children += [p for p in mine if p.pid not in {c.pid for c in run_children}]
            worker = mine[0] if mine else None
            with lock:
                n = seen[0]
            on = worker is not None and not handle.done  # a sample of the load, not of the end
            emu_rss = sum(map(rss, alive(emulator_tree)))
            samples.append((time.monotonic() - started, n, rss(me), rss(worker), emu_rss, on))
        before_result = rss(me)
        result = handle.result
        after_result = rss(me)
        elapsed = time.monotonic() - started
        rows = len(result.invocations)
        counts = result.invocations["outcome"].value_counts().to_dict()
        summed = int(result.summary["count"].sum())
        leftovers = find_leftovers(target, run_id=result.run_id)
        run_left = alive([p for p in me.children(recursive=True) if p.pid != emulator.pid])
        run_left = [p for p in run_left if p.pid not in {q.pid for q in emulator_tree}]
        stopping = time.monotonic()
    stop_seconds = time.monotonic() - stopping
    emulator_code = emu.process.returncode
    emulator_left = alive(emulator_tree)

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
    print(f"{'s':>6} {'invocations':>12} {'run MB':>8} {'worker MB':>10} {'emulator MB':>12}")
    step = max(1, len(samples) // 10)
    for s, n, run_rss, worker_rss, emu_rss, on in samples[::step] + samples[-1:]:
        print(
            f"{s:6.0f} {n:12d} {run_rss / MB:8.1f} {worker_rss / MB:10.1f} {emu_rss / MB:12.1f}"
            + ("" if on else "  (load over)")
        )
    # samples of the load: its worker running and invocations still to come
    load = [x for x in samples if x[5] and x[1] < rows]
    half = [x for x in load if x[1] >= rows // 2]
    ok = True
    if len(half) >= 3 and half[-1][1] > half[0][1]:
        growth = {
            "run process": slope([(x[1], x[2]) for x in half]),
            "load worker": slope([(x[1], x[3]) for x in half]),
        }
        emulator_growth = slope([(x[1], x[4]) for x in half])
        print(
            f"second half of the load ({half[0][1]}-{half[-1][1]} invocations, "
            f"{len(half)} samples, least squares):"
        )
        judged = rows >= JUDGE_MIN_INVOCATIONS
        for name, bytes_per in growth.items():
            flat = bytes_per * 10_000 < FLAT_BYTES_PER_10K
            verdict = "flat" if flat else "GROWS with invocations"
            if not judged:
                verdict = f"not judged: under {JUDGE_MIN_INVOCATIONS:,} invocations, warm-up weighs"
            print(
                f"  {name}: {bytes_per:.0f} B/invocation ({bytes_per * 10_000 / MB:.2f} MB per "
                f"10k): {verdict}"
            )
            ok &= flat or not judged
        print(f"  emulator and its children: {emulator_growth:.0f} B/invocation (not judged here)")
    else:
        print("too few samples in the second half of the load to judge growth")
        ok = rows < JUDGE_MIN_INVOCATIONS
    last_load = load[-1][2] if load else before_result
    print(
        f"after the load: ending the run +{(before_result - last_load) / MB:.1f} MB, "
        f"building the result +{(after_result - before_result) / MB:.1f} MB (once, not per "
        "invocation)"
    )
    accounted = rows == summed == seen[0]
    print(f"accounted: rows {rows} = summary counts {summed} = streamed {seen[0]}: {accounted}")
    threads_left = [t.name for t in threading.enumerate() if t.ident not in threads_before]
    print(
        f"left behind by the run: endpoints {leftovers}, processes {describe(run_left)}, "
        f"threads {threads_left}; its processes while it ran: {describe(run_children)}"
    )
    how = "ended on its own" if emulator_code is not None and emulator_code >= 0 else "killed"
    print(
        f"emulator stopped in {stop_seconds:.1f} s ({how}, exit status {emulator_code}); "
        f"its processes still running after: {describe(emulator_left)}"
    )
    ok &= accounted and not leftovers and not run_left and not threads_left
    ok &= not emulator_left and how == "ended on its own"
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
