"""A standalone HTML report of a ``BenchmarkResult`` that opens without network access.

The charts are interactive by default: the Vega, Vega-Lite and Vega-Embed JavaScript that
vl-convert-python bundles (``vl_convert.javascript_bundle``) is inlined once in the page
and each chart's Vega-Lite spec is embedded as JSON, so the file needs no CDN. With
``charts="svg"`` the charts are rendered by vl-convert to static inline SVG instead (no
JavaScript at all, no tooltips). Without vl-convert-python the report still holds every
table and says how to get the charts.
"""

from __future__ import annotations

import functools
import html
import importlib.util
import json
import math
import os
from importlib import resources
from pathlib import Path
from string import Template
from typing import Any

import altair as alt
import pandas as pd

from sm_bench_widgets import charts as chart_builders

CHART_MODES = ("vega", "svg")
MAX_CLOUDWATCH_ROWS = 60


@functools.lru_cache(maxsize=1)
def _javascript_bundle() -> str:
    """Vega, Vega-Lite (Altair's version) and Vega-Embed as one inline script."""
    import vl_convert

    version = "_".join(alt.SCHEMA_VERSION.lstrip("v").split(".")[:2])
    return vl_convert.javascript_bundle(vl_version=f"v{version}")


def _script_json(value: Any) -> str:
    """JSON safe to place inside a <script> element."""
    text = json.dumps(value, allow_nan=False, default=str)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _number(value: float) -> str:
    if not math.isfinite(value):
        return "–"
    if value == 0:
        return "0"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    if abs(value) < 0.001:
        return f"{value:.3e}"
    return f"{value:.4g}"


INTEGER_COLUMNS = ("memory_size", "max_concurrency", "provisioned_concurrency", "clients")


def _table(frame: pd.DataFrame | None, empty: str = "No rows.", text: bool = False) -> str:
    """An HTML table (numbers right-aligned unless ``text``), or a sentence when empty."""
    if frame is None or frame.empty:
        return f"<p>{html.escape(empty)}</p>"
    frame = frame.copy()
    for col in INTEGER_COLUMNS:
        if col in frame.columns:
            values = pd.to_numeric(frame[col], errors="coerce")
            if values.notna().all() and (values == values.round()).all():
                frame[col] = values.astype("int64").astype(str)
    classes = "frame text" if text else "frame"
    table = frame.to_html(
        index=False, classes=classes, border=0, na_rep="–", float_format=_number, escape=True
    )
    return f'<div class="scroll">{table}</div>'


def _charts(result: Any) -> list[tuple[str, alt.TopLevelMixin]]:
    invocations = result.invocations
    return [
        ("latency_distribution", chart_builders.latency_distribution(invocations)),
        ("cost_vs_latency", chart_builders.cost_vs_latency(result.costs, result.recommendation)),
        ("cold_vs_warm", chart_builders.cold_vs_warm(invocations)),
        ("concurrency", chart_builders.concurrency_chart(result.concurrency)),
        ("timeline", chart_builders.timeline(invocations)),
    ]


def _chart_section(result: Any, mode: str) -> tuple[str, str, str]:
    """(head script, chart markup, body script) for the chosen chart mode."""
    if importlib.util.find_spec("vl_convert") is None:
        return (
            "",
            (
                '<p class="note">Charts need vl-convert-python to be embedded offline: '
                "pip install vl-convert-python</p>"
            ),
            "",
        )
    specs = [(name, chart.to_dict()) for name, chart in _charts(result)]
    if mode == "svg":
        import vl_convert

        parts = [
            f'<div class="chart" id="chart-{name}">{vl_convert.vegalite_to_svg(spec)}</div>'
            for name, spec in specs
        ]
        return "", "\n".join(parts), ""
    divs = "\n".join(f'<div class="chart" id="chart-{name}"></div>' for name, _ in specs)
    calls = "\n".join(
        f"vegaEmbed('#chart-{name}', {_script_json(spec)}, opts).catch(console.error);"
        for name, spec in specs
    )
    head = f'<script type="text/javascript">{_javascript_bundle()}</script>'
    body = (
        '<script type="text/javascript">\n(function () {\n'
        'const opts = {"renderer": "svg", "actions": {"export": true, "source": false, '
        '"compiled": false, "editor": false}};\n'
        f"{calls}\n}})();\n</script>"
    )
    return head, divs, body


