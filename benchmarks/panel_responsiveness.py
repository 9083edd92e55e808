"""How responsive the kernel stays while a BenchmarkPanel run goes on, measured in-process.

One command: ``python benchmarks/panel_responsiveness.py``. A panel runs a benchmark
against an in-process emulator at full speed (small ``time_scale``), as the embedded
emulator does in a notebook. Meanwhile the main thread plays "trivial cells": small
Python work, and setting and reading a widget value. Their latencies are measured with no
run going and during the run, and printed side by side. The delay from an invocation's
row being published by the engine to the refresh that puts it into the dashboard's chart
data is measured on the wall clock (a row's own ``end`` is on the emulator's clock, which
runs ``1 / time_scale`` times faster), through a run subscriber and the panel's chart
observers.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable

import ipywidgets as w

from sm_bench_widgets import api
from sm_bench_widgets.emulator import LocalServerless
from sm_bench_widgets.widgets import BenchmarkPanel

EXAMPLES = [
    {"Body": "1,2,3,4", "ContentType": "text/csv"},
    {"Body": "5,6,7,8", "ContentType": "text/csv"},
]


def small_work() -> None:
    """A trivial cell: a little pure-Python computation."""
    sum(i * i for i in range(2000))


def widget_set_get(widget: w.IntSlider) -> Callable[[], None]:
    """A trivial widget cell: set a value and read it back."""

    def op() -> None:
        widget.value = (widget.value + 1) % 100
        assert widget.value >= 0

    return op


def measure(
    op: Callable[[], None],
    seconds: float,
    stop: threading.Event | None = None,
    gap_s: float = 0.005,
) -> list[float]:
    """Latencies (ms) of ``op`` run every ``gap_s`` for ``seconds`` or until ``stop``."""
    samples: list[float] = []
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline and not (stop and stop.is_set()):
        started = time.perf_counter()
        op()
        samples.append((time.perf_counter() - started) * 1000)
        time.sleep(gap_s)
    return samples


def stats(samples: list[float]) -> dict[str, float]:
    """n, p50, p90, p99 and max of ``samples``."""
    ordered = sorted(samples)
    if not ordered:
        return {
            "n": 0,
            "p50": float("nan"),
            "p90": float("nan"),
            "p99": float("nan"),
            "max": float("nan"),
        }

    def q(p: float) -> float:
        return ordered[min(len(ordered) - 1, int(p * len(ordered)))]

    return {
        "n": len(ordered),
        "p50": statistics.median(ordered),
        "p90": q(0.9),
        "p99": q(0.99),
        "max": ordered[-1],
    }


def row(label: str, idle: dict[str, float], busy: dict[str, float]) -> str:
    """One printed comparison line."""
    ratio = busy["p50"] / idle["p50"] if idle["p50"] else float("nan")
    return (
        f"{label:<28} idle p50 {idle['p50']:7.3f} p99 {idle['p99']:7.3f} max "
        f"{idle['max']:7.2f} | run p50 {busy['p50']:7.3f} p99 {busy['p99']:7.3f} max "
        f"{busy['max']:7.2f} ms | p50 x{ratio:.2f} (n {idle['n']}/{busy['n']})"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--time-scale", type=float, default=0.01)
    parser.add_argument("--idle-seconds", type=float, default=4.0)
    parser.add_argument(
        "--invocations",
        type=int,
        default=800,
        help="stability invocations per memory size (adaptive stopping off)",
    )
    args = parser.parse_args(argv)

    slider = w.IntSlider()
    ops = {"small Python work": small_work, "widget value set+get": widget_set_get(slider)}

    with (
        LocalServerless(time_scale=args.time_scale, seed=7) as emu,
        tempfile.TemporaryDirectory() as out,
    ):
        panel = BenchmarkPanel(
            target=emu.target(),
            model_name="demo-tabular",
            invoke_args_examples=EXAMPLES,
            memory_sizes=[1024, 2048, 3072],
            adaptive=False,
            stability_benchmark_invocations=args.invocations,
            concurrency_benchmark_max_conc=[2, 4, 8],
            concurrency_num_clients_multiplier=[1, 2],
            concurrency_benchmark_invocations=args.invocations // 2,
            result_save_path=out,
        )
        idle = {name: stats(measure(op, args.idle_seconds / len(ops))) for name, op in ops.items()}

        delays: list[float] = []
        published: dict[int, float] = {}

        def stamp(event: object) -> None:
            if isinstance(event, api.InvocationBatch):
                now = time.time()
                published.update((id(r), now) for r in event.rows)

        def applied_at(rows: list[dict], applied: float) -> None:
            for r in rows:
                if id(r) in published:
                    delays.append((applied - published.pop(id(r))) * 1000)

        panel.chart_observers.append(applied_at)
        started = time.perf_counter()
        handle = panel.start()
        handle.subscribe(stamp)
        ended = threading.Event()
        threading.Thread(target=lambda: (handle.wait(), ended.set()), daemon=True).start()
        busy_samples: dict[str, list[float]] = {name: [] for name in ops}
        while not ended.is_set():  # alternate the two operations until the run is over
            for name, op in ops.items():
                busy_samples[name] += measure(op, 0.5, stop=ended)
        result = panel.wait()
        wall = time.perf_counter() - started
        busy = {name: stats(samples) for name, samples in busy_samples.items()}

        refresher = panel._refresher
        print(
            f"run {result.run_id}: {result.status}, {len(result.invocations):,} invocations "
            f"in {wall:.1f} s ({len(result.invocations) / wall:,.0f}/s), "
            f"time_scale {args.time_scale}, emulated"
        )
        print("main-thread operation latency, no run going against a run going:")
        for name in ops:
            print("  " + row(name, idle[name], busy[name]))
        d = stats(delays)
        print(
            f"row published -> in dashboard chart data: p50 {d['p50']:.0f} ms, "
            f"p90 {d['p90']:.0f} ms, p99 {d['p99']:.0f} ms, max {d['max']:.0f} ms "
            f"over {d['n']:,} invocations"
        )
        if refresher is not None:
            print(
                f"refreshes: {refresher.refreshes} in {wall:.1f} s "
                f"({refresher.refreshes / wall:.1f}/s), refresher busy "
                f"{refresher.busy_s:.2f} s ({100 * refresher.busy_s / wall:.0f}% of wall time)"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
