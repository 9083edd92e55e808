"""Racing: which configurations are already known to lose, so their trials can stop early.

Successive elimination compares confidence intervals, not point estimates, by the same
rule as the recommendation (``decision``): a configuration is dropped only when its score
interval lies on the losing side of the interval of another configuration that meets the
constraints with confidence, and a configuration that surely fails them stops as
infeasible.
"""

from __future__ import annotations

import math

import pandas as pd

from sm_bench_widgets.analysis import decision
from sm_bench_widgets.analysis.cost import CONFIG_KEYS
from sm_bench_widgets.config import STRATEGIES, ConfigError


def _cost_interval(row: pd.Series) -> tuple[float, float]:
    """Cost per invocation with the compute share scaled by the p50 interval."""
    return decision.cost_interval(
        row.get("compute_per_invocation_usd", math.nan),
        row.get("cost_per_invocation_usd", math.nan),
        row["p50_ms"],
        row["p50_ci_low"],
        row["p50_ci_high"],
    )


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


def _group_bounds(
    group: pd.DataFrame,
    strategy: str,
    weight: float,
    constraints: tuple[int | None, float | None, float | None],
    confidence: float,
) -> list[decision.Bounds]:
    out = []
    for _, r in group.iterrows():
        sure, failing = decision.constraint_bounds(r, *constraints, confidence=confidence)
        # a trial racing already stopped eliminates nothing: its frozen interval would
        # let the survivors eliminate each other in turn
        sure = sure and str(r.get("stop_reason") or "") not in ("dominated", "infeasible")
        out.append(
            decision.bounds(
                r["trial_id"],
                strategy,
                weight,
                (r["p90_ci_low"], r["p90_ci_high"]),
                (r["cost_low"], r["cost_high"]),
                sure,
                failing,
            )
        )
    return out


def verdicts(
    summary_df: pd.DataFrame,
    cost_df: pd.DataFrame | None,
    strategy: str = "balanced",
    weight: float = 0.5,
    confidence: float = 0.95,
    sla_percentile: int | None = None,
    sla_ms: float | None = None,
    max_error_rate: float | None = None,
    indifference: float = decision.DEFAULT_INDIFFERENCE,
) -> dict[object, str]:
    """Trial ids that can stop, with why: "dominated" or "infeasible".

    Configurations compete only within the same phase, by the rule of ``decision``:
    a trial is dominated when it surely loses to another trial that meets the
    constraints with confidence (SLA percentile's upper bound within the SLA, error
    rate's upper bound within the limit); a stability trial that fails the constraints
    with confidence (its lower bound beyond them) is infeasible. Each bound holds at
    ``confidence``; a claim combining two intervals holds at least at
    1 - 2 x (1 - confidence) by the union bound. A configuration whose intervals are not
    yet defined (too few samples, no cost row) is never dropped and never used to drop
    another. ``confidence`` is the level the summary's intervals were built at
    (``summarize(..., confidence=...)``); a summary carrying another level is refused.
    """
    if strategy not in STRATEGIES:
        raise ConfigError("strategy", strategy, f"one of {', '.join(STRATEGIES)}")
    if not 0 <= weight <= 1:
        raise ConfigError("balanced_weight", weight, "a number from 0 (all cost) to 1 (all speed)")
    if summary_df is None or not len(summary_df):
        return {}
    built_at = summary_df.attrs.get("confidence")
    if built_at is not None and not math.isclose(built_at, confidence):
        raise ValueError(
            f"confidence={confidence} does not match the summary's intervals, "
            f"built at {built_at}: summarize again at {confidence}"
        )
    table = _intervals(summary_df, cost_df)
    groups = table.groupby("phase", sort=False) if "phase" in table else [("", table)]
    constraints = (sla_percentile, sla_ms, max_error_rate)
    out: dict[object, str] = {}
    for phase, group in groups:
        configs = _group_bounds(group, strategy, weight, constraints, confidence)
        for key in decision.losers(configs, strategy, indifference):
            out[key] = "dominated"
        if phase == "stability":
            for key in _infeasible(group, configs, sla_percentile, sla_ms):
                out[key] = "infeasible"
    return out


def _infeasible(
    group: pd.DataFrame,
    configs: list[decision.Bounds],
    sla_percentile: int | None,
    sla_ms: float | None,
) -> list[object]:
    """The running trials that surely fail the constraints, less the last possibly
    feasible one.

    Racing never stops every configuration that could still meet the constraints: when
    each one left surely fails them, the running one nearest the SLA goes on to its
    precision or its budget, so "nothing qualifies" rests on a full measurement.
    """
    given = group["stop_reason"] if "stop_reason" in group else pd.Series("", group.index)
    stopped = {k for k, why in zip(group["trial_id"], given, strict=True) if _named(why)}
    failing = [b.key for b in configs if b.surely_infeasible and b.key not in stopped]
    if not failing or any(not b.surely_infeasible for b in configs):
        return failing
    column = f"p{sla_percentile or 90}_ci_low"
    low = group[column] if column in group else pd.Series(math.nan, group.index)
    lows = dict(zip(group["trial_id"], pd.to_numeric(low, errors="coerce"), strict=True))

    def margin(key: object) -> float:
        value = lows.get(key, math.nan)
        return value / sla_ms if sla_ms and math.isfinite(value) else math.inf

    nearest = min(failing, key=margin)
    return [k for k in failing if k != nearest]


def _named(reason: object) -> bool:
    return isinstance(reason, str) and bool(reason)


def dominated(
    summary_df: pd.DataFrame,
    cost_df: pd.DataFrame | None,
    strategy: str = "balanced",
    weight: float = 0.5,
    confidence: float = 0.95,
    sla_percentile: int | None = None,
    sla_ms: float | None = None,
    max_error_rate: float | None = None,
    indifference: float = decision.DEFAULT_INDIFFERENCE,
) -> set[object]:
    """Trial ids that, with the stated confidence, cannot be the pick (see ``verdicts``)."""
    found = verdicts(
        summary_df,
        cost_df,
        strategy,
        weight,
        confidence,
        sla_percentile,
        sla_ms,
        max_error_rate,
        indifference,
    )
    return {k for k, why in found.items() if why == "dominated"}
