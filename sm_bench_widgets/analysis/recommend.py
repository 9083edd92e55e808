"""Which configuration to deploy, by a stated rule, with the reasons and the runner-up.

How the summaries combine (two stages):
1. Memory size (and provisioned variant): the stability trials compete, one candidate per
   (memory size, provisioned concurrency), judged on its sequential latency and its own
   cost row (provisioned variants carry their spread holding cost, see ``cost``).
2. Max concurrency: for the chosen memory size, each max concurrency of the concurrency
   trials is judged at its own load (the trial with the most clients not above its max
   concurrency, else its fewest clients) and ranked by the same strategy. Without
   concurrency trials, or when none is feasible, the stability trial's setting stays.

Each stage applies the constraints first (latency SLA on the chosen percentile, error
rate over every outcome), then the one rule of ``decision`` that racing applies too:
- cost: lowest cost per invocation; speed: lowest p90; balanced: lowest
  p90^w x cost^(1-w) (p90 relative to the fastest and cost relative to the cheapest,
  weighted), which ranks two configurations alike whatever else is in the grid;
- a configuration that racing stopped as dominated is out, and so is one whose interval
  says it is worse than another feasible configuration;
- scores within the indifference zone (default 2%) of the best are a declared tie, won
  by the cheapest (for the cost strategy, the fastest).
"""

from __future__ import annotations

import dataclasses
import html
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from sm_bench_widgets.analysis import decision
from sm_bench_widgets.analysis.cost import ROUND_TRIP
from sm_bench_widgets.config import SLA_PERCENTILES, STRATEGIES, ConfigError

TIE_TOLERANCE = decision.DEFAULT_INDIFFERENCE


@dataclass
class Recommendation:
    """A configuration to deploy, its expected latency and cost, and why it was chosen."""

    memory_size: int
    max_concurrency: int
    provisioned_concurrency: int
    p50_ms: float
    p90_ms: float
    p99_ms: float
    cost_per_1m_usd: float
    strategy: str
    rule: str
    reasons: list[str] = field(default_factory=list)
    runner_up: Recommendation | None = None
    formula: str = ""
    ties: list[str] = field(default_factory=list)
    billed_from: str = ROUND_TRIP
    rule_detail: str = ""
    trial_id: str = ""
    clients: int = 1
    not_measured: list[str] = field(default_factory=list)
    monthly_cost_usd: float = math.nan  # at monthly_invocations (the config's volume)
    monthly_invocations: int | None = None
    # What to deploy for the user's traffic (config.traffic; TrafficAnswer.to_dict()):
    # its sentence then leads.
    traffic: dict[str, Any] | None = None

    def monthly_text(self) -> str:
        """``$14.46 a month at 1,000,000 invocations``, or "" without the figure or volume."""
        if self.monthly_invocations is None or not math.isfinite(self.monthly_cost_usd):
            return ""
        return f"${self.monthly_cost_usd:,.2f} a month at {self.monthly_invocations:,} invocations"

    @property
    def rule_formula(self) -> str:
        """The rule in full for those who want it: how each stage ranks, then the formula."""
        return " ".join(t for t in (self.rule_detail, f"Formula: {self.formula}.") if t)

    def to_dict(self) -> dict[str, Any]:
        """Plain values (runner-up nested), for JSON and reports."""
        data = dataclasses.asdict(self)
        data["runner_up"] = self.runner_up.to_dict() if self.runner_up else None
        return data

    def headline(self) -> str:
        """One sentence: what to deploy, its expected p50/p90 and cost per 1M invocations
        (with traffic given, the plain answer for that traffic)."""
        if self.traffic:
            return f"{self.traffic['sentence']}."
        text = f"Deploy {self.memory_size} MB, max concurrency {self.max_concurrency}"
        if self.provisioned_concurrency:
            text += f", provisioned concurrency {self.provisioned_concurrency}"
        tie = f", the cheapest of a tie with {', '.join(self.ties)}" if self.ties else ""
        return (
            f"{text}: p50 {self.p50_ms:.1f} ms, p90 {self.p90_ms:.1f} ms, "
            f"${self.cost_per_1m_usd:.4f} per 1M invocations ({self.strategy}{tie}; "
            f"{_billed_text(self.billed_from)})."
        )

    def __repr__(self) -> str:
        runner = f"; runner-up: {self.runner_up.headline()}" if self.runner_up else ""
        return f"<Recommendation {self.headline()}{runner}>"

    def _repr_html_(self) -> str:
        items = "".join(f"<li>{text_html(r)}</li>" for r in self.reasons)
        missing = "".join(f"<li>{text_html(r)}</li>" for r in self.not_measured)
        missing = f"<p><b>Not measured:</b></p><ul>{missing}</ul>" if missing else ""
        monthly = self.monthly_text()
        monthly = (
            f"<p>Expected cost: {text_html(_money(self.cost_per_1m_usd))}, "
            f"{text_html(monthly)}.</p>"
            if monthly
            else ""
        )
        return (
            f'<div class="{NO_MATH}"><b>{text_html(self.headline())}</b>{monthly}'
            f"<p>{text_html(self.rule)}</p>{missing}<ul>{items}</ul>"
            f"<details><summary>The rule in full</summary><p>{text_html(self.rule_detail)}</p>"
            f"<p>Formula: <code>{text_html(self.formula)}</code></p></details></div>"
        )


