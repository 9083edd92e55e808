"""How a result shows itself: a one-line recommendation, an overview table, terminal text,
notebook HTML (``templates/result.html``) and its charts."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import pandas as pd
from markupsafe import Markup

from sm_bench_widgets.analysis.recommend import NO_MATH, cost_row
from sm_bench_widgets.templating import render

if TYPE_CHECKING:
    from sm_bench_widgets.result.model import BenchmarkResult

CONFIG_KEYS = ["memory_size", "max_concurrency", "provisioned_concurrency"]
ERROR_COUNTS = ["insufficient_memory_count", "model_error_count", "other_error_count"]
OVERVIEW_COLUMNS = [
    "trial_id",
    "phase",
    *CONFIG_KEYS,
    "clients",
    "invocations",
    "errors",
    "error_rate",
    "throttled",
    "throttle_rate",
    "p50_ms",
    "p90_ms",
    "cost_per_1m_usd",
    "pick",
]
PHASE_ORDER = {"stability": 0, "concurrency": 1}


def recommendation_line(result: BenchmarkResult) -> str:
    """One sentence: what to deploy with expected p90 and cost, or why nothing."""
    rec = result.recommendation
    if rec is None:
        return f"No recommendation: {result.recommendation_reason}"
    return rec.headline()


def overview(result: BenchmarkResult) -> pd.DataFrame:
    """One row per trial, at its own client count: invocations, errors and throttles apart,
    p50/p90 of the trial and the configuration's cost per 1M; ``pick`` marks the trials the
    recommendation (and runner-up) quote, so the headline's figures are a row of this table.
    """
    summary = result.summary
    if summary.empty:
        return pd.DataFrame(columns=OVERVIEW_COLUMNS)
    table = summary[["trial_id", "phase", *CONFIG_KEYS, "clients", "p50_ms", "p90_ms"]].copy()
    count = summary["count"].astype(float)
    errors = summary[ERROR_COUNTS].astype(float).sum(axis=1)
    throttled = summary["throttle_count"].astype(float)
    table.insert(7, "invocations", summary["count"].astype(int))
    table.insert(8, "errors", errors.astype(int))
    table.insert(9, "error_rate", errors / count.where(count > 0))
    table.insert(10, "throttled", throttled.astype(int))
    table.insert(11, "throttle_rate", throttled / count.where(count > 0))
    costs = result.costs
    table["cost_per_1m_usd"] = [
        _cost_1m(costs, int(r.memory_size), int(r.max_concurrency), int(r.provisioned_concurrency))
        for r in table.itertuples()
    ]
    rec = result.recommendation
    picks = {}
    if rec is not None:
        picks[rec.trial_id] = "recommended"
        if rec.runner_up is not None:
            picks.setdefault(rec.runner_up.trial_id, "runner-up")
    table["pick"] = [picks.get(t, "") for t in table["trial_id"]]
    order = table["phase"].map(PHASE_ORDER).fillna(len(PHASE_ORDER))
    table = table.assign(_order=order).sort_values(["_order", *CONFIG_KEYS, "clients"])
    return table.drop(columns="_order")[OVERVIEW_COLUMNS].reset_index(drop=True)


def _cost_1m(costs: pd.DataFrame, memory: int, max_conc: int, provisioned: int) -> float:
    row = cost_row(costs, memory, max_conc, provisioned)
    return float(row["cost_per_1m_usd"]) if row is not None else math.nan


# Display: short headings and the headline's own precision (p50/p90 in 0.1 ms, cost in
# 1/10000 USD), so a figure of the recommendation reads the same in its row.
DISPLAY_NAMES = {
    "memory_size": "memory MB",
    "max_concurrency": "max conc",
    "provisioned_concurrency": "provisioned",
    "invocations": "calls",
    "p50_ms": "p50 ms",
    "p90_ms": "p90 ms",
    "error_rate": "error %",
    "throttle_rate": "throttled %",
    "cost_per_1m_usd": "USD per 1M",
}
FORMATS = {
    "error_rate": "{:.1%}",
    "throttle_rate": "{:.1%}",
    "p50_ms": "{:.1f}",
    "p90_ms": "{:.1f}",
    "cost_per_1m_usd": "{:.4f}",
}


def overview_display(result: BenchmarkResult) -> pd.DataFrame:
    """``overview`` as text for people: figures formatted, short headings, the trial id and
    an all-zero provisioned column left out."""
    table = overview(result).drop(columns="trial_id")
    if len(table) and not table["provisioned_concurrency"].astype(float).any():
        table = table.drop(columns="provisioned_concurrency")
    shown = table.astype(object)
    for column, template in FORMATS.items():
        shown[column] = [
            template.format(v) if pd.notna(v) and math.isfinite(float(v)) else "–"
            for v in table[column]
        ]
    return shown.rename(columns=DISPLAY_NAMES)


def heading(result: BenchmarkResult) -> str:
    """``Benchmark <run> of <model>: <status> [EMULATED], <n> invocations, <start> UTC``."""
    start, _ = result.time_span
    when = f", {start:%Y-%m-%d %H:%M} UTC" if start is not None else ""
    label = " [EMULATED]" if result.emulated else ""
    model = result.config.model_name or "?"
    return (
        f"Benchmark {result.run_id or '(no id)'} of {model}: {result.status}{label}, "
        f"{len(result.invocations)} invocations{when}"
    )


def _figure(value: float) -> str:
    return f"{value:.4g}"


def summary_text(result: BenchmarkResult) -> str:
    """A plain-text summary for the terminal: heading, table and recommendation."""
    lines = [heading(result)]
    if result.emulated:
        lines.append(result.emulation_note)
    table = overview_display(result)
    if len(table):
        lines.append(table.to_string(index=False))
    lines.append(recommendation_line(result))
    rec = result.recommendation
    if rec is not None:
        lines.append(f"Rule: {rec.strategy}: {rec.rule}")
        lines.extend(f"Not measured: {r}." for r in rec.not_measured)
        lines.extend(f"- {r}" for r in rec.reasons)
        if rec.rule_detail:
            lines.append(f"The rule in full: {rec.rule_detail}")
        if rec.formula:
            lines.append(f"Formula: {rec.formula}")
    lines.extend(f"Note: {n}" for n in result.notes)
    return "\n".join(lines)


def result_html(result: BenchmarkResult) -> str:
    """The notebook display: heading with an emulated badge, recommendation, the table per
    trial; MathJax is told to leave it alone (a "$" in it is money, not LaTeX)."""
    table = overview_display(result)
    return render(
        "result.html",
        no_math=NO_MATH,
        emulated=result.emulated,
        heading=heading(result),
        line=recommendation_line(result),
        monthly=result.recommendation.monthly_text() if result.recommendation else "",
        not_measured=result.recommendation.not_measured if result.recommendation else [],
        table=Markup(table.to_html(index=False, na_rep="–", border=0)) if len(table) else None,
    )


def result_repr(result: BenchmarkResult) -> str:
    """``BenchmarkResult(run_id=..., status=..., [emulated, ]invocations=n)``."""
    label = ", emulated" if result.emulated else ""
    return (
        f"BenchmarkResult(run_id={result.run_id!r}, status={result.status!r}{label}, "
        f"invocations={len(result.invocations)})"
    )


def charts(result: BenchmarkResult) -> Any:
    """Every chart of ``result`` in one Altair composition (``charts.dashboard``)."""
    from sm_bench_widgets.charts import dashboard, enable_offline  # Altair loads on first chart

    enable_offline()
    return dashboard(result)
