"""Latency statistics: distribution-free percentile intervals and per-trial summaries.

Percentile confidence intervals come from order statistics: the number of observations
below the true q-th percentile is Binomial(n, q/100), so a pair of order statistics
brackets it with a probability that can be computed exactly, whatever the latency
distribution. With too few observations for the requested confidence, a bound does not
exist and is reported as NaN rather than guessed.

Where its coverage was checked (benchmarks/percentile_ci_coverage.py), a smoother interval
is used instead, by the stopping rule, racing, the decision rule and the summaries alike:
the Harrell-Davis estimate (a beta-weighted mean of all order statistics) +- z times its
Maritz-Jarrett standard error. The discrete interval's bounds jump between order
statistics and, at p90 on small samples, sit on the largest ones, so it stays wide long
after the percentile is known to +-5%.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterable, Mapping, Sequence
from statistics import NormalDist

import numpy as np
import pandas as pd

from sm_bench_widgets.frames import as_bool
from sm_bench_widgets.schema import SUMMARY_COLUMNS

DEFAULT_CONFIDENCE = 0.95


def _binomial_cdf(n: int, p: float) -> np.ndarray:
    """P(B <= k) for k = 0..n with B ~ Binomial(n, p), computed in log space."""
    k = np.arange(n + 1)
    if p <= 0.0:
        return np.ones(n + 1)
    if p >= 1.0:
        cdf = np.zeros(n + 1)
        cdf[-1] = 1.0
        return cdf
    i = np.arange(1, n + 1)
    log_choose = np.concatenate(([0.0], np.cumsum(np.log(n - i + 1) - np.log(i))))
    log_pmf = log_choose + k * math.log(p) + (n - k) * math.log1p(-p)
    pmf = np.exp(log_pmf - log_pmf.max())
    pmf /= pmf.sum()
    return np.minimum(np.cumsum(pmf), 1.0)


def order_statistic_ranks(n: int, q: float, confidence: float) -> tuple[int | None, int | None]:
    """1-based ranks (low, high) of the order statistics bounding the q-th percentile.

    ``low`` is the largest rank l with P(x_(l) > true percentile) <= alpha/2 and ``high``
    the smallest rank u with P(x_(u) < true percentile) <= alpha/2, so the interval covers
    with probability at least ``confidence``. A rank that does not exist is None.
    """
    if n <= 0:
        return None, None
    alpha = 1.0 - confidence
    cdf = _binomial_cdf(n, q / 100.0)
    # P(x_(l) > xi) = P(B <= l - 1) = cdf[l - 1]; want <= alpha / 2.
    ok_low = np.nonzero(cdf[:n] <= alpha / 2)[0]
    low = int(ok_low[-1]) + 1 if ok_low.size else None
    # P(x_(u) < xi) = P(B >= u) = 1 - cdf[u - 1]; want <= alpha / 2.
    ok_high = np.nonzero(1.0 - cdf[:n] <= alpha / 2)[0]
    high = int(ok_high[0]) + 1 if ok_high.size else None
    return low, high


def _floats(values: Iterable[float]) -> np.ndarray:
    """``values`` as a float array; an array or Series is taken as it is (no list of floats)."""
    given = values if isinstance(values, np.ndarray | pd.Series) else list(values)
    return np.asarray(given, dtype=float)


def _sorted_finite(values: Iterable[float], q: float, confidence: float) -> np.ndarray:
    """The finite values, sorted, once ``q`` and ``confidence`` are checked."""
    if not 0 < q < 100:
        raise ValueError(f"q={q!r} is not allowed: a percentile strictly between 0 and 100")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence={confidence!r} is not allowed: a level in (0, 1)")
    x = _floats(values)
    return np.sort(x[np.isfinite(x)])


def percentile_ci(
    values: Iterable[float], q: float, confidence: float = DEFAULT_CONFIDENCE
) -> tuple[float, float, float]:
    """(estimate, low, high) for the q-th percentile (0-100), distribution-free.

    The estimate is the sample percentile (linear interpolation); the bounds are order
    statistics chosen from the binomial distribution, NaN where n is too small.
    """
    x = _sorted_finite(values, q, confidence)
    n = x.size
    if n == 0:
        return math.nan, math.nan, math.nan
    estimate = float(np.percentile(x, q))
    low_rank, high_rank = order_statistic_ranks(n, q, confidence)
    low = float(x[low_rank - 1]) if low_rank is not None else math.nan
    high = float(x[high_rank - 1]) if high_rank is not None else math.nan
    return estimate, low, high


# The smooth interval is used only where at least this many observations are expected on
# the percentile's far side (n x min(p, 1 - p)); below that, its coverage falls short
# (benchmarks/percentile_ci_coverage.py) and the order-statistic interval is used.
SMOOTH_MIN_TAIL = 5
# Above this many observations the two intervals agree within a few percent of their width
# and the discrete one's steps are fine, while the smooth one's weights cost milliseconds
# per percentile: the order-statistic interval is used.
SMOOTH_MAX_N = 1000


def _beta_continued_fraction(a: float, b: float, x: np.ndarray) -> np.ndarray:
    """The continued fraction of the regularized incomplete beta (modified Lentz)."""
    tiny = 1e-300

    def guard(v: np.ndarray) -> np.ndarray:
        return np.where(np.abs(v) < tiny, tiny, v)

    c = np.ones_like(x)
    d = 1.0 / guard(1.0 - (a + b) * x / (a + 1.0))
    h = d.copy()
    for m in range(1, 1000):
        for aa in (
            m * (b - m) * x / ((a - 1.0 + 2 * m) * (a + 2 * m)),
            -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 1.0 + 2 * m)),
        ):
            d = 1.0 / guard(1.0 + aa * d)
            c = guard(1.0 + aa / c)
            h = h * d * c
        if np.all(np.abs(d * c - 1.0) < 1e-15):
            break
    return h


def regularized_beta(a: float, b: float, x: np.ndarray) -> np.ndarray:
    """I_x(a, b), the beta(a, b) distribution function at each x (numpy has none)."""
    x = np.clip(np.asarray(x, dtype=float), 0.0, 1.0)
    out = np.where(x >= 1.0, 1.0, 0.0)
    inner = (x > 0.0) & (x < 1.0)
    xi = x[inner]
    log_beta = math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b)
    front = np.exp(log_beta + a * np.log(xi) + b * np.log1p(-xi))
    direct = xi < (a + 1.0) / (a + b + 2.0)  # where the fraction converges fast
    value = np.empty_like(xi)
    value[direct] = front[direct] * _beta_continued_fraction(a, b, xi[direct]) / a
    value[~direct] = 1.0 - front[~direct] * _beta_continued_fraction(b, a, 1.0 - xi[~direct]) / b
    out[inner] = value
    return out


HD_WEIGHT_SPAN = 12.0


@functools.lru_cache(maxsize=256)
def harrell_davis_weights(n: int, q: float) -> np.ndarray:
    """Weights of the n order statistics in the Harrell-Davis q-th percentile (read-only):
    the beta((n + 1)p, (n + 1)(1 - p)) probability of each ((i - 1)/n, i/n]."""
    p = q / 100.0
    a, b = (n + 1) * p, (n + 1) * (1 - p)
    # once the beta is near normal (both shapes >= 30), its mass lies within a few
    # standard deviations of its mean: beyond HD_WEIGHT_SPAN of them a weight is below
    # 1e-20 and is left at 0, which keeps large samples cheap
    mean, sd = a / (a + b), math.sqrt(a * b / ((a + b) ** 2 * (a + b + 1)))
    grid = np.arange(n + 1) / n
    near = np.abs(grid - mean) <= HD_WEIGHT_SPAN * sd + 1.0 / n
    if min(a, b) < 30:
        near[:] = True
    cdf = np.where(grid < mean, 0.0, 1.0)
    cdf[near] = regularized_beta(a, b, grid[near])
    cdf[0], cdf[-1] = 0.0, 1.0
    weights = np.diff(cdf)
    weights.flags.writeable = False
    return weights


def smooth_percentile_ci(
    values: Iterable[float], q: float, confidence: float = DEFAULT_CONFIDENCE
) -> tuple[float, float, float]:
    """(estimate, low, high): the Harrell-Davis q-th percentile +- z x its Maritz-Jarrett
    standard error; NaN bounds below 2 observations. Check its coverage before use."""
    x = _sorted_finite(values, q, confidence)
    n = x.size
    if n < 2:
        return (float(x[0]) if n else math.nan), math.nan, math.nan
    weights = harrell_davis_weights(n, float(q))
    first = float(weights @ x)
    second = float(weights @ (x * x))
    se = math.sqrt(max(second - first * first, 0.0))
    z = NormalDist().inv_cdf((1 + confidence) / 2)
    return first, first - z * se, first + z * se


def precision_ci(
    values: Iterable[float], q: float, confidence: float = DEFAULT_CONFIDENCE
) -> tuple[float, float, float]:
    """Every percentile interval the tool reports and decides on: smooth where
    n x min(p, 1 - p) >= SMOOTH_MIN_TAIL (its coverage holds) and n <= SMOOTH_MAX_N,
    else the order-statistic one."""
    x = _floats(values)
    n = int(np.isfinite(x).sum())
    if n <= SMOOTH_MAX_N and n * min(q, 100 - q) >= SMOOTH_MIN_TAIL * 100:  # 0.1 x 50 != 5.0
        return smooth_percentile_ci(x, q, confidence)
    return percentile_ci(x, q, confidence)


def _within(estimate: float, low: float, high: float, precision: float, floor_ms: float) -> bool:
    """The interval's wider side is within +-precision of the estimate, or within
    +-``floor_ms`` milliseconds."""
    if not (math.isfinite(low) and math.isfinite(high)) or estimate <= 0:
        return False
    return max(estimate - low, high - estimate) <= max(precision * estimate, floor_ms)


def relative_half_width(values: Iterable[float], q: float, confidence: float) -> float:
    """The wider side of the q-th percentile's ``precision_ci`` relative to its estimate
    (inf if unknown)."""
    estimate, low, high = precision_ci(values, q, confidence)
    if not (math.isfinite(low) and math.isfinite(high)) or estimate <= 0:
        return math.inf
    return max(estimate - low, high - estimate) / estimate


def precision_reached(
    latencies_ms: Iterable[float],
    precision: float,
    confidence: float,
    percentiles: Sequence[float] = (50, 90),
    floor_ms: float = 0.0,
) -> bool:
    """True when every percentile's interval (wider side) is within +-precision of its
    estimate, or within +-``floor_ms`` milliseconds (a resolution finer than that tells
    nothing: see ``BenchmarkConfig.precision_ms``)."""
    x = _floats(latencies_ms)
    return all(_within(*precision_ci(x, q, confidence), precision, floor_ms) for q in percentiles)


def percentile_settled(
    latencies_ms: Iterable[float],
    q: float,
    precision: float,
    confidence: float,
    limit_ms: float | None = None,
    side: str = "either",
    floor_ms: float = 0.0,
) -> bool:
    """True when the q-th percentile is known well enough: its interval is within
    +-precision of the estimate (or +-``floor_ms``), or (with ``limit_ms``) lies wholly
    on one side of it (``side``: "either", "below" or "above"), which settles an SLA on
    that percentile."""
    if side not in ("either", "below", "above"):
        raise ValueError(f"side={side!r} is not allowed: one of either, below, above")
    x = _floats(latencies_ms)
    estimate, low, high = precision_ci(x, q, confidence) if x.size else (math.nan,) * 3
    below = limit_ms is not None and side != "above" and high < limit_ms
    above = limit_ms is not None and side != "below" and low > limit_ms
    return below or above or _within(estimate, low, high, precision, floor_ms)


def rate_interval(
    events: int, n: int, confidence: float = DEFAULT_CONFIDENCE
) -> tuple[float, float]:
    """Wilson score interval (low, high) of a rate from ``events`` out of ``n`` trials.

    Each bound holds one-sided at (1 + confidence) / 2, like the percentile intervals;
    (nan, nan) without trials.
    """
    if n <= 0:
        return math.nan, math.nan
    z = NormalDist().inv_cdf(1 - (1 - confidence) / 2)
    p = events / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def _trial_phase(g: pd.DataFrame) -> str:
    """A trial's phase: its cold-start probe rows belong to the phase of its other rows."""
    if "phase" not in g:
        return ""
    phases = g["phase"].astype(str)
    main = phases[phases != "cold_start"]
    return str(main.iloc[0] if len(main) else phases.iloc[0])


