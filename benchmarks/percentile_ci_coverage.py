"""Coverage of the 95% percentile intervals: order statistics against the smooth one.

Draws seeded samples from lognormal latencies (sigma 0.05 to 0.3) and a heavy-tailed
mixture (95% lognormal sigma 0.1 around 1, 5% lognormal sigma 0.5 around 3: a slow tail),
n from 30 to 500, and counts how often each interval holds the true p50, p90, p95 and p99:

- order: ``stats.percentile_ci``, the distribution-free order-statistic interval;
- smooth: ``stats.smooth_percentile_ci``, Harrell-Davis +- z x Maritz-Jarrett error;
- used: ``stats.precision_ci``, what the stopping rule checks (smooth where
  n x min(p, 1 - p) >= SMOOTH_MIN_TAIL, marked *, else order).

Coverage counts only samples where the interval exists (``undef``: the share where it did
not); ``width`` is the median wider side relative to the estimate, as the stopping rule
reads it. The smooth interval must hold about 93% or more wherever it is used.

    python benchmarks/percentile_ci_coverage.py [--reps 1000] [--seed 1]
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from collections.abc import Callable
from pathlib import Path
from statistics import NormalDist

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sm_bench_widgets.analysis import stats  # noqa: E402

SIZES = (30, 50, 100, 200, 500)
PERCENTILES = (50, 90, 95, 99)  # p50, p90: always checked; p95, p99: as an SLA
MIX_SLOW = 0.05
STD = NormalDist()


def lognormal(sigma: float) -> tuple[Callable[[np.random.Generator, int], np.ndarray], Callable]:
    """Sampler and true quantile function of lognormal(0, sigma)."""
    return (
        lambda rng, n: rng.lognormal(0.0, sigma, n),
        lambda p: math.exp(sigma * STD.inv_cdf(p)),
    )


def _mixture_cdf(x: float) -> float:
    fast = STD.cdf(math.log(x) / 0.1)
    slow = STD.cdf((math.log(x) - math.log(3.0)) / 0.5)
    return (1 - MIX_SLOW) * fast + MIX_SLOW * slow


def _mixture_quantile(p: float) -> float:
    low, high = 1e-3, 1e3
    for _ in range(200):  # bisection in log space
        mid = math.sqrt(low * high)
        low, high = (mid, high) if _mixture_cdf(mid) < p else (low, mid)
    return math.sqrt(low * high)


def _mixture_draw(rng: np.random.Generator, n: int) -> np.ndarray:
    slow = rng.random(n) < MIX_SLOW
    return np.where(slow, rng.lognormal(math.log(3.0), 0.5, n), rng.lognormal(0.0, 0.1, n))


DISTRIBUTIONS = {
    "lognormal s=0.05": lognormal(0.05),
    "lognormal s=0.1": lognormal(0.1),
    "lognormal s=0.3": lognormal(0.3),
    "mixture 5% slow": (_mixture_draw, _mixture_quantile),
}
METHODS = {
    "order": stats.percentile_ci,
    "smooth": stats.smooth_percentile_ci,
    "used": stats.precision_ci,
}


def coverage(
    method: Callable, samples: list[np.ndarray], q: float, truth: float
) -> tuple[float, float, float]:
    """(coverage where defined, share undefined, median relative wider side)."""
    hits, widths = 0, []
    for x in samples:
        estimate, low, high = method(x, q, 0.95)
        if not (math.isfinite(low) and math.isfinite(high)):
            continue
        hits += low <= truth <= high
        widths.append(max(estimate - low, high - estimate) / estimate)
    defined = len(widths)
    if not defined:
        return math.nan, 1.0, math.nan
    return hits / defined, 1 - defined / len(samples), float(np.median(widths))


def main(argv: list[str] | None = None) -> int:
    """Print one row per distribution, n and percentile; exit 1 if a used smooth one < 93%."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reps", type=int, default=1000, help="samples per cell")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    started = time.perf_counter()
    rng = np.random.default_rng(args.seed)
    print(f"95% intervals, {args.reps} seeded samples per row (seed {args.seed})")
    print(
        f"{'distribution':18} {'n':>4} {'q':>3}  {'order cov':>9} {'undef':>5} {'width':>6}"
        f"  {'smooth cov':>10} {'width':>6}  {'used':>6}"
    )
    short = []
    for name, (draw, quantile) in DISTRIBUTIONS.items():
        for n in SIZES:
            samples = [draw(rng, n) for _ in range(args.reps)]
            for q in PERCENTILES:
                truth = quantile(q / 100)
                order = coverage(METHODS["order"], samples, q, truth)
                smooth = coverage(METHODS["smooth"], samples, q, truth)
                used_smooth = n * min(q, 100 - q) >= stats.SMOOTH_MIN_TAIL * 100
                used = coverage(METHODS["used"], samples, q, truth)
                mark = "*" if used_smooth else " "
                print(
                    f"{name:18} {n:4d} {q:3d}  {order[0]:9.3f} {order[1]:5.2f} {order[2]:6.3f}"
                    f"  {smooth[0]:10.3f} {smooth[2]:6.3f}  {used[0]:5.3f}{mark}",
                    flush=True,
                )
                if used_smooth and smooth[0] < 0.93:
                    short.append((name, n, q, smooth[0]))
    print(f"* smooth interval used (n x min(p, 1-p) >= {stats.SMOOTH_MIN_TAIL})")
    for name, n, q, cov in short:
        print(f"SHORT: {name} n={n} p{q}: smooth coverage {cov:.3f} < 0.93 where used")
    print(f"{time.perf_counter() - started:.0f} s")
    return 1 if short else 0


if __name__ == "__main__":
    raise SystemExit(main())
