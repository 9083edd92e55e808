"""The same benchmark as a thread run, a one-host and a two-host Processing job, on the emulator.

One emulator (``sm-bench emulator`` in its own process, at ``--time-scale``; its local job
runner starts each job host as a process of its own), the demo-nlp model, memory sizes
2048, 3072 and 4096 MB and MaxConcurrency 2 and 4, adaptive stopping off so every mode
makes the same invocations. Prints, per mode: wall time from launch to the result,
invocations, the memory size the concurrency phase ran at and the recommendation; for the
jobs, the streamed-results delay: how long (wall clock) after an invocation ended it was
visible through the job handle (``progress()`` polled every 0.25 s), median and 95th
percentile. Figures are emulated, on the service's clock.

Then a concurrency trial of ``--split-clients`` clients (MaxConcurrency as many, after a
trial of half as many on the same endpoint, which takes its cold-start probe) as a
one-host job, and as a two-host job whose hosts split it (``clients_per_host`` half of
them): the trial's throughput, p50 latency and the load generator's own part of the p50
(``overhead_ms``: round trip minus the time the emulator says it held the request), and
how much the two parts' windows overlapped. ``--only-split`` runs that part alone.

    python benchmarks/job_modes.py [--time-scale 0.2] [--invocations 60]
        [--split-clients 16] [--split-invocations 2000] [--only-split]
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


def split_options(clients: int, invocations: int) -> dict:
    return dict(
        memory_sizes=[2048],
        stability_benchmark_invocations=20,
        concurrency_benchmark_max_conc=[clients],
        # half the clients first (the endpoint's cold-start probe goes with that trial)
        concurrency_num_clients_multiplier=[0.5, 1],
        concurrency_benchmark_invocations=invocations,
        adaptive=False,
    )


def split_run(
    target: Target, payloads: Path, clients: int, invocations: int, hosts: int, folder: Path
) -> dict:
    """The ``clients``-client trial as a job of ``hosts`` hosts, split when more than one."""
    from sm_bench_widgets.jobs.launcher import launch_job
    from sm_bench_widgets.jobs.options import JobOptions

    config = BenchmarkConfig(
        model_name="demo-nlp",
        invoke_args_examples_file=str(payloads),
        **split_options(clients, invocations),
    )
    per_host = clients if hosts == 1 else -(-clients // hosts)
    job = JobOptions(role=ROLE, instance_count=hosts, clients_per_host=per_host)
    handle = launch_job(config, target, job, cache_dir=folder)
    result = handle.wait(timeout=1800)
    trial_id = f"concurrency-m2048-c{clients}-n{clients}"
    rows = result.invocations[result.invocations["trial_id"] == trial_id]
    summary = result.concurrency[result.concurrency["trial_id"] == trial_id].iloc[0]
    ok = rows[(rows["outcome"] == "ok") & ~rows["cold"].astype(bool)]
    overhead = float(ok["overhead_ms"].median()) if "overhead_ms" in ok else float("nan")
    overlap = start_gap = end_gap = float("nan")
    if hosts > 1:
        parts = []
        for host in sorted(p for p in handle.run_dir.iterdir() if p.is_dir()):
            own = load_run(host).invocations
            own = own[own["trial_id"] == trial_id]
            if len(own):
                parts.append((own["start"].min(), own["end"].max()))
        if len(parts) > 1:
            common = min(e for _, e in parts) - max(s for s, _ in parts)
            overlap = common / (max(e for _, e in parts) - min(s for s, _ in parts))
            start_gap = max(s for s, _ in parts) - min(s for s, _ in parts)
            end_gap = max(e for _, e in parts) - min(e for _, e in parts)
    return {
        "status": handle.status(),
        "invocations": len(rows),
        "throughput": float(summary["throughput_rps"]),
        "p50": float(summary["p50_ms"]),
        "overhead": overhead,
        "throttled": int(summary["throttle_count"]),
        "overlap": overlap,
        "gaps": (start_gap, end_gap),
    }


def split_comparison(args: argparse.Namespace) -> None:
    clients, invocations = args.split_clients, args.split_invocations
    with tempfile.TemporaryDirectory() as tmp, served(time_scale=args.time_scale) as emulator:
        folder = Path(tmp)
        target = Target.for_emulator(emulator.url)
        payloads = write_jsonl(EXAMPLES, folder / "payloads.jsonl")
        runs = {
            "1 host": split_run(target, payloads, clients, invocations, 1, folder / "one"),
            "2 hosts, split": split_run(target, payloads, clients, invocations, 2, folder / "two"),
        }
    print(
        f"one trial of {clients} clients (MaxConcurrency {clients}), {invocations} invocations, "
        f"time scale {args.time_scale:g} (emulated, service clock)"
    )
    print(
        f"{'mode':<16}{'status':>11}{'invocations':>13}{'rps':>9}{'p50 ms':>9}"
        f"{'client ms':>11}{'throttled':>11}{'overlap':>9}"
    )
    for mode, r in runs.items():
        print(
            f"{mode:<16}{r['status']:>11}{r['invocations']:>13}{r['throughput']:>9.1f}"
            f"{r['p50']:>9.1f}{r['overhead']:>11.2f}{r['throttled']:>11}{r['overlap']:>9.0%}"
        )
    starts, ends = runs["2 hosts, split"]["gaps"]
    print(
        f"split parts: first rows {starts:.1f} s apart, last rows {ends:.1f} s apart "
        "(service clock)"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--time-scale", type=float, default=0.2)
    parser.add_argument("--invocations", type=int, default=60)
    parser.add_argument("--split-clients", type=int, default=16)
    parser.add_argument("--split-invocations", type=int, default=2000)
    parser.add_argument("--only-split", action="store_true")
    parser.add_argument("--no-split", action="store_true", help="the three modes only")
    args = parser.parse_args()
    if not args.only_split:
        modes(args)
    if not args.no_split:
        split_comparison(args)
    return 0


def modes(args: argparse.Namespace) -> None:
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


if __name__ == "__main__":
    sys.exit(main())