def _recommendation(result: Any) -> str:
    rec = result.recommendation
    if rec is None:
        return (
            '<div class="card none"><p class="line">No recommendation</p>'
            f"<p>{html.escape(result.recommendation_reason)}</p></div>"
        )
    reasons = "".join(f"<li>{html.escape(r)}</li>" for r in rec.reasons)
    runner = ""
    if rec.runner_up is not None:
        r = rec.runner_up
        runner = (
            f"<p>Runner-up: {r.memory_size} MB, max concurrency {r.max_concurrency}"
            + (f", provisioned {r.provisioned_concurrency}" if r.provisioned_concurrency else "")
            + f": p90 {_number(r.p90_ms)} ms, ${_number(r.cost_per_1m_usd)} per 1M.</p>"
        )
    return (
        '<div class="card">'
        f'<p class="line">{html.escape(result.recommendation_line())}</p>'
        f"<p>p99 {_number(rec.p99_ms)} ms. Strategy <b>{html.escape(rec.strategy)}</b>; "
        f'rule: <span class="rule">{html.escape(rec.rule)}</span></p>'
        f"<ul>{reasons}</ul>{runner}</div>"
    )


def _cloudwatch(frame: pd.DataFrame) -> str:
    if frame.empty:
        return "<p>No CloudWatch metrics were collected.</p>"
    keys = ["endpoint_name", "metric", "statistic", "unit"]
    table = (
        frame.groupby(keys, sort=True)["value"]
        .agg(points="count", mean="mean", max="max")
        .reset_index()
    )
    more = ""
    if len(table) > MAX_CLOUDWATCH_ROWS:
        more = f"<p>First {MAX_CLOUDWATCH_ROWS} of {len(table)} series shown.</p>"
        table = table.head(MAX_CLOUDWATCH_ROWS)
    return _table(table) + more


def _configuration(result: Any) -> str:
    options = result.config.to_dict()
    rows = pd.DataFrame(
        [
            {"option": k, "value": json.dumps(v, default=str) if not isinstance(v, str) else v}
            for k, v in options.items()
        ]
    )
    return _table(rows, text=True)


def render_report(result: Any, charts: str = "vega") -> str:
    """The report's HTML as a string (see ``write_report``)."""
    if charts not in CHART_MODES:
        raise ValueError(f"charts={charts!r} is not allowed: one of {', '.join(CHART_MODES)}")
    template = Template(
        resources.files("sm_bench_widgets").joinpath("templates/report.html").read_text("utf-8")
    )
    start, end = result.time_span
    model = result.config.model_name or "(no model)"
    label = " (emulated)" if result.emulated else ""
    when = " to ".join(f"{t:%Y-%m-%d %H:%M:%S} UTC" for t in (start, end) if t is not None)
    meta_line = (
        f"Run {html.escape(result.run_id or '(no id)')}"
        f" · status <b>{html.escape(result.status)}</b>"
        f" · {len(result.invocations)} invocations" + (f" · {when}" if when else "")
    )
    banner = ""
    if result.emulated:
        banner = (
            '<p class="emulated">EMULATED: these figures come from the local emulator '
            "of SageMaker Serverless Inference, not from Amazon SageMaker.</p>"
        )
    errors = ""
    if result.errors:
        errors = (
            "<p>Errors during the run:</p><ul>"
            + "".join(f"<li>{html.escape(e)}</li>" for e in result.errors)
            + "</ul>"
        )
    prices = result.prices
    price_line = (
        f"<p>Prices for {html.escape(prices.region)} as of "
        f"{html.escape(prices.as_of)}, source: {html.escape(prices.source)}; at "
        f"{result.config.monthly_invocations:,} invocations per month.</p>"
    )
    notes = "".join(f'<p class="note">Note: {html.escape(n)}</p>' for n in result.notes)
    head, chart_html, body = _chart_section(result, charts)
    from sm_bench_widgets import __version__

    return template.substitute(
        title=html.escape(f"Serverless benchmark of {model}{label}"),
        meta_line=meta_line,
        emulated_banner=banner,
        errors=errors,
        recommendation=_recommendation(result),
        charts=chart_html,
        stability=_table(result.stability, "No stability trials."),
        concurrency=_table(result.concurrency, "No concurrency trials."),
        cold_starts=_table(result.cold_starts, "No cold starts were recorded."),
        costs=price_line + _table(result.costs, "No costs: no successful invocations."),
        break_even=_table(result.break_even, "No break-even: no costs."),
        prices=_table(result.price_table(), text=True),
        cloudwatch=_cloudwatch(result.cloudwatch),
        configuration=_configuration(result),
        notes=notes,
        footer=html.escape(
            f"sm-bench-widgets {__version__}" + (" · emulated results" if result.emulated else "")
        ),
        head_script=head,
        body_script=body,
    )


def write_report(result: Any, path: str | os.PathLike[str], charts: str = "vega") -> Path:
    """Write one standalone HTML file (configuration, recommendation, tables, charts).

    ``charts="vega"`` (default) inlines vl-convert's bundled Vega/Vega-Lite/Vega-Embed
    JavaScript with the chart specs (interactive); ``charts="svg"`` inlines static SVG.
    Either way the file opens with no network. Returns the path written.
    """
    target = Path(path)
    if target.is_dir() or not target.suffix:
        target = target / "report.html"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(render_report(result, charts), encoding="utf-8")
    return target
