"""How often the recommendation is right: seeded emulator scenarios with a known optimum.

Each scenario (``tests/scenarios.py``) is a random emulator profile, a subset of the memory
sizes, a strategy and maybe an SLA. One in-process emulator serves them all at
``--time-scale``; each runs as a stability-only benchmark with the configuration's
defaults (adaptive stopping with racing, ``--invocations`` at most per configuration).
The true optimum follows from the profile and the emulator's overhead model, on the
service's clock, which emulated figures are stated on whatever the time scale; the
overhead is measured first (a profile that computes nothing) as a check of that model.

A hit is the true optimum or a configuration whose true score is within 2% of it (a
declared tie). Prints one line per scenario, then the hit rate, the exact-optimum count
and the median invocations per configuration.

    python benchmarks/recommendation_hit_rate.py [--seeds 1-40] [--time-scale 0.1]
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

RACED = ("dominated", "infeasible")  # racing's stop reasons
NULL_PROFILE = ModelProfile(base_ms_at_1vcpu=0.0, sigma=0.0, cold_start_ms=0.0)


def parse_seeds(text: str) -> list[int]:
    """Seeds from "1-40", "3,11,13" or a mix ("1-5,9")."""
    seeds: list[int] = []
    try:
        for part in text.split(","):
            first, _, last = part.strip().partition("-")
            seeds += range(int(first), int(last or first) + 1)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"--seeds {text!r}: ranges and numbers such as 1-40 or 3,11,13"
        ) from None
    if not seeds:
        raise argparse.ArgumentTypeError(f"--seeds {text!r} names no seed")
    return seeds


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


def run_one(seed: int, emulator: LocalServerless, args: argparse.Namespace, out: str) -> dict:
    """One scenario's recommendation against its truth."""
    sc = scenarios.make_scenario(seed)
    emulator.register_profile_model(sc.model_name, sc.profile)
    config = BenchmarkConfig(
        **sc.config_fields(),
        stability_benchmark_invocations=args.invocations,
        result_save_path=out,
    )
    result = run_benchmark(config, emulator.target(), progress=False)
    ts = scenarios.truths(sc, result.prices)
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
        "optimum_raced": bool(best)
        and result.stop_reasons.get(f"stability-m{best.memory_size}") in RACED,
    }


def main(argv: list[str] | None = None) -> int:
    """Run the scenarios and print the hit rate and median invocations per configuration."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--seeds", type=parse_seeds, default="1-24", help="seeds, e.g. 1-40 or 3,11,13-15"
    )
    parser.add_argument("--time-scale", type=float, default=0.1, help="emulator time scale")
    parser.add_argument(
        "--invocations", type=int, default=500, help="invocation budget per configuration"
    )
    args = parser.parse_args(argv)
    started = time.perf_counter()
    rows = []
    with (
        tempfile.TemporaryDirectory(prefix="sm-bench-hit-rate-") as out,
        LocalServerless(time_scale=args.time_scale, seed=7) as emulator,
    ):
        overhead = measure_overhead(emulator, out)
        print(
            f"emulator overhead (median of a null model): {overhead:.2f} ms "
            f"(the truth's overhead model: median {scenarios.OVERHEAD_MS:.2f} ms)"
        )
        for seed in args.seeds:
            row = run_one(seed, emulator, args, out)
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
    misses = ", ".join(str(r["seed"]) for r in rows if not r["hit"]) or "none"
    print(
        f"seeds {_span(args.seeds)}, time scale {args.time_scale:g}, budget "
        f"{args.invocations} per configuration, {time.perf_counter() - started:.0f} s wall "
        "(figures EMULATED, on the service clock)"
    )
    print(f"hit rate: {hits}/{len(rows)} = {hits / len(rows):.1%} (misses: {misses})")
    raced = sum(r["optimum_raced"] for r in rows)
    print(f"exact optimum: {exact}/{len(rows)}; true optimum stopped by racing: {raced}")
    print(
        f"median invocations per configuration: {statistics.median(per_config):.0f} "
        f"(mean {statistics.mean(per_config):.0f}, {len(per_config)} configurations)"
    )
    return 0


def _span(seeds: list[int]) -> str:
    if seeds == list(range(seeds[0], seeds[-1] + 1)):
        return f"{seeds[0]}-{seeds[-1]}"
    return ",".join(map(str, seeds))


if __name__ == "__main__":
    raise SystemExit(main())
