"""Time to recommendation on the demo models: this engine's defaults against the seed's procedure.

One emulator (``sm-bench emulator`` in its own process, at ``--time-scale``), the demo
models (demo-nlp at 2048, 3072 and 4096 MB; demo-tabular and demo-mlp at 1024, 2048 and
3072 MB), each with its sample payloads, the stability benchmark only, run twice per model:

- ours: ``BenchmarkConfig`` defaults (adaptive stopping with racing, at most 1000
  invocations per configuration, no pause between invocations);
- seed: the seed toolkit's procedure, a fixed 1000 sequential invocations per
  configuration (adaptive stopping off) with a random 0-1 s pause before each, as its
  ``timed_invocation`` did (``time.sleep(random.random())``). The pause is scaled by the
  emulator's time scale, so both run against the same compressed clock.

Both go through the same engine, endpoints, load worker and recommendation rule; only the
stopping rule and the pause differ. The configurations of a model are loaded side by side
in both (the seed is not charged for running them one after another). Before timing, one
throwaway call creates the AWS clients, so neither pays the process's one-time botocore
start-up. Prints, per model, wall time and invocations of each, the ratios seed / ours
against the targets (at least 30x less wall time and 10x fewer invocations), and whether
the recommendation is the same (or a declared tie within the indifference zone).

Time scale: both figures shrink with it, but the client's and the emulator's few
milliseconds per request do not, and they weigh far more on ours (no pause) than on the
seed's, so a smaller scale understates the wall-time ratio. The default is real time (1.0),
the one a user on AWS meets, with ``--fraction 0.05`` so that the seed's side takes about
half a minute per model instead of ten. The emulator deploys an endpoint in 3 s, AWS in
minutes: on AWS both sides pay that alike, which shrinks the wall-time ratio.

``--fraction F`` runs the seed's procedure with F x 1000 invocations per configuration and
extrapolates its wall time: the time outside its load (deploy, cold start, teardown) is
kept, the load span is multiplied by 1/F (assumption: each invocation costs the same, pause
and latency alike); invocations are the full 1000 per configuration. The seed's
recommendation is then the one of its reduced run. ``--quick`` is demo-nlp only at time
scale 0.05 with ``--fraction 0.1`` (a rough figure within about half a minute).

    nice -n 10 python benchmarks/engine_vs_seed.py [--time-scale 1.0] [--models demo-nlp,...]
        [--fraction 0.05] [--quick]
"""

from __future__ import annotations

import argparse
import functools
import random
import sys
import tempfile
import time
from dataclasses import dataclass

from sm_bench_widgets.api import RunOptions, check_model, run_benchmark
from sm_bench_widgets.aws.clients import Target
from sm_bench_widgets.config import BenchmarkConfig
from sm_bench_widgets.emulator.process import served
from sm_bench_widgets.emulator.samples import demo_examples

MEMORY_SIZES = {
    "demo-nlp": [2048, 3072, 4096],
    "demo-tabular": [1024, 2048, 3072],
    "demo-mlp": [1024, 2048, 3072],
}
SEED_INVOCATIONS = 1000
WALL_TARGET = 30.0
INVOCATIONS_TARGET = 10.0


@dataclass
class Outcome:
    """What one procedure took on one model and what it recommended."""

    wall_s: float
    invocations: int
    per_config: dict[int, int]
    memory_size: int | None
    ties: list[str]
    load_span_s: float  # first request sent to last answered, in real seconds
    stop_reasons: dict[str, str]


def measure(
    config: BenchmarkConfig, target: Target, options: RunOptions | None, scale: float
) -> Outcome:
    """Run one procedure to its recommendation and time it."""
    started = time.perf_counter()
    result = run_benchmark(config, target, progress=False, options=options)
    wall = time.perf_counter() - started
    inv = result.invocations
    rec = result.recommendation
    span = (inv["end"].max() - inv["start"].min()) * scale if len(inv) else 0.0
    return Outcome(
        wall_s=wall,
        invocations=len(inv),
        per_config={int(m): int(n) for m, n in inv["memory_size"].value_counts().items()},
        memory_size=rec.memory_size if rec else None,
        ties=list(rec.ties) if rec else [],
        load_span_s=float(span),
        stop_reasons=result.stop_reasons,
    )


def extrapolate(seed: Outcome, fraction: float, configs: int) -> Outcome:
    """The seed's full-size figures from a run at ``fraction`` of its invocations: the time
    outside the load kept, the load span scaled by 1 / fraction."""
    if fraction >= 1.0:
        return seed
    outside = max(seed.wall_s - seed.load_span_s, 0.0)
    return Outcome(
        wall_s=outside + seed.load_span_s / fraction,
        invocations=SEED_INVOCATIONS * configs,
        per_config={m: SEED_INVOCATIONS for m in seed.per_config},
        memory_size=seed.memory_size,
        ties=seed.ties,
        load_span_s=seed.load_span_s / fraction,
        stop_reasons=seed.stop_reasons,
    )


