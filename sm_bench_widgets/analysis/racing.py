"""Racing: which configurations are already known to lose, so their trials can stop early.

Successive elimination compares confidence intervals, not point estimates: a configuration
is dropped only when its interval lies entirely on the losing side of another
configuration's interval for the chosen strategy.
"""

from __future__ import annotations

import math

import pandas as pd

from sm_bench_widgets.analysis.cost import CONFIG_KEYS
from sm_bench_widgets.config import STRATEGIES, ConfigError


def _cost_interval(row: pd.Series) -> tuple[float, float]:
    """Cost per invocation with the compute share scaled by the p50 interval."""
    compute = row.get("compute_per_invocation_usd", math.nan)
    total = row.get("cost_per_invocation_usd", math.nan)
    p50, low, high = row["p50_ms"], row["p50_ci_low"], row["p50_ci_high"]
    if (
        not all(
            isinstance(v, int | float) and math.isfinite(v)
            for v in (compute, total, p50, low, high)
        )
        or p50 <= 0
    ):
        return math.nan, math.nan
    fixed = total - compute  # data processing and spread provisioned cost: no latency term
    return fixed + compute * low / p50, fixed + compute * high / p50


def _intervals(summary_df: pd.DataFrame, cost_df: pd.DataFrame | None) -> pd.DataFrame:
    table = summary_df.copy()
    if cost_df is not None and len(cost_df):
        keys = {k: "int64" for k in CONFIG_KEYS}
        costs = cost_df[CONFIG_KEYS + ["compute_per_invocation_usd", "cost_per_invocation_usd"]]
        costs = costs.drop_duplicates(CONFIG_KEYS).astype(keys)
        table = table.astype(keys).merge(costs, how="left", on=CONFIG_KEYS)
    bounds = [
        (_cost_interval(r) if "cost_per_invocation_usd" in table else (math.nan,) * 2)
        for _, r in table.iterrows()
    ]
    table["cost_low"] = [b[0] for b in bounds]
    table["cost_high"] = [b[1] for b in bounds]
    return table


def _defined(*values: float) -> bool:
    return all(isinstance(v, int | float) and math.isfinite(v) for v in values)


def _scores(group: pd.DataFrame, weight: float) -> dict[object, tuple[float, float]]:
    """Balanced score interval per trial, min-max normalised over the group's bounds."""
    rows = [
        r
        for _, r in group.iterrows()
        if _defined(r["p90_ci_low"], r["p90_ci_high"], r["cost_low"], r["cost_high"])
    ]
    if not rows:
        return {}
    lat_min = min(r["p90_ci_low"] for r in rows)
    lat_span = max(r["p90_ci_high"] for r in rows) - lat_min
    cost_min = min(r["cost_low"] for r in rows)
    cost_span = max(r["cost_high"] for r in rows) - cost_min

    def norm(value: float, low: float, span: float) -> float:
        return (value - low) / span if span > 0 else 0.0

    return {
        r["trial_id"]: (
            weight * norm(r["p90_ci_low"], lat_min, lat_span)
            + (1 - weight) * norm(r["cost_low"], cost_min, cost_span),
            weight * norm(r["p90_ci_high"], lat_min, lat_span)
            + (1 - weight) * norm(r["cost_high"], cost_min, cost_span),
        )
        for r in rows
    }


def dominated(
    summary_df: pd.DataFrame,
    cost_df: pd.DataFrame | None,
    strategy: str = "balanced",
    weight: float = 0.5,
    confidence: float = 0.95,
) -> set[object]:
    """Trial ids that are, with the stated confidence, worse than another configuration.

    Rule (configurations compete only within the same phase):
    - speed: A is dominated when A's p90 interval low > some B's p90 interval high.
    - cost: the cost per invocation interval scales the compute share of the cost table
      by the p50 interval (p50_ci_low / p50 .. p50_ci_high / p50); data processing and
      spread provisioned cost are fixed. A is dominated when its low > some B's high.
    - balanced: score = weight x norm(p90) + (1 - weight) x norm(cost), min-max over the
      interval bounds of the phase's configurations; A is dominated when its score low >
      some B's score high. Each bound holds at ``confidence``; a claim combining two
      intervals holds at least at 1 - 2 x (1 - confidence) by the union bound.
    A configuration whose intervals are not yet defined (too few samples, no cost row)
    is never dropped and never used to drop another. ``confidence`` is the level the
    summary's intervals were built at (``summarize(..., confidence=...)``); a summary
    carrying a different level in its ``attrs`` is refused.
    """
    if strategy not in STRATEGIES:
        raise ConfigError("strategy", strategy, f"one of {', '.join(STRATEGIES)}")
    if not 0 <= weight <= 1:
        raise ConfigError("balanced_weight", weight, "a number from 0 (all cost) to 1 (all speed)")
    if summary_df is None or not len(summary_df):
        return set()
    built_at = summary_df.attrs.get("confidence")
    if built_at is not None and not math.isclose(built_at, confidence):
        raise ValueError(
            f"confidence={confidence} does not match the summary's intervals, "
            f"built at {built_at}: summarize again at {confidence}"
        )
    table = _intervals(summary_df, cost_df)
    groups = table.groupby("phase", sort=False) if "phase" in table else [("", table)]
    losers: set[object] = set()
    for _, group in groups:
        if strategy == "balanced":
            bounds = _scores(group, weight)
        else:
            low, high = (
                ("p90_ci_low", "p90_ci_high") if strategy == "speed" else ("cost_low", "cost_high")
            )
            bounds = {
                r["trial_id"]: (r[low], r[high])
                for _, r in group.iterrows()
                if _defined(r[low], r[high])
            }
        for trial, (low_a, _) in bounds.items():
            if any(low_a > high_b for other, (_, high_b) in bounds.items() if other != trial):
                losers.add(trial)
    return losers