def _load_rows(g: pd.DataFrame) -> pd.Series:
    """The rows of a trial's load: all but its cold-start probe, which may run long before
    the load starts (a split trial's parts start together only after it), unless the
    trial is nothing but its probe."""
    if "phase" not in g:
        return pd.Series(True, index=g.index)
    load = g["phase"].astype(str) != "cold_start"
    return load if load.any() else pd.Series(True, index=g.index)


# The warm window stands for the trial only with this many ok completions in it, at least
# STEADY_OK_PER_SLOT for each request the endpoint serves at once (min(clients, MaxConcurrency)).
STEADY_MIN_OK = 10
STEADY_OK_PER_SLOT = 2


def _steady_window(
    g: pd.DataFrame, load: pd.Series, ok: pd.Series, cold: pd.Series
) -> tuple[float, int]:
    """The load's steady-state window (its length, the ok completions in it).

    It runs from the end of the load's last cold invocation to its last end: before that,
    clients wait on instances still starting (demo-nlp: 7 s each), which says nothing of
    what warm instances serve. Without cold load invocations it is the whole load window.
    Completions are counted by their end, so requests in flight when it opens count.
    """
    start = pd.to_numeric(g.loc[load, "start"], errors="coerce")
    end = pd.to_numeric(g["end"], errors="coerce")
    ramp = load & cold
    opens = float(end[ramp].max()) if ramp.any() else float(start.min())
    done = int((load & ok & (end > opens)).sum()) if ramp.any() else int((load & ok).sum())
    return float(end[load].max()) - opens, done