# Classes that tell MathJax (JupyterLab, Notebook) to leave an element's text alone, so a
# "$" in a figure is not read as the start of LaTeX.
NO_MATH = "tex2jax_ignore mathjax_ignore"


def text_html(text: str) -> str:
    """``text`` escaped for HTML, with ``$`` as ``&#36;`` so no Markdown or LaTeX reads it."""
    return html.escape(text).replace("$", "&#36;")


def _billed_text(billed_from: str) -> str:
    if billed_from == ROUND_TRIP:
        return "cost billed on the client round trip, CloudWatch ModelLatency not available"
    return f"cost billed on CloudWatch {billed_from}"


@dataclass
class _Candidate:
    memory_size: int
    max_concurrency: int
    provisioned_concurrency: int
    clients: int
    p50: float
    p90: float
    p99: float
    sla_value: float
    error_rate: float
    cost: float  # per invocation, USD
    cost_1m: float
    monthly: float
    throughput: float
    memory_errors: int = 0
    row: dict[str, Any] = field(default_factory=dict, repr=False)
    cost_row: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def stop_reason(self) -> str:
        return str(self.row.get("stop_reason") or "")

    @property
    def billed_from(self) -> str:
        return str(self.cost_row.get("billed_from") or ROUND_TRIP)

    @property
    def label(self) -> str:
        text = f"{self.memory_size} MB, max concurrency {self.max_concurrency}"
        if self.provisioned_concurrency:
            text += f", provisioned {self.provisioned_concurrency}"
        return text


