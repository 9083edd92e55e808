"""How often the recommendation is right: seeded emulator scenarios with a known optimum.

Each scenario (``tests/scenarios.py``) is a random emulator profile, a subset of the memory
sizes, a strategy and maybe an SLA. One in-process emulator serves them all at
``--time-scale``; each runs as a stability-only benchmark with the configuration's
defaults (adaptive stopping with racing, ``--invocations`` at most per configuration).
The true optimum follows from the profile; the emulator's own overhead is measured first
(a profile that computes nothing) and added to the truth. Both are on the service's clock,
which emulated figures are stated on whatever the time scale.

A hit is the true optimum or a configuration whose true score is within 2% of it.
Prints one line per scenario, the hit rate and the median invocations per configuration.

    python benchmarks/recommendation_hit_rate.py [--scenarios 24] [--first-seed 1]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sm_bench_widgets.api import run_benchmark  # noqa: E402
from sm_bench_widgets.config import BenchmarkConfig  # noqa: E402
from sm_bench_widgets.emulator import LocalServerless, ModelProfile  # noqa: E402
from tests import scenarios  # noqa: E402

NULL_PROFILE = ModelProfile(base_ms_at_1vcpu=0.0, sigma=0.0, cold_start_ms=0.0)


def measure_overhead(emulator: LocalServerless, out: str) -> float:
    """Median round trip of a model that computes nothing: the emulator's own overhead."""
    name = emulator.register_profile_model("scenario-null", NULL_PROFILE)
    config = BenchmarkConfig(
        model_name=name,
        invoke_args_examples=[dict(scenarios.EXAMPLE)],
        memory_sizes=[2048],
        include_concurrency_benchmark=False,
        adaptive=False,
        stability_benchmark_invocations=200,
        result_save_path=out,
    )
    result = run_benchmark(config, emulator.target(), progress=False)
    return float(result.stability.iloc[0]["p50_ms"])


def run_one(
    seed: int, emulator: LocalServerless, args: argparse.Namespace, overhead: float, out: str
) -> dict:
    """One scenario's recommendation against its truth."""
    sc = scenarios.make_scenario(seed, overhead)
    emulator.register_profile_model(sc.model_name, sc.profile)
    config = BenchmarkConfig(
        **sc.config_fields(),
        stability_benchmark_invocations=args.invocations,
        result_save_path=out,
    )
    result = run_benchmark(config, emulator.target(), progress=False)
    ts = scenarios.truths(sc, result.prices, overhead)
    best, hits = scenarios.optimum(ts, sc.strategy, sc.weight)
    rec = result.recommendation
    chosen = rec.memory_size if rec is not None else None
    counts = result.invocations.groupby("trial_id").size().tolist()
    return {
        "seed": seed,
        "scenario": sc.describe(),
        "truth": best.memory_size if best else None,
        "ties": sorted(hits),
        "chosen": chosen,
        "hit": chosen in hits if best else chosen is None,
        "exact": chosen == (best.memory_size if best else None),
        "counts": counts,
        "reasons": result.stop_reasons,
    }


def main(argv: list[str] | None = None) -> int:
    """Run the scenarios and print the hit rate and median invocations per configuration."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scenarios", type=int, default=24, help="how many seeds to run")
    parser.add_argument("--first-seed", type=int, default=1, help="the first seed")
    parser.add_argument("--time-scale", type=float, default=0.1, help="emulator time scale")
    parser.add_argument(
        "--invocations", type=int, default=500, help="invocation budget per configuration"
    )
    args = parser.parse_args(argv)
    seeds = range(args.first_seed, args.first_seed + args.scenarios)
    started = time.perf_counter()
    rows = []
    with (
        tempfile.TemporaryDirectory(prefix="sm-bench-hit-rate-") as out,
        LocalServerless(time_scale=args.time_scale, seed=7) as emulator,
    ):
        overhead = measure_overhead(emulator, out)
        print(f"emulator overhead (median round trip of a null model): {overhead:.2f} ms")
        for seed in seeds:
            row = run_one(seed, emulator, args, overhead, out)
            rows.append(row)
            mark = "hit " if row["hit"] else "MISS"
            print(
                f"{mark} {row['scenario']}: truth {row['truth']} (ties {row['ties']}), "
                f"chosen {row['chosen']}, invocations {row['counts']}",
                flush=True,
            )
            if not row["hit"]:
                print(f"     stop reasons: {row['reasons']}")
    hits = sum(r["hit"] for r in rows)
    exact = sum(r["exact"] for r in rows)
    per_config = [n for r in rows for n in r["counts"]]
    print(
        f"seeds {seeds.start}-{seeds.stop - 1}, time scale {args.time_scale:g}, budget "
        f"{args.invocations} per configuration, {time.perf_counter() - started:.0f} s (EMULATED)"
    )
    print(f"hit rate: {hits}/{len(rows)} = {hits / len(rows):.1%} (exact optimum {exact})")
    print(f"median invocations per configuration: {statistics.median(per_config):.0f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
