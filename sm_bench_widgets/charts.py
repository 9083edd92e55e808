"""Altair charts of a benchmark: pure functions from DataFrames to charts.

Every chart reads its rows from a *named* dataset (``alt.NamedData``) whose values sit in the
top-level ``datasets`` of the spec, and its encodings never depend on the data. A live view
can therefore keep one ``alt.JupyterChart`` per chart and swap only the data:

* public and simple: ``jchart.chart = timeline(new_invocations)`` (re-embeds the view);
* in place, without re-embedding: build the new chart, then pass
  ``named_datasets(new_chart)`` to ``adapters.altair_jupyter.send_dataset_updates`` (the
  front end applies each dataset as a Vega changeset; the names are those in
  ``DATASET_NAMES``).

Rows are aggregated or sampled in pandas first, so a chart of 100k invocations embeds at
most a few thousand rows (see ``MAX_TIMELINE_POINTS`` and ``TIMELINE_BUCKETS``).
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
from typing import Any

import altair as alt
import numpy as np
import pandas as pd

from sm_bench_widgets.schema import INVOCATION_COLUMNS, OUTCOMES, SUMMARY_COLUMNS


def enable_offline() -> bool:
    """Render charts with no internet (SageMaker Studio in VPC-only mode has none).

    Altair loads vega-embed from a CDN by default; with vl-convert installed, JupyterChart
    and the ``jupyter`` renderer inline it instead. Returns whether offline mode is on.
    """
    if importlib.util.find_spec("vl_convert") is None:
        return False
    try:
        alt.JupyterChart.enable_offline()
    except Exception:  # an online chart still works where there is internet
        return False
    if alt.renderers.active == "default":
        with contextlib.suppress(Exception):
            alt.renderers.enable("jupyter", offline=True)
    return True


DATASET_NAMES = {
    "latency_distribution": ("latency_distribution",),
    "cost_vs_latency": ("cost_vs_latency",),
    "concurrency_chart": ("concurrency",),
    "cold_vs_warm": ("cold_vs_warm",),
    "timeline": ("timeline_points", "timeline_counts"),
}
"""Chart function name -> the names of the datasets it reads (what a live view updates)."""

HISTOGRAM_BINS = 40
TIMELINE_BUCKETS = 120
MAX_TIMELINE_POINTS = 2000
MIN_PLOTTED_MS = 0.1  # floor of the timeline's log latency axis
WIDTH = 360
HEIGHT = 220

OUTCOME_COLOURS = ["#4c78a8", "#f58518", "#b279a2", "#e45756", "#9d755d"]
ROLE_ORDER = ["recommended", "runner-up", "other"]
_MEMORY_COLOUR = alt.Color(
    "memory_size:O", title="memory (MB)", scale=alt.Scale(scheme="tableau10")
)


# -- helpers -----------------------------------------------------------------------------
def named_datasets(chart: alt.TopLevelMixin) -> dict[str, list[dict[str, Any]]]:
    """The named datasets a chart built here carries, as ``{name: rows}`` ready to send."""
    datasets = getattr(chart, "datasets", alt.Undefined)
    return {} if datasets is alt.Undefined else dict(datasets)


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """JSON-safe rows (NaN as null, numpy scalars as Python numbers)."""
    if frame.empty:
        return []
    return json.loads(frame.to_json(orient="records", date_format="iso"))


def _frame(data: pd.DataFrame | None, columns: list[str]) -> pd.DataFrame:
    """A copy of ``data`` that has at least ``columns`` (missing ones filled with NA)."""
    if data is None:
        return pd.DataFrame(columns=columns)
    frame = data.copy()
    for col in columns:
        if col not in frame.columns:
            frame[col] = pd.NA
    return frame


def _config_label(frame: pd.DataFrame) -> pd.Series:
    """A short label per row: ``2048 MB · MC 1`` (``· PC n`` with provisioned concurrency)."""
    if frame.empty:
        return pd.Series([], index=frame.index, dtype=object)
    mem = pd.to_numeric(frame["memory_size"], errors="coerce")
    mc = pd.to_numeric(frame["max_concurrency"], errors="coerce")
    pc = pd.to_numeric(frame["provisioned_concurrency"], errors="coerce").fillna(0)
    labels = [
        f"{_int_text(m)} MB · MC {_int_text(c)}" + (f" · PC {int(p)}" if p > 0 else "")
        for m, c, p in zip(mem, mc, pc, strict=True)
    ]
    return pd.Series(labels, index=frame.index, dtype=object)


def _int_text(value: Any) -> str:
    return "?" if pd.isna(value) else str(int(value))


def _attach(chart: alt.TopLevelMixin, datasets: dict[str, list[dict[str, Any]]]):
    """Put the named datasets at the top level of a chart (only the top may hold them)."""
    chart.datasets = datasets
    return chart


def _ok_invocations(invocations: pd.DataFrame | None) -> pd.DataFrame:
    frame = _frame(invocations, INVOCATION_COLUMNS)
    frame["cold"] = frame["cold"].fillna(False).astype(bool)
    frame["latency_ms"] = pd.to_numeric(frame["latency_ms"], errors="coerce")
    frame = frame.loc[(frame["outcome"] == "ok").astype(bool)]
    return frame.dropna(subset=["latency_ms"])


# -- latency distribution -----------------------------------------------------------------
def latency_distribution_data(invocations: pd.DataFrame | None) -> pd.DataFrame:
    """Histogram rows (memory size x latency bin, share of invocations) of ok warm latencies.

    Stability-phase rows are used when there are any (one request at a time, so memory is
    the only variable); otherwise every phase's. Bins are shared by all memory sizes and
    span the 0.5th to 99.5th percentile, the tails folded into the end bins.
    """
    columns = ["memory_size", "bin_start", "bin_end", "bin_mid", "count", "share"]
    ok = _ok_invocations(invocations)
    ok = ok.loc[~ok["cold"]]
    stability = (ok["phase"] == "stability").astype(bool)
    if stability.any():
        ok = ok.loc[stability]
    if ok.empty:
        return pd.DataFrame(columns=columns)
    latency = ok["latency_ms"].to_numpy(dtype=float)
    low, high = np.quantile(latency, [0.005, 0.995])
    if not high > low:
        low, high = low - 0.5, high + 0.5
    edges = np.linspace(low, high, HISTOGRAM_BINS + 1)
    rows = []
    for memory, group in ok.groupby("memory_size", sort=True):
        values = np.clip(group["latency_ms"].to_numpy(dtype=float), low, high)
        counts, _ = np.histogram(values, bins=edges)
        total = counts.sum()
        for i, count in enumerate(counts):
            rows.append(
                {
                    "memory_size": int(memory),
                    "bin_start": float(edges[i]),
                    "bin_end": float(edges[i + 1]),
                    "bin_mid": float((edges[i] + edges[i + 1]) / 2),
                    "count": int(count),
                    "share": float(count / total) if total else 0.0,
                }
            )
    return pd.DataFrame(rows, columns=columns)


def _latency_distribution(invocations: pd.DataFrame | None):
    data = latency_distribution_data(invocations)
    chart = (
        alt.Chart(alt.NamedData(name="latency_distribution"))
        .mark_line(interpolate="step", strokeWidth=2)
        .encode(
            x=alt.X("bin_mid:Q", title="latency (ms), ok warm invocations"),
            y=alt.Y("share:Q", title="share of invocations", axis=alt.Axis(format="%")),
            color=_MEMORY_COLOUR,
            tooltip=[
                alt.Tooltip("memory_size:O", title="memory (MB)"),
                alt.Tooltip("bin_start:Q", title="from (ms)", format=".1f"),
                alt.Tooltip("bin_end:Q", title="to (ms)", format=".1f"),
                alt.Tooltip("count:Q", title="invocations"),
                alt.Tooltip("share:Q", title="share", format=".1%"),
            ],
        )
        .properties(title="Latency distribution per memory size", width=WIDTH, height=HEIGHT)
    )
    return chart, {"latency_distribution": _records(data)}


def latency_distribution(invocations: pd.DataFrame | None) -> alt.Chart:
    """Distribution of ok warm latencies per memory size, one step line per size.

    Reads the named dataset ``latency_distribution`` (rows of
    ``latency_distribution_data``); at most 6 x ``HISTOGRAM_BINS`` rows.
    """
    return _attach(*_latency_distribution(invocations))


# -- cost against latency -----------------------------------------------------------------
def cost_vs_latency_data(
    costs: pd.DataFrame | None, recommendation: Any = None, percentile: str = "p90"
) -> pd.DataFrame:
    """One row per configuration: cost per 1M, p50/p90, the chosen latency and its role."""
    if percentile not in ("p50", "p90"):
        raise ValueError(f"percentile={percentile!r} is not allowed: 'p50' or 'p90'")
    keys = ["memory_size", "max_concurrency", "provisioned_concurrency"]
    columns = [
        *keys,
        "label",
        "p50_ms",
        "p90_ms",
        "latency_ms",
        "cost_per_1m_usd",
        "monthly_cost_usd",
        "role",
    ]
    frame = _frame(costs, [*keys, "p50_ms", "p90_ms", "cost_per_1m_usd", "monthly_cost_usd"])
    if frame.empty:
        return pd.DataFrame(columns=columns)
    frame["provisioned_concurrency"] = frame["provisioned_concurrency"].fillna(0)
    frame["label"] = _config_label(frame)
    frame["latency_ms"] = pd.to_numeric(frame[f"{percentile}_ms"], errors="coerce")
    frame["role"] = "other"
    runner_up = getattr(recommendation, "runner_up", None)
    for role, rec in (("runner-up", runner_up), ("recommended", recommendation)):
        if rec is None:
            continue
        match = (
            (frame["memory_size"] == rec.memory_size)
            & (frame["max_concurrency"] == rec.max_concurrency)
            & (frame["provisioned_concurrency"] == (rec.provisioned_concurrency or 0))
        )
        frame.loc[match, "role"] = role
    return frame[columns].reset_index(drop=True)


def _cost_vs_latency(
    costs: pd.DataFrame | None, recommendation: Any = None, percentile: str = "p90"
):
    data = cost_vs_latency_data(costs, recommendation, percentile)
    base = alt.Chart(alt.NamedData(name="cost_vs_latency"))
    tooltip = [
        alt.Tooltip("label:N", title="configuration"),
        alt.Tooltip("p50_ms:Q", title="p50 (ms)", format=".1f"),
        alt.Tooltip("p90_ms:Q", title="p90 (ms)", format=".1f"),
        alt.Tooltip("cost_per_1m_usd:Q", title="USD per 1M", format="$.2f"),
        alt.Tooltip("monthly_cost_usd:Q", title="USD per month", format="$.2f"),
        alt.Tooltip("role:N", title="role"),
    ]
    y = alt.Y(
        "cost_per_1m_usd:Q",
        title="cost per 1M invocations (USD)",
        scale=alt.Scale(zero=False, padding=16),
    )
    spread = base.mark_rule(opacity=0.5).encode(
        x=alt.X(
            "p50_ms:Q",
            title=f"{percentile} latency (ms); line from p50 to p90",
            scale=alt.Scale(zero=False, padding=24),
        ),
        x2="p90_ms:Q",
        y=y,
        color=_MEMORY_COLOUR,
    )
    points = base.mark_point(filled=True, opacity=0.9).encode(
        x=alt.X("latency_ms:Q"),
        y=y,
        color=_MEMORY_COLOUR,
        shape=alt.Shape(
            "role:N",
            scale=alt.Scale(domain=ROLE_ORDER, range=["diamond", "square", "circle"]),
            title="role",
        ),
        size=alt.Size(
            "role:N", scale=alt.Scale(domain=ROLE_ORDER, range=[260, 140, 70]), title="role"
        ),
        tooltip=tooltip,
    )
    labels = (
        base.transform_filter(alt.datum.role != "other")
        .mark_text(align="left", dx=9, dy=-9, fontWeight="bold")
        .encode(x="latency_ms:Q", y=y, text="label:N")
    )
    chart = alt.layer(spread, points, labels).properties(
        title=f"Cost per 1M invocations against {percentile} latency",
        width=WIDTH,
        height=HEIGHT,
    )
    return chart, {"cost_vs_latency": _records(data)}


def cost_vs_latency(
    costs: pd.DataFrame | None, recommendation: Any = None, percentile: str = "p90"
) -> alt.LayerChart:
    """Cost per 1M invocations against latency per configuration, recommendation marked.

    Reads the named dataset ``cost_vs_latency`` (rows of ``cost_vs_latency_data``: one per
    configuration, its ``role`` is ``recommended``, ``runner-up`` or ``other``).
    """
    return _attach(*_cost_vs_latency(costs, recommendation, percentile))


# -- concurrency --------------------------------------------------------------------------
def concurrency_data(concurrency_summary: pd.DataFrame | None) -> pd.DataFrame:
    """Concurrency-phase summary rows with the throttled share, ordered by clients."""
    columns = [
        "memory_size",
        "max_concurrency",
        "provisioned_concurrency",
        "clients",
        "count",
        "throughput_rps",
        "p50_ms",
        "p90_ms",
        "throttle_count",
        "throttled_share",
        "error_rate",
    ]
    frame = _frame(concurrency_summary, SUMMARY_COLUMNS)
    if frame.empty:
        return pd.DataFrame(columns=columns)
    in_phase = (frame["phase"] == "concurrency").astype(bool)
    if in_phase.any():
        frame = frame.loc[in_phase]
    count = pd.to_numeric(frame["count"], errors="coerce")
    throttles = pd.to_numeric(frame["throttle_count"], errors="coerce").fillna(0)
    frame = frame.assign(throttled_share=(throttles / count.where(count > 0)).fillna(0.0))
    return frame[columns].sort_values(["max_concurrency", "clients"]).reset_index(drop=True)


def _concurrency_chart(concurrency_summary: pd.DataFrame | None):
    data = concurrency_data(concurrency_summary)
    base = alt.Chart(alt.NamedData(name="concurrency"))
    x = alt.X("clients:Q", title="concurrent clients")
    colour = alt.Color("max_concurrency:O", title="max concurrency")
    tooltip = [
        alt.Tooltip("max_concurrency:O", title="max concurrency"),
        alt.Tooltip("clients:Q", title="clients"),
        alt.Tooltip("count:Q", title="invocations"),
        alt.Tooltip("throughput_rps:Q", title="throughput (req/s)", format=".2f"),
        alt.Tooltip("p90_ms:Q", title="p90 (ms)", format=".1f"),
        alt.Tooltip("throttle_count:Q", title="throttled"),
        alt.Tooltip("throttled_share:Q", title="throttled share", format=".1%"),
    ]

    def panel(field: str, title: str, fmt: str | None = None):
        axis = alt.Axis(format=fmt) if fmt else alt.Axis()
        return (
            base.mark_line(point=True)
            .encode(
                x=x, y=alt.Y(f"{field}:Q", title=title, axis=axis), color=colour, tooltip=tooltip
            )
            .properties(width=WIDTH // 2 + 40, height=HEIGHT)
        )

    chart = alt.hconcat(
        panel("throughput_rps", "throughput (ok req/s)"),
        panel("p90_ms", "p90 latency (ms)"),
        panel("throttled_share", "throttled share", "%"),
    ).properties(title="Concurrency: throughput, p90 and throttles against clients")
    return chart, {"concurrency": _records(data)}


def concurrency_chart(concurrency_summary: pd.DataFrame | None) -> alt.HConcatChart:
    """Throughput, p90 latency and throttled share against clients, per max concurrency.

    Reads the named dataset ``concurrency`` (rows of ``concurrency_data``).
    """
    return _attach(*_concurrency_chart(concurrency_summary))


# -- cold against warm --------------------------------------------------------------------
def cold_vs_warm_data(invocations: pd.DataFrame | None) -> pd.DataFrame:
    """Per configuration and kind (cold or warm): ok invocations, median, p90 and max (ms)."""
    keys = ["memory_size", "max_concurrency", "provisioned_concurrency"]
    columns = [*keys, "label", "kind", "count", "p50_ms", "p90_ms", "max_ms"]
    ok = _ok_invocations(invocations)
    if ok.empty:
        return pd.DataFrame(columns=columns)
    ok["provisioned_concurrency"] = ok["provisioned_concurrency"].fillna(0)
    ok["kind"] = np.where(ok["cold"], "cold", "warm")
    grouped = ok.groupby([*keys, "kind"], sort=True)["latency_ms"]
    data = grouped.agg(
        count="count",
        p50_ms="median",
        p90_ms=lambda s: s.quantile(0.9),
        max_ms="max",
    ).reset_index()
    data["label"] = _config_label(data)
    return data[columns]


def _cold_vs_warm(invocations: pd.DataFrame | None):
    data = cold_vs_warm_data(invocations)
    base = alt.Chart(alt.NamedData(name="cold_vs_warm"))
    kind_colour = alt.Color(
        "kind:N",
        title="start",
        scale=alt.Scale(domain=["cold", "warm"], range=["#e45756", "#4c78a8"]),
    )
    x = alt.X("label:N", title="configuration", sort=alt.SortField("memory_size"))
    tooltip = [
        alt.Tooltip("label:N", title="configuration"),
        alt.Tooltip("kind:N", title="start"),
        alt.Tooltip("count:Q", title="ok invocations"),
        alt.Tooltip("p50_ms:Q", title="median (ms)", format=".1f"),
        alt.Tooltip("p90_ms:Q", title="p90 (ms)", format=".1f"),
        alt.Tooltip("max_ms:Q", title="max (ms)", format=".1f"),
    ]
    bars = base.mark_bar().encode(
        x=x,
        xOffset=alt.XOffset("kind:N", scale=alt.Scale(domain=["cold", "warm"])),
        y=alt.Y("p50_ms:Q", title="median latency (ms); tick at max"),
        color=kind_colour,
        tooltip=tooltip,
    )
    ticks = base.mark_tick(thickness=2, color="#333").encode(
        x=x,
        xOffset=alt.XOffset("kind:N", scale=alt.Scale(domain=["cold", "warm"])),
        y="max_ms:Q",
        tooltip=tooltip,
    )
    chart = alt.layer(bars, ticks).properties(
        title="Cold against warm latency per configuration", width=WIDTH, height=HEIGHT
    )
    return chart, {"cold_vs_warm": _records(data)}


def cold_vs_warm(invocations: pd.DataFrame | None) -> alt.LayerChart:
    """Median (bar) and maximum (tick) latency of cold and warm invocations per configuration.

    Reads the named dataset ``cold_vs_warm`` (rows of ``cold_vs_warm_data``).
    """
    return _attach(*_cold_vs_warm(invocations))


# -- timeline -----------------------------------------------------------------------------
def timeline_data(invocations: pd.DataFrame | None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Bounded timeline rows: (sampled points, counts per time bucket and outcome).

    Points: at most ``MAX_TIMELINE_POINTS`` invocations (cold starts first, then failures
    and ok ones, see ``_sample_points``), ``t_s`` in seconds since the first request.
    Counts: at most ``TIMELINE_BUCKETS`` equal buckets x outcomes.
    """
    point_cols = [
        "t_s",
        "latency_ms",
        "outcome",
        "cold",
        "memory_size",
        "max_concurrency",
        "phase",
        "trial_id",
    ]
    count_cols = ["bucket_start_s", "bucket_end_s", "outcome", "count"]
    frame = _frame(invocations, INVOCATION_COLUMNS)
    if frame.empty:
        return pd.DataFrame(columns=point_cols), pd.DataFrame(columns=count_cols)
    frame["start"] = pd.to_numeric(frame["start"], errors="coerce")
    frame = frame.dropna(subset=["start"])
    if frame.empty:
        return pd.DataFrame(columns=point_cols), pd.DataFrame(columns=count_cols)
    origin = frame["start"].min()
    frame["t_s"] = frame["start"] - origin
    frame["cold"] = frame["cold"].fillna(False).astype(bool)
    frame["latency_ms"] = pd.to_numeric(frame["latency_ms"], errors="coerce")

    points = _sample_points(frame, MAX_TIMELINE_POINTS)
    points = points.sort_values("t_s")[point_cols].reset_index(drop=True)
    points["latency_ms"] = points["latency_ms"].clip(lower=MIN_PLOTTED_MS)

    span = float(frame["t_s"].max())
    width = max(span / TIMELINE_BUCKETS, 1e-3)
    index = np.minimum((frame["t_s"] / width).astype(int), TIMELINE_BUCKETS - 1)
    counts = frame.groupby([index.rename("bucket"), "outcome"]).size().rename("count")
    counts = counts.reset_index()
    counts["bucket_start_s"] = counts["bucket"] * width
    counts["bucket_end_s"] = (counts["bucket"] + 1) * width
    return points, counts[count_cols]


