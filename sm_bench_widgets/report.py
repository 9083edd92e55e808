"""A standalone HTML report of a ``BenchmarkResult`` that opens without network access.

The page is ``templates/report.html``, rendered by jinja2 with autoescape (see
``templating``). The charts are interactive by default: the Vega, Vega-Lite and Vega-Embed
JavaScript that vl-convert-python bundles (``vl_convert.javascript_bundle``) is inlined
once in the page and each chart's Vega-Lite spec is embedded as JSON, so the file needs no
CDN. With ``charts="svg"`` the charts are rendered by vl-convert to static inline SVG
instead (no JavaScript at all, no tooltips). Without vl-convert-python the report still
holds every table and says how to get the charts.
"""

from __future__ import annotations

import functools
import importlib.util
import json
import math
import os
from pathlib import Path
from typing import Any

import altair as alt
import pandas as pd
from markupsafe import Markup

from sm_bench_widgets import __version__
from sm_bench_widgets import charts as chart_builders
from sm_bench_widgets.result.render import overview_display
from sm_bench_widgets.templating import render

CHART_MODES = ("vega", "svg")
MAX_CLOUDWATCH_ROWS = 60
INTEGER_COLUMNS = ("memory_size", "max_concurrency", "provisioned_concurrency", "clients")


@functools.lru_cache(maxsize=1)
def _javascript_bundle() -> str:
    """Vega, Vega-Lite (Altair's version) and Vega-Embed as one inline script."""
    import vl_convert

    version = "_".join(alt.SCHEMA_VERSION.lstrip("v").split(".")[:2])
    return vl_convert.javascript_bundle(vl_version=f"v{version}")


def _number(value: float) -> str:
    """A figure for a table cell: thousands separators, 4 significant digits, ``–`` if NaN."""
    if not math.isfinite(value):
        return "–"
    if value == 0:
        return "0"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    if abs(value) < 0.001:
        return f"{value:.3e}"
    return f"{value:.4g}"


def _table(frame: pd.DataFrame | None, empty: str = "No rows.", text: bool = False) -> Markup:
    """An HTML table built and escaped by pandas (numbers right-aligned unless ``text``)."""
    if frame is None or frame.empty:
        return Markup("<p>{}</p>").format(empty)
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
    return Markup('<div class="scroll">{}</div>').format(Markup(table))


def _charts(result: Any) -> list[tuple[str, alt.TopLevelMixin]]:
    invocations = result.invocations
    waiting = result.status == "running"  # an empty chart of an ended run says "no data"
    rec = result.recommendation
    charts = [
        ("latency_distribution", chart_builders.latency_distribution(invocations, waiting=waiting)),
        ("cost_vs_latency", chart_builders.cost_vs_latency(result.costs, rec, waiting=waiting)),
        ("cold_vs_warm", chart_builders.cold_vs_warm(invocations, waiting=waiting)),
        ("concurrency", chart_builders.concurrency_chart(result.concurrency, waiting=waiting)),
        ("timeline", chart_builders.timeline(invocations, waiting=waiting)),
    ]
    if result.config.traffic is not None:  # the traffic model beside the open-loop trials
        check = chart_builders.throttle_check_chart(result.throttle_check, waiting=waiting)
        charts.append(("throttle_check", check))
    return charts


def _chart_context(result: Any, mode: str) -> dict[str, Any]:
    """The template's ``chart_mode`` (None without vl-convert), ``charts`` and ``javascript``.

    Each chart has its name and Vega-Lite spec, and in svg mode its SVG from vl-convert.
    """
    if importlib.util.find_spec("vl_convert") is None:
        return {"chart_mode": None, "charts": [], "javascript": ""}
    charts = [{"name": name, "spec": chart.to_dict()} for name, chart in _charts(result)]
    if mode == "svg":
        import vl_convert

        for chart in charts:
            chart["svg"] = Markup(vl_convert.vegalite_to_svg(chart["spec"]))
        return {"chart_mode": mode, "charts": charts, "javascript": ""}
    return {"chart_mode": mode, "charts": charts, "javascript": Markup(_javascript_bundle())}


def _cloudwatch_series(frame: pd.DataFrame) -> pd.DataFrame:
    """One row per CloudWatch series: its number of points, mean and max."""
    keys = ["endpoint_name", "metric", "statistic", "unit"]
    return (
        frame.groupby(keys, sort=True)["value"]
        .agg(points="count", mean="mean", max="max")
        .reset_index()
    )


def _configuration(result: Any) -> pd.DataFrame:
    """The config's options as rows, values that are not text written as JSON."""
    return pd.DataFrame(
        [
            {"option": k, "value": json.dumps(v, default=str) if not isinstance(v, str) else v}
            for k, v in result.config.to_dict().items()
        ]
    )


def render_report(result: Any, charts: str = "vega") -> str:
    """The report's HTML as a string (see ``write_report``)."""
    if charts not in CHART_MODES:
        raise ValueError(f"charts={charts!r} is not allowed: one of {', '.join(CHART_MODES)}")
    start, end = result.time_span
    model = result.config.model_name or "(no model)"
    label = " (emulated)" if result.emulated else ""
    series = (
        _cloudwatch_series(result.cloudwatch) if not result.cloudwatch.empty else pd.DataFrame()
    )
    tables = {
        "trials": _table(overview_display(result), "No trials."),
        "stability": _table(result.stability, "No stability trials."),
        "concurrency": _table(result.concurrency, "No concurrency trials."),
        "cold_starts": _table(result.cold_starts, "No cold starts were recorded."),
        "costs": _table(result.costs, "No costs: no successful invocations."),
        "break_even": _table(result.break_even, "No break-even: no costs."),
        "prices": _table(result.price_table(), text=True),
        "cloudwatch": _table(
            series.head(MAX_CLOUDWATCH_ROWS), "No CloudWatch metrics were collected."
        ),
        "configuration": _table(_configuration(result), text=True),
    }
    return render(
        "report.html",
        title=f"Serverless benchmark of {model}{label}",
        run_id=result.run_id or "(no id)",
        status=result.status,
        invocation_count=len(result.invocations),
        when=" to ".join(f"{t:%Y-%m-%d %H:%M:%S} UTC" for t in (start, end) if t is not None),
        emulated=result.emulated,
        time_scale=result.time_scale,
        errors=result.errors,
        rec=result.recommendation,
        reason=result.recommendation_reason,
        line=result.recommendation_line(),
        number=_number,
        **_chart_context(result, charts),
        tables=tables,
        prices=result.prices,
        monthly_invocations=result.monthly_invocations,
        cloudwatch_series=len(series),
        cloudwatch_shown=min(len(series), MAX_CLOUDWATCH_ROWS),
        notes=result.notes,
        version=__version__,
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