def verdict(ours: Outcome, seed: Outcome) -> str:
    """``same``, ``tie`` (either declares the other's pick a tie) or ``DIFFERENT``."""
    if ours.memory_size == seed.memory_size:
        return "same"
    if any(str(seed.memory_size) in t for t in ours.ties) or any(
        str(ours.memory_size) in t for t in seed.ties
    ):
        return "tie"
    return "DIFFERENT"


def main(argv: list[str] | None = None) -> int:
    """Run both procedures on each demo model on one emulator and print one table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--time-scale", type=float, default=None, help="default 1.0")
    parser.add_argument("--models", default=None, help="comma-separated demo models")
    parser.add_argument(
        "--fraction", type=float, default=None, help="of the seed's 1000 invocations (default 0.05)"
    )
    parser.add_argument("--quick", action="store_true", help="demo-nlp, 0.05, fraction 0.1")
    args = parser.parse_args(argv)
    scale = args.time_scale or (0.05 if args.quick else 1.0)
    fraction = args.fraction or (0.1 if args.quick else 0.05)
    models = (args.models or ("demo-nlp" if args.quick else ",".join(MEMORY_SIZES))).split(",")
    if not 0 < fraction <= 1:
        parser.error("--fraction must be in (0, 1]")
    unknown = [m for m in models if m not in MEMORY_SIZES]
    if unknown:
        parser.error(f"--models: {unknown} not among {list(MEMORY_SIZES)}")

    rows = []
    with served(time_scale=scale) as emulator:
        target = Target.for_emulator(emulator.url)
        check_model(target, models[0])  # the process's one-time client start-up, untimed
        out = tempfile.mkdtemp(prefix="sm-bench-engine-vs-seed-")
        for model in models:
            base = dict(
                model_name=model,
                invoke_args_examples=demo_examples(model),
                memory_sizes=MEMORY_SIZES[model],
                include_concurrency_benchmark=False,
                result_save_path=out,
            )
            ours = measure(BenchmarkConfig(**base), target, None, scale)
            pause = functools.partial(random.uniform, 0.0, scale)  # picklable: runs in the worker
            seed = measure(
                BenchmarkConfig(
                    **base,
                    adaptive=False,
                    stability_benchmark_invocations=round(SEED_INVOCATIONS * fraction),
                ),
                target,
                RunOptions(pause=pause),
                scale,
            )
            full = extrapolate(seed, fraction, len(MEMORY_SIZES[model]))
            rows.append((model, ours, seed, full))
            print(f"{model}: ours {ours.stop_reasons}", flush=True)

    for model, ours, _seed, _full in rows:
        per = ", ".join(f"{m}:{n}" for m, n in sorted(ours.per_config.items()))
        print(f"{model} ours, invocations per memory size: {per}")
    print()
    print(
        f"Stability benchmark, emulator time scale {scale:g} (seed pauses scaled alike), "
        "results EMULATED; measured while other work ran"
    )
    if fraction < 1:
        print(
            f"seed measured at {fraction:g} x {SEED_INVOCATIONS} invocations per configuration, "
            "EXTRAPOLATED to the full size: time outside the load kept, load span x "
            f"{1 / fraction:g} (assumes every invocation costs the same)"
        )
    head = (
        f"{'model':13} {'ours s':>7} {'seed s':>8} {'wall x':>7} {'ours inv':>9} "
        f"{'seed inv':>9} {'inv x':>6} {'ours rec':>9} {'seed rec':>9} {'same':>9}"
    )
    print(head)
    totals = [0.0, 0.0, 0, 0]
    same_all = True
    for model, ours, seed, full in rows:
        same = verdict(ours, seed)
        same_all &= same != "DIFFERENT"
        print(
            f"{model:13} {ours.wall_s:7.1f} {full.wall_s:8.1f} {full.wall_s / ours.wall_s:6.1f}x "
            f"{ours.invocations:9d} {full.invocations:9d} "
            f"{full.invocations / ours.invocations:5.1f}x {ours.memory_size!s:>9} "
            f"{seed.memory_size!s:>9} {same:>9}"
        )
        totals[0] += ours.wall_s
        totals[1] += full.wall_s
        totals[2] += ours.invocations
        totals[3] += full.invocations
    if len(rows) > 1:
        print(
            f"{'all':13} {totals[0]:7.1f} {totals[1]:8.1f} {totals[1] / totals[0]:6.1f}x "
            f"{totals[2]:9d} {totals[3]:9d} {totals[3] / totals[2]:5.1f}x"
        )
    wall_x, inv_x = totals[1] / totals[0], totals[3] / totals[2]
    print(
        f"targets: wall time >= {WALL_TARGET:g}x ({'met' if wall_x >= WALL_TARGET else 'MISSED'}, "
        f"{wall_x:.1f}x), invocations >= {INVOCATIONS_TARGET:g}x "
        f"({'met' if inv_x >= INVOCATIONS_TARGET else 'MISSED'}, {inv_x:.1f}x), "
        f"same recommendation: {'yes' if same_all else 'NO'}"
    )
    return 0 if same_all else 1


if __name__ == "__main__":
    sys.exit(main())