def _sample_points(frame: pd.DataFrame, limit: int) -> pd.DataFrame:
    """At most ``limit`` rows: cold starts first, then failures (at least half of what is
    left, or more when there are few ok rows), then ok warm rows; evenly within each kind."""
    cold = frame.loc[frame["cold"]]
    failed = frame.loc[(~frame["cold"] & (frame["outcome"] != "ok")).astype(bool)]
    ok = frame.loc[(~frame["cold"] & (frame["outcome"] == "ok")).astype(bool)]
    picked = [_even_sample(cold, limit)]
    budget = limit - len(picked[0])
    picked.append(_even_sample(failed, max(budget // 2, budget - len(ok))))
    budget -= len(picked[1])
    picked.append(_even_sample(ok, budget))
    return pd.concat(picked)


def _even_sample(frame: pd.DataFrame, limit: int) -> pd.DataFrame:
    """Every k-th row so that at most ``limit`` rows remain (deterministic, keeps order)."""
    if limit <= 0:
        return frame.iloc[0:0]
    if len(frame) <= limit:
        return frame
    positions = np.linspace(0, len(frame) - 1, limit).round().astype(int)
    return frame.sort_values("t_s").iloc[np.unique(positions)]


def _timeline(invocations: pd.DataFrame | None):
    points, counts = timeline_data(invocations)
    outcome_colour = alt.Color(
        "outcome:N", title="outcome", scale=alt.Scale(domain=list(OUTCOMES), range=OUTCOME_COLOURS)
    )
    scatter = (
        alt.Chart(alt.NamedData(name="timeline_points"))
        .mark_point(filled=True, size=30, opacity=0.6)
        .encode(
            x=alt.X("t_s:Q", title="seconds since the first request", scale=alt.Scale(padding=8)),
            y=alt.Y("latency_ms:Q", title="latency (ms, log scale)", scale=alt.Scale(type="log")),
            color=outcome_colour,
            shape=alt.Shape(
                "cold:N",
                title="cold start",
                scale=alt.Scale(domain=[False, True], range=["circle", "triangle"]),
            ),
            tooltip=[
                alt.Tooltip("t_s:Q", title="t (s)", format=".2f"),
                alt.Tooltip("latency_ms:Q", title="latency (ms)", format=".1f"),
                alt.Tooltip("outcome:N"),
                alt.Tooltip("cold:N"),
                alt.Tooltip("memory_size:O", title="memory (MB)"),
                alt.Tooltip("max_concurrency:O", title="max concurrency"),
                alt.Tooltip("phase:N"),
                alt.Tooltip("trial_id:N", title="trial"),
            ],
        )
        .properties(width=2 * WIDTH + 60, height=HEIGHT - 40)
    )
    bars = (
        alt.Chart(alt.NamedData(name="timeline_counts"))
        .mark_bar()
        .encode(
            x=alt.X(
                "bucket_start_s:Q",
                bin=alt.Bin(binned=True),
                title="seconds since the first request",
            ),
            x2="bucket_end_s:Q",
            y=alt.Y("count:Q", title="invocations", stack=True),
            color=outcome_colour,
            tooltip=[
                alt.Tooltip("bucket_start_s:Q", title="from (s)", format=".2f"),
                alt.Tooltip("bucket_end_s:Q", title="to (s)", format=".2f"),
                alt.Tooltip("outcome:N"),
                alt.Tooltip("count:Q", title="invocations"),
            ],
        )
        .properties(width=2 * WIDTH + 60, height=90)
    )
    chart = alt.vconcat(scatter, bars).properties(title="Invocations over time")
    return chart, {"timeline_points": _records(points), "timeline_counts": _records(counts)}


def timeline(invocations: pd.DataFrame | None) -> alt.VConcatChart:
    """Invocations over time: sampled latencies and stacked counts, coloured by outcome.

    Reads the named datasets ``timeline_points`` and ``timeline_counts`` (the two frames of
    ``timeline_data``), bounded whatever the number of invocations.
    """
    return _attach(*_timeline(invocations))


# -- all together -------------------------------------------------------------------------
def dashboard(result: Any) -> alt.VConcatChart:
    """Every chart of a ``BenchmarkResult`` in one composition (for the report and notebooks).

    Reads the union of ``DATASET_NAMES``'s datasets; colour scales stay per chart.
    """
    invocations = result.invocations
    parts = [
        _latency_distribution(invocations),
        _cold_vs_warm(invocations),
        _cost_vs_latency(result.costs, result.recommendation),
        _concurrency_chart(result.concurrency),
        _timeline(invocations),
    ]
    datasets: dict[str, list[dict[str, Any]]] = {}
    for _, data in parts:
        datasets.update(data)
    (dist, _), (cold, _), (cost, _), (conc, _), (time, _) = parts
    chart = alt.vconcat(
        alt.hconcat(dist, cold).resolve_scale(color="independent"),
        cost,
        conc,
        time,
    ).resolve_scale(color="independent", shape="independent", size="independent")
    return _attach(chart, datasets)
