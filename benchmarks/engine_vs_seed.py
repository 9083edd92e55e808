"""Wall time and invocations to a recommendation: this engine against the seed's procedure.

One emulator (``sm-bench emulator`` in its own process, at ``--time-scale``), the demo-nlp
model, memory sizes 2048, 3072 and 4096 MB, the stability benchmark only, run twice:

- ours: ``BenchmarkConfig`` defaults (adaptive stopping with racing, up to 1000
  invocations per configuration, no pause between invocations);
- seed: the seed toolkit's procedure, a fixed 1000 sequential invocations per
  configuration (adaptive stopping off) with a random 0-1 s pause before each, as its
  ``timed_invocation`` did (``time.sleep(random.random())``). The pause is scaled by the
  same time scale as the emulator, so both run against the same compressed clock.

Both go through the same engine, endpoints and recommendation rule; only the stopping
rule and the pause differ. Prints wall time, invocations and the recommended memory size
of each, and the ratios seed / ours.

The default time scale is 0.2 (demo-nlp answers in 35-60 ms instead of 180-300 ms; the
seed procedure then takes about 3 minutes). Much smaller scales shrink the emulated
latency towards the emulator's own few milliseconds of HTTP and scheduling jitter, which
does not scale: the latencies then vary far more than the model's 8% and any adaptive
rule needs more samples than it would against AWS.

    python benchmarks/engine_vs_seed.py [--time-scale 0.2] [--invocations 1000]
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from dataclasses import dataclass

from sm_bench_widgets.api import RunOptions, run_benchmark
from sm_bench_widgets.aws.clients import Target
from sm_bench_widgets.config import BenchmarkConfig
from sm_bench_widgets.emulator.process import served

MODEL = "demo-nlp"
MEMORY_SIZES = [2048, 3072, 4096]
EXAMPLES = [
    {"Body": "5.1,3.5,1.4,0.2", "ContentType": "text/csv"},
    {"Body": "6.2,2.9,4.3,1.3", "ContentType": "text/csv"},
]


@dataclass
class Outcome:
    """What one procedure took and what it recommended."""

    name: str
    wall_s: float
    invocations: int
    per_config: dict[int, int]
    memory_size: int | None
    stop_reasons: dict[str, str]


def measure(
    name: str, config: BenchmarkConfig, target: Target, options: RunOptions | None
) -> Outcome:
    """Run one procedure to its recommendation and time it."""
    started = time.perf_counter()
    result = run_benchmark(config, target, progress=False, options=options)
    wall = time.perf_counter() - started
    inv = result.invocations
    rec = result.recommendation
    return Outcome(
        name=name,
        wall_s=wall,
        invocations=len(inv),
        per_config={int(m): int(n) for m, n in inv["memory_size"].value_counts().items()},
        memory_size=rec.memory_size if rec else None,
        stop_reasons=result.stop_reasons,
    )


def main(argv: list[str] | None = None) -> int:
    """Run both procedures on one emulator and print the figures side by side."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--time-scale",
        type=float,
        default=0.2,
        help="emulated seconds per real second, applied to the seed's pauses",
    )
    parser.add_argument(
        "--invocations",
        type=int,
        default=1000,
        help="invocations per configuration (ours: at most; seed: exactly)",
    )
    args = parser.parse_args(argv)

    with served(time_scale=args.time_scale) as emulator:
        target = Target.for_emulator(emulator.url)
        out = tempfile.mkdtemp(prefix="sm-bench-engine-vs-seed-")
        base = dict(
            model_name=MODEL,
            invoke_args_examples=EXAMPLES,
            memory_sizes=MEMORY_SIZES,
            include_concurrency_benchmark=False,
            stability_benchmark_invocations=args.invocations,
            result_save_path=out,
        )
        ours = measure("ours (defaults)", BenchmarkConfig(**base), target, None)
        scale = args.time_scale
        seed = measure(
            "seed (fixed N, random pause)",
            BenchmarkConfig(**base, adaptive=False),
            target,
            RunOptions(pause=lambda: random.random() * scale),
        )

    print(
        f"demo-nlp, memory {MEMORY_SIZES}, stability benchmark only, emulator time scale "
        f"{args.time_scale:g} (seed pauses scaled alike); results are EMULATED"
    )
    print(
        f"{'procedure':32} {'wall s':>8} {'invocations':>12} {'per memory size':>28} "
        f"{'recommends':>11}"
    )
    for o in (ours, seed):
        per = ", ".join(f"{m}:{n}" for m, n in sorted(o.per_config.items()))
        rec = f"{o.memory_size} MB" if o.memory_size else "none"
        print(f"{o.name:32} {o.wall_s:8.1f} {o.invocations:12d} {per:>28} {rec:>11}")
    print(f"stop reasons (ours): {ours.stop_reasons}")
    print(f"wall time ratio seed/ours:   {seed.wall_s / ours.wall_s:6.1f}x  (target >= 10x)")
    print(
        f"invocations ratio seed/ours: {seed.invocations / ours.invocations:6.1f}x  (target >= 5x)"
    )
    same = ours.memory_size == seed.memory_size
    print(
        f"same recommendation: {'yes' if same else 'NO'} "
        f"(ours {ours.memory_size}, seed {seed.memory_size})"
    )
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
