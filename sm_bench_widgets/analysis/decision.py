"""One decision rule, shared by racing and the recommendation: scores, uncertainty, ties.

The score of a configuration, lower is better:
- cost: the cost per invocation;
- speed: the p90 latency;
- balanced: ``p90^w x cost^(1-w)``, a weighted geometric mean. Comparing two
  configurations it weighs the ratio of their p90s against the ratio of their costs
  (with w = 0.5, 10% faster is worth 10% dearer), so the ranking of two configurations
  does not depend on which others are in the grid and a +-2% error moves a score by
  about 2% at most.

Configurations whose scores are within the indifference zone (default 2%) of the best
are a tie; the cheapest of them wins (for the cost strategy, the fastest).

With uncertainty: a configuration loses for sure against a configuration that meets the
constraints with confidence when its score's lower bound is above the other's upper
bound by more than the zone, or above it at all while it is also surely the dearer (for
cost, the slower) one, so that no tie could make it the pick.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd

from sm_bench_widgets.analysis.stats import DEFAULT_CONFIDENCE, rate_interval

DEFAULT_INDIFFERENCE = 0.02


def _finite(*values: float) -> bool:
    return all(isinstance(v, int | float) and math.isfinite(v) for v in values)


def score(strategy: str, weight: float, p90: float, cost: float) -> float:
    """The rule's score of one configuration (lower is better; nan when undefined)."""
    if strategy == "cost":
        return cost if _finite(cost) else math.nan
    if strategy == "speed":
        return p90 if _finite(p90) else math.nan
    if not _finite(p90, cost) or p90 <= 0 or cost <= 0:
        return math.nan
    return math.exp(weight * math.log(p90) + (1 - weight) * math.log(cost))


def within_zone(value: float, best: float, indifference: float) -> bool:
    """Whether ``value`` is tied with ``best`` (no more than ``indifference`` above it)."""
    return value <= best * (1 + indifference)


def sentence(strategy: str, weight: float, indifference: float) -> str:
    """The rule in one plain sentence."""
    zone = f"{indifference:.0%}"
    if strategy == "cost":
        return (
            f"The cheapest configuration per invocation that meets the constraints wins; "
            f"costs within {zone} of the cheapest are a tie and the fastest of them wins."
        )
    if strategy == "speed":
        return (
            f"The configuration with the lowest p90 latency that meets the constraints wins; "
            f"p90s within {zone} of the fastest are a tie and the cheapest of them wins."
        )
    return (
        f"Each configuration that meets the constraints is scored by its p90 relative to "
        f"the fastest and its cost relative to the cheapest, weighted {weight:g} to "
        f"{1 - weight:g} (geometric mean); the lowest score wins, and scores within {zone} "
        f"of the best are a tie won by the cheapest."
    )


def formula(strategy: str, weight: float, indifference: float) -> str:
    """The rule as a formula."""
    tie = f"tie if score <= best x {1 + indifference:g}"
    if strategy == "cost":
        return f"score = cost per invocation; {tie}, then lowest p90"
    if strategy == "speed":
        return f"score = p90; {tie}, then lowest cost per invocation"
    return (
        f"score = (p90 / fastest p90)^{weight:g} x (cost / cheapest cost)^{1 - weight:g}; "
        f"{tie}, then lowest cost per invocation"
    )


def cost_interval(
    compute: float, total: float, p50: float, p50_low: float, p50_high: float
) -> tuple[float, float]:
    """Cost per invocation with the compute share scaled by the p50 interval."""
    if not _finite(compute, total, p50, p50_low, p50_high) or p50 <= 0:
        return math.nan, math.nan
    fixed = total - compute  # data processing and spread provisioned cost: no latency term
    return fixed + compute * p50_low / p50, fixed + compute * p50_high / p50


@dataclass(frozen=True)
class Bounds:
    """One configuration's figures with their confidence bounds, as the rule sees them."""

    key: object
    p90: tuple[float, float]
    cost: tuple[float, float]
    score: tuple[float, float]
    surely_feasible: bool
    surely_infeasible: bool


def constraint_bounds(
    row: pd.Series | dict,
    sla_percentile: int | None,
    sla_ms: float | None,
    max_error_rate: float | None,
    confidence: float = DEFAULT_CONFIDENCE,
) -> tuple[bool, bool]:
    """(meets the constraints with confidence, fails them with confidence) for a summary row.

    The SLA percentile's interval must lie below (above) the SLA; the error rate's Wilson
    interval below (above) the limit. A limit of 0 is met only with no error at all.
    """
    feasible, infeasible = True, False
    if sla_ms is not None:
        q = sla_percentile or 90
        low, high = row.get(f"p{q}_ci_low", math.nan), row.get(f"p{q}_ci_high", math.nan)
        feasible = _finite(high) and high <= sla_ms
        infeasible = _finite(low) and low > sla_ms
    if max_error_rate is not None:
        n = int(row.get("count", 0) or 0)
        errors = n - int(row.get("ok_count", 0) or 0)
        low, high = rate_interval(errors, n, confidence)
        ok = errors == 0 if max_error_rate <= 0 else _finite(high) and high <= max_error_rate
        feasible = feasible and n > 0 and ok
        infeasible = infeasible or (_finite(low) and low > max_error_rate)
    return feasible, infeasible


def bounds(
    key: object,
    strategy: str,
    weight: float,
    p90: tuple[float, float],
    cost: tuple[float, float],
    surely_feasible: bool,
    surely_infeasible: bool = False,
) -> Bounds:
    """A configuration's score interval from its p90 and cost intervals."""
    low = score(strategy, weight, p90[0], cost[0])
    high = score(strategy, weight, p90[1], cost[1])
    return Bounds(key, p90, cost, (low, high), surely_feasible, surely_infeasible)


def loses_to(a: Bounds, b: Bounds, strategy: str, indifference: float) -> bool:
    """Whether ``a`` surely cannot be picked while ``b`` (surely feasible) is there."""
    if not b.surely_feasible or not _finite(*a.score, *b.score):
        return False
    if a.score[0] > b.score[1] * (1 + indifference):
        return True
    if a.score[0] <= b.score[1]:
        return False
    second_a, second_b = (a.p90, b.p90) if strategy == "cost" else (a.cost, b.cost)
    return _finite(second_a[0], second_b[1]) and second_a[0] >= second_b[1]


def losers(
    configs: list[Bounds], strategy: str, indifference: float = DEFAULT_INDIFFERENCE
) -> set[object]:
    """Keys of the configurations that surely lose to another one of ``configs``."""
    return {
        a.key
        for a in configs
        if any(b.key != a.key and loses_to(a, b, strategy, indifference) for b in configs)
    }
