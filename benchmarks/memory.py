"""Memory of a million invocations: the run's rows, its store, and the result opened from it.

Builds ``--invocations`` synthetic invocation rows (default 1,000,000) through the real
path: ``Rows.extend`` in batches of 50 as the batcher hands them on, the run store writing
each batch, then a ``BenchmarkResult`` opened from the run directory with its summary
computed, while the run's rows are still held (as at the end of a run). Rows carry the
labels of 20 trials and fresh string objects per batch, as rows unpickled from the load
worker do. Prints the resident memory after each step and the peak, as bytes per
invocation over the process's starting size.

``--before DIR`` measures a checkout of an earlier version too (``git worktree add DIR
<commit>``), each in a process of its own, and prints both side by side. The goal: a
million invocations well under 1 GB while a result is open.

    nice -n 10 python benchmarks/memory.py [--invocations 1000000] [--before /tmp/mem-before]
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import psutil

HERE = Path(__file__).resolve().parent
MB = 1024 * 1024
TRIALS = 20
BATCH = 50  # the batcher's default batch size


def fresh(text: str) -> str:
    """A new string object equal to ``text`` (as unpickling a batch makes)."""
    return text.encode().decode()


def batches(total: int, run_id: str) -> Any:
    """Invocation rows like the invoker's, ``BATCH`` at a time, trial after trial."""
    rng = random.Random(7)
    per_trial = max(1, total // TRIALS)
    clock = 1.7e9
    made = 0
    while made < total:
        n = min(BATCH, total - made)
        trial = min(made // per_trial, TRIALS - 1)
        memory = (1024, 2048, 3072, 4096, 6144)[trial % 5]
        labels = {
            "run_id": fresh(run_id),
            "trial_id": fresh(f"concurrency-m{memory}-c{20 + trial}"),
            "phase": fresh("concurrency"),
            "memory_size": memory,
            "max_concurrency": 20 + trial,
            "provisioned_concurrency": 0,
            "clients": 40 + 2 * trial,
        }
        endpoint = fresh(f"sm-bench-{run_id}-m{memory}-c{20 + trial}")
        ok, throttled, empty = fresh("ok"), fresh("throttled"), fresh("")
        rows = []
        for _ in range(n):
            latency = rng.lognormvariate(3.0, 0.3)
            throttle = rng.random() < 0.02
            clock += 0.001
            rows.append(
                {
                    **labels,
                    "client_id": rng.randrange(labels["clients"]),
                    "endpoint_name": endpoint,
                    "start": clock,
                    "end": clock + latency / 1000.0,
                    "latency_ms": latency,
                    "outcome": throttled if throttle else ok,
                    "error_code": fresh("ThrottlingException") if throttle else empty,
                    "cold": False,
                    "bytes_in": 1200 + rng.randrange(400),
                    "bytes_out": 300 + rng.randrange(100),
                    "payload_index": rng.randrange(1000),
                    "overhead_ms": rng.random(),
                }
            )
        made += n
        yield rows


def rss() -> int:
    """This process's resident bytes now (after a collection)."""
    gc.collect()
    return psutil.Process().memory_info().rss


def peak() -> int:
    """This process's peak resident bytes so far."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def measure(total: int) -> dict[str, Any]:
    """Build the rows, store them, open the result; the figures as a dict."""
    from sm_bench_widgets.config import BenchmarkConfig
    from sm_bench_widgets.engine.context import Rows
    from sm_bench_widgets.engine.store import RunStore
    from sm_bench_widgets.result import BenchmarkResult

    config = BenchmarkConfig(model_name="demo-nlp", memory_sizes=[1024, 2048])
    figures: dict[str, Any] = {"invocations": total}
    base = rss()
    figures["start_mb"] = base / MB
    with tempfile.TemporaryDirectory(prefix="sm-bench-memory-") as folder:
        run_dir = Path(folder) / "run"
        store = RunStore(run_dir)
        store.write_config(config.to_dict(), run_id="memrun", created=time.time(), emulated=True)
        rows = Rows()
        t0 = time.perf_counter()
        seen: set[str] = set()
        for batch in batches(total, "memrun"):
            rows.extend(batch)
            store.append_invocations(batch)
            seen.add(batch[0]["trial_id"])
        for trial_id in sorted(seen):
            store.append_trial({"event": "ended", "trial_id": trial_id, "stop_reason": "budget"})
        store.close("completed")
        figures["write_s"] = time.perf_counter() - t0
        figures["rows_mb"] = rss() / MB
        figures["store_mb"] = (run_dir / "invocations.jsonl").stat().st_size / MB

        t0 = time.perf_counter()
        result = BenchmarkResult.load(run_dir)
        summary = result.summary
        figures["open_s"] = time.perf_counter() - t0
        assert len(result.invocations) == total == len(rows), "rows went missing"
        assert len(summary) == len(seen)
        figures["result_mb"] = rss() / MB
        figures["frame_mb"] = result.invocations.memory_usage(deep=True).sum() / MB
        figures["peak_mb"] = peak() / MB
    for key in ("rows", "result", "peak"):
        figures[f"{key}_bytes_per_invocation"] = (figures[f"{key}_mb"] - base / MB) * MB / total
    return figures


def run_in(tree: Path, total: int) -> dict[str, Any]:
    """``measure`` in a new process importing the package from ``tree``."""
    env = {**os.environ, "PYTHONPATH": str(tree)}
    cmd = [sys.executable, str(Path(__file__).resolve()), "--measure", "--invocations", str(total)]
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, cwd=tree, check=False)
    if out.returncode != 0:
        raise SystemExit(f"measuring {tree} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


ROWS = [
    ("process at start (MB)", "start_mb", "{:.0f}"),
    ("after rows + store writes (MB)", "rows_mb", "{:.0f}"),
    ("  bytes per invocation", "rows_bytes_per_invocation", "{:.0f}"),
    ("after the result is opened (MB)", "result_mb", "{:.0f}"),
    ("  bytes per invocation", "result_bytes_per_invocation", "{:.0f}"),
    ("peak RSS (MB)", "peak_mb", "{:.0f}"),
    ("  bytes per invocation", "peak_bytes_per_invocation", "{:.0f}"),
    ("result's invocations frame (MB)", "frame_mb", "{:.0f}"),
    ("run store invocations.jsonl (MB)", "store_mb", "{:.0f}"),
    ("rows + store writes (s)", "write_s", "{:.1f}"),
    ("open the result + summary (s)", "open_s", "{:.1f}"),
]


def main() -> int:
    """Measure this checkout (and ``--before``'s); print the table. 0 when this checkout's
    peak stays under 1 GB."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--invocations", type=int, default=1_000_000)
    parser.add_argument("--before", type=Path, help="a checkout of an earlier version")
    parser.add_argument("--measure", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(args.invocations)))
        return 0

    columns = {}
    if args.before is not None:
        columns[f"before ({args.before})"] = run_in(args.before.resolve(), args.invocations)
    columns["now"] = run_in(HERE.parent, args.invocations)
    print(f"{args.invocations:,} invocations, {TRIALS} trials, batches of {BATCH}")
    width = max(len(name) for name in columns) + 2
    print(f"{'':34}" + "".join(f"{name:>{width}}" for name in columns))
    for label, key, fmt in ROWS:
        cells = "".join(f"{fmt.format(c[key]):>{width}}" for c in columns.values())
        print(f"{label:34}{cells}")
    return 0 if columns["now"]["peak_mb"] < 1024 else 1


if __name__ == "__main__":
    sys.exit(main())