def _slots(first: pd.Series) -> int:
    """Requests the endpoint serves at once: min(clients, MaxConcurrency), 1 if unknown."""
    given = [first.get("clients"), first.get("max_concurrency")]
    known = [float(v) for v in pd.to_numeric(pd.Series(given), errors="coerce") if v > 0]
    return int(min(known)) if known else 1


def _percentile(lat: np.ndarray, q: float, confidence: float) -> tuple[float, float, float]:
    """The sample q-th percentile and the interval the stopping rule checks, so that the
    bounds a summary shows are the ones racing, the decision rule and stopping used."""
    if not lat.size:
        return (math.nan,) * 3
    _, low, high = precision_ci(lat, q, confidence)
    return float(np.percentile(lat, q)), low, high


def _summary_row(
    trial_id: object, g: pd.DataFrame, confidence: float, stop_reason: str
) -> dict[str, object]:
    outcome = g["outcome"].astype(str)
    cold = as_bool(g["cold"]) if "cold" in g else pd.Series(False, index=g.index)
    count = len(g)
    ok = outcome == "ok"
    ok_count = int(ok.sum())
    lat = pd.to_numeric(g.loc[ok & ~cold, "latency_ms"], errors="coerce").dropna().to_numpy()
    p50, p50_lo, p50_hi = _percentile(lat, 50, confidence)
    p90, p90_lo, p90_hi = _percentile(lat, 90, confidence)
    _, p95_lo, p95_hi = _percentile(lat, 95, confidence)
    _, p99_lo, p99_hi = _percentile(lat, 99, confidence)
    load = _load_rows(g)
    start = pd.to_numeric(g.loc[load, "start"], errors="coerce")
    end = pd.to_numeric(g.loc[load, "end"], errors="coerce")
    duration = float(end.max() - start.min()) if count else math.nan
    load_ok = int((ok & load).sum())
    all_in = load_ok / duration if duration and duration > 0 else math.nan
    window, done = _steady_window(g, load, ok, cold) if count else (math.nan, 0)
    needed = max(STEADY_MIN_OK, STEADY_OK_PER_SLOT * _slots(g.iloc[0]))
    steady = window > 0 and done >= needed
    if not steady:
        window = duration
    first = g.iloc[0]
    return {
        "trial_id": trial_id,
        "phase": _trial_phase(g),
        "memory_size": first.get("memory_size"),
        "max_concurrency": first.get("max_concurrency"),
        "provisioned_concurrency": first.get("provisioned_concurrency", 0),
        "clients": first.get("clients", 1),
        "count": count,
        "ok_count": ok_count,
        "throttle_count": int((outcome == "throttled").sum()),
        "insufficient_memory_count": int((outcome == "insufficient_memory").sum()),
        "model_error_count": int((outcome == "model_error").sum()),
        "other_error_count": int((outcome == "error").sum()),
        "error_rate": (count - ok_count) / count if count else math.nan,
        "mean_ms": float(lat.mean()) if lat.size else math.nan,
        "p50_ms": p50,
        "p90_ms": p90,
        "p95_ms": float(np.percentile(lat, 95)) if lat.size else math.nan,
        "p99_ms": float(np.percentile(lat, 99)) if lat.size else math.nan,
        "iqr_ms": float(np.percentile(lat, 75) - np.percentile(lat, 25)) if lat.size else math.nan,
        "p50_ci_low": p50_lo,
        "p50_ci_high": p50_hi,
        "p90_ci_low": p90_lo,
        "p90_ci_high": p90_hi,
        "p95_ci_low": p95_lo,
        "p95_ci_high": p95_hi,
        "p99_ci_low": p99_lo,
        "p99_ci_high": p99_hi,
        "throughput_rps": done / window if steady else all_in,
        "throughput_all_rps": all_in,
        "throughput_window_s": window,
        "duration_s": duration,
        "cold_count": int(cold.sum()),
        "stop_reason": stop_reason,
    }


