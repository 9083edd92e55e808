"""The same benchmark as a thread run, a one-host and a two-host Processing job, on the emulator.

One emulator (``sm-bench emulator`` in its own process, at ``--time-scale``; its local job
runner starts each job host as a process of its own), the demo-nlp model, memory sizes
2048, 3072 and 4096 MB and MaxConcurrency 2 and 4, adaptive stopping off so every mode
makes the same invocations. Prints, per mode: wall time from launch to the result,
invocations, the memory size the concurrency phase ran at and the recommendation; for the
jobs, the streamed-results delay: how long (wall clock) after an invocation ended it was
visible through the job handle (``progress()`` polled every 0.25 s), median and 95th
percentile. Figures are emulated, on the service's clock.

    python benchmarks/job_modes.py [--time-scale 0.2] [--invocations 60]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from sm_bench_widgets.api import run_benchmark
from sm_bench_widgets.aws.clients import Target
from sm_bench_widgets.config import BenchmarkConfig
from sm_bench_widgets.emulator.process import served
from sm_bench_widgets.engine.store import load_run
from sm_bench_widgets.payloads import write_jsonl
from sm_bench_widgets.sagemaker_runner import run_as_sagemaker_job

ROLE = "arn:aws:iam::123456789012:role/sm-bench-benchmark"
EXAMPLES = [
    {"Body": "0.5,1.2,3.3,4.1", "ContentType": "text/csv"},
    {"Body": "7.0,0.1,2.2,5.9", "ContentType": "text/csv"},
]


def options(invocations: int) -> dict:
    return dict(
        memory_sizes=[2048, 3072, 4096],
        stability_benchmark_invocations=invocations,
        concurrency_benchmark_max_conc=[2, 4],
        concurrency_num_clients_multiplier=[1],
        concurrency_benchmark_invocations=invocations,
        adaptive=False,
    )


def thread_run(target: Target, payloads: Path, invocations: int, folder: Path) -> dict:
    config = BenchmarkConfig(
        model_name="demo-nlp",
        invoke_args_examples_file=str(payloads),
        result_save_path=str(folder),
        **options(invocations),
    )
    started = time.monotonic()
    result = run_benchmark(config, target, progress=False)
    return {"wall": time.monotonic() - started, "result": result, "delays": []}


def job_run(target: Target, payloads: Path, invocations: int, hosts: int, folder: Path) -> dict:
    started = time.monotonic()
    handle = run_as_sagemaker_job(
        ROLE, "demo-nlp", payloads, instance_count=hosts, target=target, **options(invocations)
    )
    handle.cache_dir = folder
    seen: list[tuple[float, dict[str, int]]] = []  # (wall clock, visible count per trial)
    while not handle.done:
        seen.append((time.time(), handle.progress()))
        time.sleep(0.25)
    result = handle.wait()
    wall = time.monotonic() - started
    delays = []
    # rows are on the emulator's clock; back on the wall clock to compare with the polls
    clock = load_run(handle.run_dir).config
    origin, scale = clock.get("clock_origin") or 0.0, clock.get("time_scale") or 1.0
    for trial, rows in result.invocations.groupby("trial_id"):
        ends = np.sort(origin + (rows["end"].to_numpy() - origin) * scale)
        for rank, end in enumerate(ends, start=1):
            visible = next((t for t, counts in seen if counts.get(trial, 0) >= rank), None)
            if visible is not None:  # rows that arrived only with the last upload are left out
                delays.append(visible - end)
    return {"wall": wall, "result": result, "delays": delays}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--time-scale", type=float, default=0.2)
    parser.add_argument("--invocations", type=int, default=60)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, served(time_scale=args.time_scale) as emulator:
        folder = Path(tmp)
        target = Target.for_emulator(emulator.url)
        payloads = write_jsonl(EXAMPLES, folder / "payloads.jsonl")
        runs = {
            "thread": thread_run(target, payloads, args.invocations, folder / "thread"),
            "job, 1 host": job_run(target, payloads, args.invocations, 1, folder / "job1"),
            "job, 2 hosts": job_run(target, payloads, args.invocations, 2, folder / "job2"),
        }
    base = runs["thread"]["wall"]
    print(f"time scale {args.time_scale:g}, {args.invocations} invocations per trial (emulated)")
    print(f"{'mode':<14}{'wall s':>8}{'x thread':>10}{'invocations':>13}  concurrency at / pick")
    for mode, run in runs.items():
        result = run["result"]
        memory = sorted(set(result.concurrency["memory_size"]))
        pick = result.recommendation_line()
        print(
            f"{mode:<14}{run['wall']:>8.1f}{run['wall'] / base:>10.2f}"
            f"{len(result.invocations):>13}  {memory} MB / {pick}"
        )
    for mode, run in runs.items():
        if run["delays"]:
            d = np.array(run["delays"])
            print(
                f"{mode}: streamed-results delay median {np.median(d):.1f} s, "
                f"p95 {np.percentile(d, 95):.1f} s, max {d.max():.1f} s ({len(d)} rows)"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
