"""How a result shows itself: a one-line recommendation, an overview table, terminal text,
notebook HTML (``templates/result.html``) and its charts."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pandas as pd
from markupsafe import Markup

from sm_bench_widgets.templating import render

if TYPE_CHECKING:
    from sm_bench_widgets.result.model import BenchmarkResult

CONFIG_KEYS = ["memory_size", "max_concurrency", "provisioned_concurrency"]
OVERVIEW_FIGURES = ["p50_ms", "p90_ms", "cost_per_1m_usd"]


def recommendation_line(result: BenchmarkResult) -> str:
    """One sentence: what to deploy with expected p90 and cost, or why nothing."""
    rec = result.recommendation
    if rec is None:
        return f"No recommendation: {result.recommendation_reason}"
    return rec.headline()


def overview(result: BenchmarkResult) -> pd.DataFrame:
    """A small table per configuration: invocations, errors, p50/p90 and cost per 1M."""
    keys = CONFIG_KEYS
    summary = result.summary
    if summary.empty:
        return pd.DataFrame(columns=[*keys, "invocations", "error_rate", *OVERVIEW_FIGURES])
    counts = (
        summary.groupby(keys)
        .agg(invocations=("count", "sum"), ok=("ok_count", "sum"))
        .reset_index()
    )
    counts["error_rate"] = 1 - counts["ok"] / counts["invocations"].where(counts["invocations"] > 0)
    costs = (
        result.costs[[*keys, *OVERVIEW_FIGURES]]
        if len(result.costs)
        else pd.DataFrame(columns=[*keys, *OVERVIEW_FIGURES])
    )
    table = counts.drop(columns="ok").merge(
        costs.astype({k: "int64" for k in keys}), on=keys, how="left"
    )
    return table.sort_values(keys).reset_index(drop=True)


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
    table = overview(result)
    if len(table):
        lines.append(table.to_string(index=False, float_format=_figure))
    lines.append(recommendation_line(result))
    rec = result.recommendation
    if rec is not None:
        lines.append(f"Rule: {rec.rule}")
        if rec.formula:
            lines.append(f"Formula: {rec.formula}")
        lines.extend(f"- {r}" for r in rec.reasons)
    lines.extend(f"Note: {n}" for n in result.notes)
    return "\n".join(lines)


def result_html(result: BenchmarkResult) -> str:
    """The notebook display: heading with an emulated badge, recommendation, overview table."""
    table = overview(result)
    return render(
        "result.html",
        emulated=result.emulated,
        heading=heading(result),
        line=recommendation_line(result),
        table=Markup(table.to_html(index=False, float_format=_figure, na_rep="–", border=0))
        if len(table)
        else None,
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