def summarize(
    invocations_df: pd.DataFrame,
    stop_reasons: Mapping[object, str] | None = None,
    confidence: float = DEFAULT_CONFIDENCE,
) -> pd.DataFrame:
    """One row per trial_id with SUMMARY_COLUMNS; latency statistics over ok, warm rows.

    Error rate counts every non-ok outcome over all invocations. Throughput is steady-state:
    ok load invocations per second that end in the load's warm window (from its last cold
    invocation's end to its last end, ``throughput_window_s``), or, when that window holds
    fewer than max(STEADY_MIN_OK, STEADY_OK_PER_SLOT x min(clients, MaxConcurrency)) of them,
    over the whole load, as ``throughput_all_rps`` always is: ok load invocations per second
    between the load's first start and last end (``duration_s``). The cold-start probe is
    left out of both: it is a burst of its own, before the load. ``stop_reason``
    comes from ``stop_reasons`` (trial_id -> reason), else from a ``stop_reason`` column
    (its last non-empty value), else "". The interval level is kept in ``attrs``.
    """
    reasons = dict(stop_reasons or {})
    rows = []
    if invocations_df is not None and len(invocations_df):
        for trial_id, g in invocations_df.groupby("trial_id", sort=False):
            reason = reasons.get(trial_id, "")
            if not reason and "stop_reason" in g:
                given = [str(r) for r in g["stop_reason"] if isinstance(r, str) and r]
                reason = given[-1] if given else ""
            rows.append(_summary_row(trial_id, g, confidence, reason))
    out = pd.DataFrame(rows, columns=SUMMARY_COLUMNS)
    out.attrs["confidence"] = confidence
    return out