def _num(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def _whole(value: Any, default: int) -> int:
    number = _num(value)
    return int(number) if math.isfinite(number) else default


def _money(per_1m: float) -> str:
    return f"${per_1m:.4f} per 1M invocations" if math.isfinite(per_1m) else "no cost figure"


def cost_row(
    cost_df: pd.DataFrame | None, memory: int, max_conc: int, provisioned: int
) -> pd.Series | None:
    """The cost row a configuration is judged by (its own, else its memory size's first)."""
    if cost_df is None or not len(cost_df):
        return None
    same = cost_df[
        (cost_df["memory_size"] == memory) & (cost_df["provisioned_concurrency"] == provisioned)
    ]
    exact = same[same["max_concurrency"] == max_conc]
    if len(exact):
        return exact.iloc[0]
    return same.iloc[0] if len(same) else None


def _candidate(
    row: pd.Series, error_rate: float, cost_df: pd.DataFrame | None, sla_percentile: int | None
) -> _Candidate:
    memory, max_conc = int(row["memory_size"]), int(row["max_concurrency"])
    provisioned = _whole(row.get("provisioned_concurrency"), 0)
    cost = cost_row(cost_df, memory, max_conc, provisioned)
    column = f"p{sla_percentile or 90}_ms"
    return _Candidate(
        memory_size=memory,
        max_concurrency=max_conc,
        provisioned_concurrency=provisioned,
        clients=_whole(row.get("clients"), 1),
        p50=_num(row["p50_ms"]),
        p90=_num(row["p90_ms"]),
        p99=_num(row["p99_ms"]),
        sla_value=_num(row[column]),
        error_rate=error_rate,
        cost=_num(cost["cost_per_invocation_usd"]) if cost is not None else math.nan,
        cost_1m=_num(cost["cost_per_1m_usd"]) if cost is not None else math.nan,
        monthly=_num(cost.get("monthly_cost_usd")) if cost is not None else math.nan,
        throughput=_num(row.get("throughput_rps")),
        memory_errors=_whole(row.get("insufficient_memory_count"), 0),
        row=row.to_dict(),
        cost_row=cost.to_dict() if cost is not None else {},
    )


def _error_rate(rows: pd.DataFrame) -> float:
    count = rows["count"].astype(float).sum()
    return float((count - rows["ok_count"].astype(float).sum()) / count) if count else math.nan


def _stage1(
    summary_df: pd.DataFrame, cost_df: pd.DataFrame | None, sla_percentile: int | None
) -> list[_Candidate]:
    phase = summary_df["phase"].astype(str) if "phase" in summary_df else None
    rows = summary_df
    if phase is not None:
        rows = summary_df[phase == "stability"]
        if not len(rows):
            rows = summary_df[phase != "cold_start"]
    out = []
    for _, g in rows.groupby(["memory_size", "provisioned_concurrency"], sort=True):
        best = g.sort_values("ok_count", ascending=False).iloc[0]
        out.append(_candidate(best, _error_rate(g), cost_df, sla_percentile))
    return out


def _stage2(
    summary_df: pd.DataFrame,
    cost_df: pd.DataFrame | None,
    chosen: _Candidate,
    sla_percentile: int | None,
) -> list[_Candidate]:
    if "phase" not in summary_df:
        return []
    conc = summary_df[
        (summary_df["phase"].astype(str) == "concurrency")
        & (summary_df["memory_size"] == chosen.memory_size)
    ]
    same_pc = conc[conc["provisioned_concurrency"] == chosen.provisioned_concurrency]
    conc = same_pc if len(same_pc) else conc
    out = []
    for max_conc, g in conc.groupby("max_concurrency", sort=True):
        own = g[g["clients"] <= max_conc]
        row = own.sort_values("clients").iloc[-1] if len(own) else g.sort_values("clients").iloc[0]
        cand = _candidate(row, _error_rate(pd.DataFrame([row])), cost_df, sla_percentile)
        if cand.provisioned_concurrency != chosen.provisioned_concurrency:
            cand = dataclasses.replace(
                cand,
                provisioned_concurrency=chosen.provisioned_concurrency,
                cost=chosen.cost,
                cost_1m=chosen.cost_1m,
                monthly=chosen.monthly,
            )
        if cand.max_concurrency >= cand.provisioned_concurrency:
            out.append(cand)
    return out


def _exclusion(
    c: _Candidate,
    strategy: str,
    sla_percentile: int | None,
    sla_ms: float | None,
    max_error_rate: float | None,
) -> str:
    """Why a candidate is not feasible, or "" when it is."""
    if not math.isfinite(c.p90):
        if c.memory_errors:
            return (
                f"{c.label} is too small for the model: {c.memory_errors} invocation(s) failed "
                "with insufficient memory"
            )
        return f"{c.label} has no successful warm invocations to measure"
    if sla_ms is not None:
        if not math.isfinite(c.sla_value):
            return f"{c.label} has no p{sla_percentile} latency to check against the SLA"
        if c.sla_value > sla_ms:
            return (
                f"{c.label} misses the SLA: p{sla_percentile} {c.sla_value:.1f} ms > {sla_ms:g} ms"
            )
    if max_error_rate is not None and not c.error_rate <= max_error_rate:
        return (
            f"{c.label} exceeds the error-rate limit (errors and throttles together): "
            f"{c.error_rate:.1%} > {max_error_rate:.1%}"
        )
    if strategy != "speed" and not math.isfinite(c.cost):
        return f"{c.label} has no cost figure"
    return ""


def _finite(value: float) -> float:
    return value if math.isfinite(value) else math.inf


def _bounds(c: _Candidate, strategy: str, weight: float) -> decision.Bounds:
    r, k = c.row, c.cost_row
    cost = decision.cost_interval(
        _num(k.get("compute_per_invocation_usd")),
        _num(k.get("cost_per_invocation_usd")),
        _num(r.get("p50_ms")),
        _num(r.get("p50_ci_low")),
        _num(r.get("p50_ci_high")),
    )
    p90 = (_num(r.get("p90_ci_low")), _num(r.get("p90_ci_high")))
    return decision.bounds(id(c), strategy, weight, p90, cost, surely_feasible=True)


@dataclass
class _Ranking:
    ordered: list[_Candidate]
    scores: dict[int, float]  # relative to the best score (1.0 = best)
    rule: str
    formula: str
    tied: list[_Candidate]
    excluded: list[str]


def _rank(
    cands: list[_Candidate],
    strategy: str,
    weight: float,
    indifference: float = TIE_TOLERANCE,
    honour_racing: bool = True,
) -> _Ranking:
    """Candidates best first by the one rule of ``decision``, with the tie and exclusions."""
    excluded: list[str] = []
    pool = list(cands)
    if honour_racing:
        raced = [c for c in pool if c.stop_reason == "dominated"]
        if raced and len(raced) < len(pool):
            pool = [c for c in pool if c not in raced]
            excluded += [
                f"{c.label} was stopped by racing as surely worse than a configuration "
                "that meets the constraints"
                for c in raced
            ]
    raw = {id(c): _finite(decision.score(strategy, weight, c.p90, c.cost)) for c in cands}
    unraced = pool
    lost = decision.losers([_bounds(c, strategy, weight) for c in pool], strategy, indifference)
    lost = lost if len(lost) < len(pool) else set()
    pool = [c for c in pool if id(c) not in lost]
    best = min(raw[id(c)] for c in pool)
    second = (lambda c: c.p90) if strategy == "cost" else (lambda c: _finite(c.cost))
    tied = [c for c in pool if decision.within_zone(raw[id(c)], best, indifference)]
    pick = min(tied, key=lambda c: (second(c), raw[id(c)], c.memory_size, c.max_concurrency))
    # a tie is declared over every unraced configuration within the zone; one surely
    # dearer (for cost, slower) than the pick is in it but cannot win it
    tied = [c for c in unraced if decision.within_zone(raw[id(c)], best, indifference)]
    excluded += [
        f"{c.label}: its confidence interval is worse than another feasible configuration's"
        for c in unraced
        if id(c) in lost and id(c) not in {id(t) for t in tied}
    ]

    def order(group: list[_Candidate]) -> list[_Candidate]:
        return sorted(
            group, key=lambda c: (raw[id(c)], second(c), c.memory_size, c.max_concurrency)
        )

    # the excluded follow the others, so the runner-up exists whenever there are two
    rest = order([c for c in pool if c is not pick]) + order(
        [c for c in cands if id(c) not in {id(p) for p in pool}]
    )
    finite_best = best if math.isfinite(best) and best > 0 else math.nan
    scores = {k: v / finite_best for k, v in raw.items()}
    rule = f"{strategy}: {decision.sentence(strategy, weight, indifference)}"
    return _Ranking(
        [pick, *rest],
        scores,
        rule,
        decision.formula(strategy, weight, indifference),
        [c for c in tied if c is not pick],
        excluded,
    )


def _trade(best: _Candidate, other: _Candidate) -> str:
    """One sentence on what ``other`` gives and takes compared with ``best``."""
    d_lat = other.p90 - best.p90
    lat = (
        f"{abs(d_lat):.1f} ms {'faster' if d_lat < 0 else 'slower'} at p90"
        if abs(d_lat) >= 0.05
        else "as fast at p90"
    )
    if math.isfinite(other.cost_1m) and math.isfinite(best.cost_1m):
        d_cost = other.cost_1m - best.cost_1m
        cost = (
            f"${abs(d_cost):.4f} {'cheaper' if d_cost < 0 else 'dearer'} per 1M invocations"
            if abs(d_cost) >= 5e-5
            else "the same cost"
        )
    else:
        cost = "of unknown cost"
    return f"The runner-up, {other.label}, is {lat} and {cost}."


def _validate(
    strategy: str,
    weight: float,
    sla_percentile: int | None,
    sla_ms: float | None,
    max_error_rate: float | None,
) -> None:
    if strategy not in STRATEGIES:
        raise ConfigError("strategy", strategy, f"one of {', '.join(STRATEGIES)}")
    if not isinstance(weight, int | float) or not 0 <= weight <= 1:
        raise ConfigError("balanced_weight", weight, "a number from 0 (all cost) to 1 (all speed)")
    if (sla_ms is None) != (sla_percentile is None):
        raise ConfigError(
            "sla_ms" if sla_ms is None else "sla_percentile",
            None,
            "sla_ms and sla_percentile are given together or not at all",
        )
    if sla_percentile is not None and sla_percentile not in SLA_PERCENTILES:
        raise ConfigError(
            "sla_percentile", sla_percentile, f"one of {', '.join(map(str, SLA_PERCENTILES))}"
        )
    if max_error_rate is not None and not 0 <= max_error_rate <= 1:
        raise ConfigError("max_error_rate", max_error_rate, "a fraction from 0 to 1")


def _constraints_text(
    sla_percentile: int | None,
    sla_ms: float | None,
    max_error_rate: float | None,
) -> str:
    parts = []
    if sla_ms is not None:
        parts.append(f"p{sla_percentile} <= {sla_ms:g} ms")
    if max_error_rate is not None:
        parts.append(f"error rate <= {max_error_rate:.1%}")
    return ", ".join(parts)


def _to_recommendation(
    c: _Candidate,
    strategy: str,
    ranking: _Ranking,
    plain: str,
    reasons: list[str],
    runner_up: Recommendation | None = None,
    ties: list[str] | None = None,
) -> Recommendation:
    return Recommendation(
        memory_size=c.memory_size,
        max_concurrency=c.max_concurrency,
        provisioned_concurrency=c.provisioned_concurrency,
        p50_ms=c.p50,
        p90_ms=c.p90,
        p99_ms=c.p99,
        cost_per_1m_usd=c.cost_1m,
        strategy=strategy,
        rule=plain,
        reasons=reasons,
        runner_up=runner_up,
        formula=ranking.formula,
        ties=list(ties or []),
        billed_from=c.billed_from,
        rule_detail=ranking.rule,
        trial_id=str(c.row.get("trial_id") or ""),
        clients=c.clients,
        monthly_cost_usd=c.monthly,
    )


def plain_rule(
    strategy: str,
    weight: float,
    sla_percentile: int | None = None,
    sla_ms: float | None = None,
    max_error_rate: float | None = None,
) -> str:
    """The rule in one sentence without jargon (``formula`` and the detail say it exactly)."""
    limits = []
    if sla_ms is not None:
        limits.append(f"p{sla_percentile} latency at most {sla_ms:g} ms")
    if max_error_rate is not None:
        limits.append(f"error rate at most {max_error_rate:.1%}")
    among = (
        f"among the configurations that met your limits ({', '.join(limits)})"
        if limits
        else "among the configurations measured"
    )
    if strategy == "cost":
        return f"Recommended as the cheapest per invocation {among}."
    if strategy == "speed":
        return f"Recommended as the fastest (lowest p90 latency) {among}."
    if weight == 0.5:
        balance = "counting the two equally"
    else:
        balance = f"counting latency {weight:.0%} and cost {1 - weight:.0%}"
    return (
        f"Recommended as the best trade-off between latency (p90) and cost per invocation "
        f"{among}, {balance}."
    )


def _unsettled(
    cands: list[_Candidate], sla_percentile: int | None, sla_ms: float | None
) -> list[str]:
    """Feasible candidates whose SLA percentile interval still straddles the SLA."""
    if sla_ms is None:
        return []
    q = sla_percentile or 90
    out = []
    for c in cands:
        low, high = _num(c.row.get(f"p{q}_ci_low")), _num(c.row.get(f"p{q}_ci_high"))
        if math.isfinite(low) and math.isfinite(high) and (low > sla_ms or high < sla_ms):
            continue
        span = (
            f"its interval {low:.1f}-{high:.1f} ms"
            if math.isfinite(low) and math.isfinite(high)
            else "too few invocations for an interval"
        )
        out.append(
            f"p{q} of {c.label} is not settled against the SLA within its budget "
            f"({span}, SLA {sla_ms:g} ms, {_whole(c.row.get('count'), 0)} invocations)"
        )
    return out


def _tie_text(ranking: _Ranking, pick: _Candidate, strategy: str, zone: float) -> str:
    labels = ", ".join(c.label for c in ranking.tied)
    what = "fastest" if strategy == "cost" else "cheapest"
    return (
        f"Tie: {pick.label} and {labels} are within {zone:.0%} of the best score, "
        f"indistinguishable by the {strategy} rule; the {what} of them is recommended."
    )


def recommend_or_reason(
    summary_df: pd.DataFrame,
    cost_df: pd.DataFrame | None,
    strategy: str = "balanced",
    weight: float = 0.5,
    sla_percentile: int | None = None,
    sla_ms: float | None = None,
    max_error_rate: float | None = None,
    indifference: float = TIE_TOLERANCE,
    honour_racing: bool = True,
) -> tuple[Recommendation | None, str]:
    """The recommendation and "", or None and a sentence saying why nothing qualifies.

    ``honour_racing``: leave out the configurations racing stopped as dominated (their
    ``stop_reason``); right when the rule and constraints are those the run raced by.
    """
    _validate(strategy, weight, sla_percentile, sla_ms, max_error_rate)
    if not isinstance(indifference, int | float) or not 0 <= indifference < 0.5:
        raise ConfigError("indifference", indifference, "a fraction from 0 to below 0.5")
    if summary_df is None or not len(summary_df):
        return None, "No trial results to recommend from."
    constraints = _constraints_text(sla_percentile, sla_ms, max_error_rate)
    plain = plain_rule(strategy, weight, sla_percentile, sla_ms, max_error_rate)

    def split(cands: list[_Candidate]) -> tuple[list[_Candidate], list[str]]:
        why = [(c, _exclusion(c, strategy, sla_percentile, sla_ms, max_error_rate)) for c in cands]
        return [c for c, w in why if not w], [w for _, w in why if w]

    feasible, excluded = split(_stage1(summary_df, cost_df, sla_percentile))
    if not feasible:
        detail = " ".join(f"{w}." for w in excluded) or "No stability trials were found."
        limits = f" ({constraints})" if constraints else ""
        return None, f"No configuration qualifies{limits}. {detail}"
    ranking = _rank(feasible, strategy, weight, indifference, honour_racing)
    best = ranking.ordered[0]
    ranking.rule += f" Constraints first: {constraints}." if constraints else " No constraints."
    reasons = [
        f"{best.label} ranks first by the {strategy} rule: p90 {best.p90:.1f} ms, "
        f"{_money(best.cost_1m)}, score {ranking.scores[id(best)]:.3f} of the best."
    ]
    if ranking.tied:
        reasons.append(_tie_text(ranking, best, strategy, indifference))
    if sla_ms is not None:
        reasons.append(
            f"It meets the SLA: p{sla_percentile} {best.sla_value:.1f} ms <= {sla_ms:g} ms."
        )
    if max_error_rate is not None:
        reasons.append(
            f"Its error rate (errors and throttles together) {best.error_rate:.1%} is within "
            f"{max_error_rate:.1%}."
        )
    reasons.append(f"Cost: {_billed_text(best.billed_from)}.")
    reasons += [f"Excluded: {w}." for w in excluded + ranking.excluded]
    reasons += [f"Uncertain: {w}." for w in _unsettled(feasible, sla_percentile, sla_ms)]

    final, runner_source, base, ties = best, ranking.ordered[1:2], best, ranking.tied
    options, excluded2 = split(_stage2(summary_df, cost_df, best, sla_percentile))
    if options:
        ranking2 = _rank(options, strategy, weight, indifference, honour_racing)
        final = ranking2.ordered[0]
        ranking.rule += (
            f" Then max concurrency at {best.memory_size} MB by the same rule over its "
            f"concurrency trials, each at its own load."
        )
        reasons.append(
            f"Max concurrency {final.max_concurrency} ranks first among "
            f"{len(options)} setting(s) at {best.memory_size} MB under load: p90 "
            f"{final.p90:.1f} ms with {final.clients} clients, "
            f"{final.throughput:.1f} invocations/s."
        )
        if ranking2.tied:
            reasons.append(_tie_text(ranking2, final, strategy, indifference))
        reasons += [f"Excluded under load: {w}." for w in excluded2 + ranking2.excluded]
        if not runner_source:
            runner_source, base = ranking2.ordered[1:2], final
    elif excluded2:
        reasons.append(
            f"No max concurrency met the constraints under load; keeping {best.max_concurrency}."
        )
        reasons += [f"Excluded under load: {w}." for w in excluded2]
    runner = None
    if runner_source:
        other = runner_source[0]
        reasons.append(_trade(base, other))
        runner = _to_recommendation(
            other, strategy, ranking, plain, [f"Second by the {strategy} rule."]
        )
    tie_labels = [c.label for c in ties] if final is best else []
    return _to_recommendation(final, strategy, ranking, plain, reasons, runner, tie_labels), ""


def recommend(
    summary_df: pd.DataFrame,
    cost_df: pd.DataFrame | None,
    strategy: str = "balanced",
    weight: float = 0.5,
    sla_percentile: int | None = None,
    sla_ms: float | None = None,
    max_error_rate: float | None = None,
    indifference: float = TIE_TOLERANCE,
    honour_racing: bool = True,
) -> Recommendation | None:
    """The configuration to deploy by the stated rule, or None when nothing is feasible."""
    return recommend_or_reason(
        summary_df,
        cost_df,
        strategy,
        weight,
        sla_percentile,
        sla_ms,
        max_error_rate,
        indifference,
        honour_racing,
    )[0]


def _setting(max_conc: int, provisioned: int) -> str:
    text = f"max concurrency {max_conc}"
    return text + f", provisioned {provisioned}" if provisioned else text


def unmeasured(
    summary_df: pd.DataFrame,
    planned: Sequence[tuple[str, int, int, int, int]],
    rec: Recommendation,
    stopped: bool,
) -> list[str]:
    """What the plan meant to measure and the data lacks, for ``rec``'s configuration.

    ``planned`` holds (phase, memory, max concurrency, provisioned, clients) per trial:
    the stability trials and the concurrency trials at ``rec``'s memory size. A trial
    counts as measured when it has a latency (a warm successful invocation) or failed for
    want of memory; one cut short by a stop is named with its count.
    """
    why = " (the run stopped before it)" if stopped else ""
    rows = summary_df if summary_df is not None else pd.DataFrame()
    has_rows = len(rows) and "phase" in rows

    def trials(phase: str, memory: int, max_conc: int, prov: int, clients: int) -> pd.DataFrame:
        if not has_rows:
            return rows
        same = (
            (rows["phase"].astype(str) == phase)
            & (rows["memory_size"] == memory)
            & (rows["max_concurrency"] == max_conc)
            & (rows["provisioned_concurrency"] == prov)
        )
        if phase == "concurrency":
            same &= rows["clients"] == clients
        return rows[same]

    ran_at = (
        sorted(
            {int(m) for m in rows.loc[rows["phase"].astype(str) == "concurrency", "memory_size"]}
        )
        if has_rows
        else []
    )
    others = [m for m in ran_at if m != rec.memory_size]
    elsewhere = (
        f" (the concurrency trials ran at {', '.join(map(str, others))} MB)" if others else ""
    )
    out: list[str] = []
    cut: list[str] = []
    by_setting: dict[tuple[int, int], list[int]] = {}
    for phase, memory, max_conc, prov, clients in planned:
        found = trials(phase, memory, max_conc, prov, clients)
        latency = found["p90_ms"].astype(float).notna().any() if len(found) else False
        no_fit = found["insufficient_memory_count"].astype(float).sum() > 0 if len(found) else 0
        if phase == "stability":
            if not (latency or no_fit) and (stopped or not len(found)):
                out.append(f"{memory} MB: no latency from its stability trial{why}")
        elif not latency:
            by_setting.setdefault((max_conc, prov), []).append(clients)
        if len(found) and (found["stop_reason"].astype(str) == "stopped").any() and latency:
            count = int(found["count"].sum())
            what = (
                f"{memory} MB, {_setting(max_conc, prov)} with {clients} client(s)"
                if phase == "concurrency"
                else f"{memory} MB (stability)"
            )
            cut.append(f"{what}: only {count} invocations, the run stopped during it")
    planned_settings = {(m, p) for ph, _, m, p, _ in planned if ph == "concurrency"}
    for (max_conc, prov), missing in sorted(by_setting.items()):
        every = len(missing) == sum(
            1 for ph, _, m, p, _ in planned if ph == "concurrency" and (m, p) == (max_conc, prov)
        )
        load = "" if every else f" with {', '.join(map(str, missing))} clients"
        out.append(f"{rec.memory_size} MB, {_setting(max_conc, prov)}{load}{why or elsewhere}")
    measured_here = (
        has_rows
        and (
            (rows["phase"].astype(str) == "concurrency")
            & (rows["memory_size"] == rec.memory_size)
            & rows["p90_ms"].astype(float).notna()
        ).any()
    )
    if planned_settings and not measured_here:
        out.insert(
            0,
            f"Max concurrency under load: no concurrency trial at {rec.memory_size} MB has a "
            f"latency{why or elsewhere}; max concurrency {rec.max_concurrency} is the setting its "
            "stability trial measured, one request at a time",
        )
    return out + cut
