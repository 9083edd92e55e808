"""Altair charts of a benchmark: pure functions from DataFrames to charts.

Every chart reads its rows from a *named* dataset (``alt.NamedData``) whose values sit in the
top-level ``datasets`` of the spec. A chart has two layouts: with no rows it is a "waiting for
data" note (no axes whose domain Vega would have to compute from nothing), with rows its
encodings never depend on the data (``layout`` tells them apart; a selection, where a chart
takes one, is part of its layout). A live view can therefore keep one ``alt.JupyterChart``
per chart and swap only the data while the layout stays:

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
    "cost_vs_latency": ("cost_vs_latency", "cost_frontier"),
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


CONFIG_KEYS = ("memory_size", "max_concurrency", "provisioned_concurrency")
"""The columns that name one configuration (a point of the cost chart)."""
PICK = "pick"
"""The cost chart's click selection: a point selection on ``CONFIG_KEYS``."""
WAITING_TEXT = "Waiting for data…"
NO_DATA_TEXT = "No data in this run"
"""The note of an empty chart: while a run goes on (``waiting=True``), and after it."""
LABEL_CHAR_PX = 6.6  # width of a character of the cost chart's bold 11 px labels
POINT_RADIUS_PX = 9.0  # the largest marker's radius (size 260)


# -- helpers -----------------------------------------------------------------------------
def named_datasets(chart: alt.TopLevelMixin) -> dict[str, list[dict[str, Any]]]:
    """The named datasets a chart built here carries, as ``{name: rows}`` ready to send."""
    datasets = getattr(chart, "datasets", alt.Undefined)
    return {} if datasets is alt.Undefined else dict(datasets)


def layout(chart: alt.TopLevelMixin) -> dict[str, Any]:
    """The chart's spec without its rows: two charts of equal layout differ only in data."""
    bare = chart.copy(deep=False)
    bare.datasets = alt.Undefined
    return bare.to_dict(validate=False)


def layout_key(chart: alt.TopLevelMixin) -> str:
    """A cheap stand-in for ``layout`` for the charts built here, whose layout varies only
    in kind, title (selection, percentile) and note: equal keys, equal layouts (tested)."""

    def plain(value: Any) -> Any:
        return None if value is alt.Undefined else getattr(value, "to_dict", lambda: value)()

    parts = [type(chart).__name__, plain(chart.title), plain(getattr(chart, "mark", alt.Undefined))]
    return json.dumps(parts, sort_keys=True, default=str)


def selection_label(selected: dict[str, Any] | None) -> str:
    """``2048 MB · MC 1`` for a selected configuration (``CONFIG_KEYS`` values), "" for None."""
    if not selected:
        return ""
    return str(_config_label(_frame(pd.DataFrame([selected]), list(CONFIG_KEYS))).iloc[0])


def _of_config(frame: pd.DataFrame, selected: dict[str, Any] | None) -> pd.DataFrame:
    """The rows of ``frame`` that belong to the ``selected`` configuration (all without one)."""
    if not selected or frame.empty:
        return frame
    keep = pd.Series(True, index=frame.index)
    for key in CONFIG_KEYS:
        values = pd.to_numeric(frame[key], errors="coerce")
        want = selected.get(key)
        if key == "provisioned_concurrency":
            values, want = values.fillna(0), want or 0
        keep &= values == want
    return frame.loc[keep]


def _note(waiting: bool) -> str:
    return WAITING_TEXT if waiting else NO_DATA_TEXT


def _waiting(
    title: str, names: tuple[str, ...], width: int, height: int, note: str
) -> tuple[alt.Chart, dict[str, list[dict[str, Any]]]]:
    """A note where a chart's plot goes, for a chart with no rows: no axes, no data domains
    (Vega computes a domain from no rows as infinite, and warns)."""
    chart = (
        alt.Chart(alt.Data(values=[{}]))
        .mark_text(text=note, fontSize=14, color="#666", fontStyle="italic")
        .encode(x=alt.value(width / 2), y=alt.value(height / 2))
        .properties(title=title, width=width, height=height)
    )
    return chart, {name: [] for name in names}


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """JSON-safe rows (NaN as null, numpy scalars as Python numbers)."""
    if frame.empty:
        return []
    # 15 digits: a cost per invocation (~1e-6 USD) keeps its precision
    return json.loads(frame.to_json(orient="records", date_format="iso", double_precision=15))


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
def latency_distribution_data(
    invocations: pd.DataFrame | None, selected: dict[str, Any] | None = None
) -> pd.DataFrame:
    """Histogram rows (memory size x latency bin, share of invocations) of ok warm latencies.

    Stability-phase rows are used when there are any (one request at a time, so memory is
    the only variable); otherwise every phase's. Bins are shared by all memory sizes and
    span the 0.5th to 99.5th percentile, the tails folded into the end bins. With
    ``selected`` (``CONFIG_KEYS`` values), only that configuration's invocations count.
    """
    columns = ["memory_size", "bin_start", "bin_end", "bin_mid", "count", "share"]
    ok = _of_config(_ok_invocations(invocations), selected)
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


def _latency_distribution(
    invocations: pd.DataFrame | None,
    selected: dict[str, Any] | None = None,
    waiting: bool = True,
):
    data = latency_distribution_data(invocations, selected)
    title = "Latency distribution per memory size"
    if selected:
        title = f"Latency distribution of {selection_label(selected)} (selected)"
    if data.empty:
        note = f"No ok warm invocations of {selection_label(selected)}" if selected else None
        note = note or _note(waiting)
        return _waiting(title, DATASET_NAMES["latency_distribution"], WIDTH, HEIGHT, note)
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
        .properties(title=title, width=WIDTH, height=HEIGHT)
    )
    return chart, {"latency_distribution": _records(data)}


def latency_distribution(
    invocations: pd.DataFrame | None,
    selected: dict[str, Any] | None = None,
    *,
    waiting: bool = True,
) -> alt.Chart:
    """Distribution of ok warm latencies per memory size, one step line per size.

    Reads the named dataset ``latency_distribution`` (rows of
    ``latency_distribution_data``); at most 6 x ``HISTOGRAM_BINS`` rows. ``selected``
    keeps one configuration's invocations. With no rows it is a note: waiting for data
    (``waiting``, a run goes on) or no data.
    """
    return _attach(*_latency_distribution(invocations, selected, waiting))


# -- cost against latency -----------------------------------------------------------------
def pareto_frontier(latency: Any, cost: Any) -> np.ndarray:
    """Whether each point is on the Pareto frontier: no other point is at least as fast and
    as cheap and better in one of the two (equal points are on it together)."""
    lat = np.asarray(latency, dtype=float)
    usd = np.asarray(cost, dtype=float)
    no_worse = (lat[None, :] <= lat[:, None]) & (usd[None, :] <= usd[:, None])
    better = (lat[None, :] < lat[:, None]) | (usd[None, :] < usd[:, None])
    return ~(no_worse & better).any(axis=1)


def cost_vs_latency_data(
    costs: pd.DataFrame | None, recommendation: Any = None, percentile: str = "p90"
) -> pd.DataFrame:
    """One row per configuration with figures: cost per 1M, p50/p90, the chosen latency,
    its role, whether it is on the Pareto frontier, and where its label goes (if any)."""
    if percentile not in ("p50", "p90"):
        raise ValueError(f"percentile={percentile!r} is not allowed: 'p50' or 'p90'")
    columns = [
        *CONFIG_KEYS,
        "label",
        "p50_ms",
        "p90_ms",
        "latency_ms",
        "cost_per_1m_usd",
        "monthly_cost_usd",
        "cost_per_invocation_usd",
        "role",
        "pareto",
        "label_text",
        "label_dx",
        "label_dy",
        "label_align",
    ]
    figures = [
        "p50_ms",
        "p90_ms",
        "cost_per_1m_usd",
        "monthly_cost_usd",
        "cost_per_invocation_usd",
    ]
    frame = _frame(costs, [*CONFIG_KEYS, *figures])
    for col in figures:
        frame[col] = pd.to_numeric(frame[col], errors="coerce")
    # a configuration without figures yet (e.g. no ok invocation) has no point to draw
    frame = frame.dropna(subset=["p50_ms", "p90_ms", "cost_per_1m_usd"])
    if frame.empty:
        return pd.DataFrame(columns=columns)
    frame["provisioned_concurrency"] = frame["provisioned_concurrency"].fillna(0)
    frame["label"] = _config_label(frame)
    frame["latency_ms"] = frame[f"{percentile}_ms"]
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
    frame["pareto"] = pareto_frontier(frame["latency_ms"], frame["cost_per_1m_usd"])
    frame = _place_labels(frame.reset_index(drop=True))
    return frame[columns]


LABEL_PLACES = [  # (dx, dy, align) around a point, tried in this order
    (12, -12, "left"),
    (12, 14, "left"),
    (-12, -12, "right"),
    (-12, 14, "right"),
    (0, -20, "center"),
    (0, 22, "center"),
]


def _place_labels(frame: pd.DataFrame) -> pd.DataFrame:
    """Labels for the recommended and runner-up points, each put where it covers the fewest
    points and earlier labels and stays inside the plot (positions estimated in pixels)."""
    frame = frame.assign(label_text="", label_dx=0, label_dy=0, label_align="left")
    x = _pixels(frame["latency_ms"], frame["p50_ms"], frame["p90_ms"], WIDTH, 24)
    y = HEIGHT - _pixels(frame["cost_per_1m_usd"], None, None, HEIGHT, 16)
    placed: list[tuple[float, float, float, float]] = []
    for role in ("recommended", "runner-up"):
        for i in frame.index[frame["role"] == role]:
            text = str(frame.at[i, "label"])
            width = LABEL_CHAR_PX * len(text)
            best = min(
                LABEL_PLACES,
                key=lambda place: _label_cost(
                    _label_box(x[i], y[i], width, *place), i, x, y, placed
                ),
            )
            placed.append(_label_box(x[i], y[i], width, *best))
            frame.loc[i, ["label_text", "label_dx", "label_dy", "label_align"]] = [text, *best]
    return frame


def _pixels(values: pd.Series, low: Any, high: Any, extent: int, padding: int) -> np.ndarray:
    """Where ``values`` fall on an axis of ``extent`` pixels whose domain spans ``low`` to
    ``high`` (default: the values), padded by ``padding`` pixels at each end."""
    v = values.to_numpy(dtype=float)
    lo = float(np.min(v if low is None else low))
    hi = float(np.max(v if high is None else high))
    if not hi > lo:
        return np.full(len(v), extent / 2)
    return padding + (v - lo) / (hi - lo) * (extent - 2 * padding)


def _label_box(
    x: float, y: float, width: float, dx: float, dy: float, align: str
) -> tuple[float, float, float, float]:
    """(left, top, right, bottom) of a label of ``width`` pixels drawn at a point's offset."""
    left = {"left": x + dx, "right": x + dx - width, "center": x + dx - width / 2}[align]
    return left, y + dy - 7, left + width, y + dy + 7


def _label_cost(
    box: tuple[float, float, float, float],
    own: int,
    x: np.ndarray,
    y: np.ndarray,
    placed: list[tuple[float, float, float, float]],
) -> float:
    """How bad a label box is: points it covers (its own point worst), labels it overlaps,
    and how far it leaves the plot."""
    left, top, right, bottom = box
    near_x = np.clip(x, left, right)
    near_y = np.clip(y, top, bottom)
    covered = np.hypot(x - near_x, y - near_y) < POINT_RADIUS_PX
    cost = float(covered.sum()) + 10.0 * bool(covered[own])
    cost += 2.0 * sum(
        left < x1 and x0 < right and top < y1 and y0 < bottom for x0, y0, x1, y1 in placed
    )
    outside = max(0.0, -left) + max(0.0, right - WIDTH) + max(0.0, -top) + max(0.0, bottom - HEIGHT)
    return cost + outside / 10.0


def _cost_vs_latency(
    costs: pd.DataFrame | None,
    recommendation: Any = None,
    percentile: str = "p90",
    waiting: bool = True,
):
    data = cost_vs_latency_data(costs, recommendation, percentile)
    title = f"Cost per 1M invocations against {percentile} latency"
    if data.empty:
        return _waiting(title, DATASET_NAMES["cost_vs_latency"], WIDTH, HEIGHT, _note(waiting))
    base = alt.Chart(alt.NamedData(name="cost_vs_latency"))
    tooltip = [
        alt.Tooltip("label:N", title="configuration"),
        alt.Tooltip("p50_ms:Q", title="p50 (ms)", format=".1f"),
        alt.Tooltip("p90_ms:Q", title="p90 (ms)", format=".1f"),
        alt.Tooltip("cost_per_1m_usd:Q", title="USD per 1M", format="$.2f"),
        alt.Tooltip("monthly_cost_usd:Q", title="USD per month", format="$.2f"),
        alt.Tooltip("role:N", title="role"),
        alt.Tooltip("pareto:N", title="on the Pareto frontier"),
    ]
    x = alt.X("latency_ms:Q")
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
    frontier = (
        alt.Chart(alt.NamedData(name="cost_frontier"))
        .mark_line(color="#555", strokeDash=[5, 4], strokeWidth=1.5)
        .encode(x=x, y=y, order=alt.Order("latency_ms:Q"))
    )
    pick = alt.selection_point(
        name=PICK, fields=list(CONFIG_KEYS), on="click", clear="dblclick", toggle=False
    )
    picked = alt.when(pick, empty=False)
    points = (
        base.mark_point(filled=True, opacity=0.9, cursor="pointer")
        .encode(
            x=x,
            y=y,
            color=_MEMORY_COLOUR,
            shape=alt.Shape(
                "role:N",
                scale=alt.Scale(domain=ROLE_ORDER, range=["diamond", "square", "circle"]),
                title="role",
            ),
            size=alt.when(alt.datum.role == "recommended")
            .then(alt.value(260))
            .when(alt.datum.role == "runner-up")
            .then(alt.value(140))
            .otherwise(alt.value(70)),
            stroke=picked.then(alt.value("#111")).otherwise(alt.value(None)),
            strokeWidth=picked.then(alt.value(3)).otherwise(alt.value(0)),
            tooltip=tooltip,
        )
        .add_params(pick)
        .properties(name="cost_points")  # a stable view name: the layout stays the same
    )
    labels = base.mark_text(
        fontWeight="bold",
        baseline="middle",
        dx=alt.ExprRef("datum.label_dx"),
        dy=alt.ExprRef("datum.label_dy"),
        align=alt.ExprRef("datum.label_align"),
    ).encode(x=x, y=y, text="label_text:N")
    chart = alt.layer(spread, frontier, points, labels).properties(
        title=alt.Title(
            title,
            subtitle="dashed: Pareto frontier · click a point to compare it",
        ),
        width=WIDTH,
        height=HEIGHT,
    )
    frontier_rows = data.loc[data["pareto"].astype(bool)].sort_values("latency_ms")
    return chart, {"cost_vs_latency": _records(data), "cost_frontier": _records(frontier_rows)}


def cost_vs_latency(
    costs: pd.DataFrame | None,
    recommendation: Any = None,
    percentile: str = "p90",
    *,
    waiting: bool = True,
) -> alt.LayerChart:
    """Cost per 1M invocations against latency per configuration: the recommendation and
    runner-up labelled, the Pareto frontier dashed, a click selects a point (``PICK``).

    Reads the named datasets ``cost_vs_latency`` (rows of ``cost_vs_latency_data``: one per
    configuration, its ``role`` is ``recommended``, ``runner-up`` or ``other``) and
    ``cost_frontier`` (its rows on the frontier, by latency); with no rows, a note (see
    ``latency_distribution``).
    """
    return _attach(*_cost_vs_latency(costs, recommendation, percentile, waiting))


# -- concurrency --------------------------------------------------------------------------
def concurrency_data(concurrency_summary: pd.DataFrame | None) -> pd.DataFrame:
    """Concurrency-phase summary rows with the throttled share, ordered by clients.

    ``throughput_rps`` is the steady-state figure (instances warm), ``throughput_all_rps``
    the whole load's, cold starts included (see ``analysis.stats.summarize``).
    """
    columns = [
        "memory_size",
        "max_concurrency",
        "provisioned_concurrency",
        "clients",
        "count",
        "throughput_rps",
        "throughput_all_rps",
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
    frame = frame.loc[pd.to_numeric(frame["clients"], errors="coerce").notna()]
    return frame[columns].sort_values(["max_concurrency", "clients"]).reset_index(drop=True)


def _concurrency_chart(concurrency_summary: pd.DataFrame | None, waiting: bool = True):
    data = concurrency_data(concurrency_summary)
    title = "Concurrency: steady-state throughput, p90 and throttles against clients"
    if data.empty:
        width = 3 * (WIDTH // 2 + 40) + 2 * 20
        return _waiting(title, DATASET_NAMES["concurrency_chart"], width, HEIGHT, _note(waiting))
    base = alt.Chart(alt.NamedData(name="concurrency"))
    x = alt.X("clients:Q", title="concurrent clients")
    colour = alt.Color("max_concurrency:O", title="max concurrency")
    tooltip = [
        alt.Tooltip("max_concurrency:O", title="max concurrency"),
        alt.Tooltip("clients:Q", title="clients"),
        alt.Tooltip("count:Q", title="invocations"),
        alt.Tooltip("throughput_rps:Q", title="throughput, warm (req/s)", format=".2f"),
        alt.Tooltip("throughput_all_rps:Q", title="with cold starts (req/s)", format=".2f"),
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
        panel("throughput_rps", "steady throughput (ok req/s)"),
        panel("p90_ms", "p90 latency (ms)"),
        panel("throttled_share", "throttled share", "%"),
    ).properties(title=title)
    return chart, {"concurrency": _records(data)}


def concurrency_chart(
    concurrency_summary: pd.DataFrame | None, *, waiting: bool = True
) -> alt.HConcatChart:
    """Steady-state throughput, p90 latency and throttled share against clients, per max
    concurrency.

    Reads the named dataset ``concurrency`` (rows of ``concurrency_data``); with no rows,
    a note (see ``latency_distribution``).
    """
    return _attach(*_concurrency_chart(concurrency_summary, waiting))


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


def _cold_vs_warm(invocations: pd.DataFrame | None, waiting: bool = True):
    data = cold_vs_warm_data(invocations)
    title = "Cold against warm latency per configuration"
    if data.empty:
        return _waiting(title, DATASET_NAMES["cold_vs_warm"], WIDTH, HEIGHT, _note(waiting))
    base = alt.Chart(alt.NamedData(name="cold_vs_warm"))
    kind_colour = alt.Color(
        "kind:N",
        title="start",
        scale=alt.Scale(domain=["cold", "warm"], range=["#e45756", "#4c78a8"]),
    )
    # min: the one sort op a domain shared by two layers may use
    x = alt.X(
        "label:N",
        title="configuration",
        sort=alt.EncodingSortField("memory_size", op="min"),
    )
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
    chart = alt.layer(bars, ticks).properties(title=title, width=WIDTH, height=HEIGHT)
    return chart, {"cold_vs_warm": _records(data)}


def cold_vs_warm(invocations: pd.DataFrame | None, *, waiting: bool = True) -> alt.LayerChart:
    """Median (bar) and maximum (tick) latency of cold and warm invocations per configuration.

    Reads the named dataset ``cold_vs_warm`` (rows of ``cold_vs_warm_data``); with no
    rows, a note (see ``latency_distribution``).
    """
    return _attach(*_cold_vs_warm(invocations, waiting))


# -- throttle check -----------------------------------------------------------------------
THROTTLE_CHECK_DATASET = "throttle_check"
"""The throttle chart's dataset: not in ``DATASET_NAMES`` (no live view updates it; it is
drawn once a traffic-aware run's open-loop trials ended)."""


def throttle_check_data(check: pd.DataFrame | None) -> pd.DataFrame:
    """Rows of ``BenchmarkResult.throttle_check`` with the measured share's 95% interval
    (1.96 standard errors, clipped to 0..1) and a label per trial, by MaxConcurrency."""
    columns = [
        "label",
        "max_concurrency",
        "requests",
        "rate_rps",
        "predicted_throttle_share",
        "measured_throttle_share",
        "low",
        "high",
    ]
    frame = _frame(check, [*columns[1:], "memory_size", "standard_error"])
    predicted = pd.to_numeric(frame["predicted_throttle_share"], errors="coerce")
    frame = frame.loc[predicted.notna()]
    if frame.empty:
        return pd.DataFrame(columns=columns)
    measured = pd.to_numeric(frame["measured_throttle_share"], errors="coerce")
    spread = 1.96 * pd.to_numeric(frame["standard_error"], errors="coerce").fillna(0.0)
    frame = frame.assign(
        low=(measured - spread).clip(lower=0.0),
        high=(measured + spread).clip(upper=1.0),
        label=[
            f"{_int_text(m)} MB · MC {_int_text(c)}"
            for m, c in zip(frame["memory_size"], frame["max_concurrency"], strict=True)
        ],
    )
    return frame[columns].sort_values("max_concurrency").reset_index(drop=True)


def _throttle_check_chart(check: pd.DataFrame | None, waiting: bool = True):
    data = throttle_check_data(check)
    title = "Throttling at your peak: Erlang-B against the open-loop trials"
    if data.empty:
        return _waiting(title, (THROTTLE_CHECK_DATASET,), WIDTH, HEIGHT, _note(waiting))
    base = alt.Chart(alt.NamedData(name=THROTTLE_CHECK_DATASET))
    x = alt.X("label:N", title="open-loop trial", sort=alt.SortField("max_concurrency"))
    share = alt.Axis(format="%")
    tooltip = [
        alt.Tooltip("label:N", title="trial"),
        alt.Tooltip("requests:Q", title="requests"),
        alt.Tooltip("rate_rps:Q", title="arrivals (req/s)", format=".2f"),
        alt.Tooltip("predicted_throttle_share:Q", title="Erlang-B", format=".2%"),
        alt.Tooltip("measured_throttle_share:Q", title="measured", format=".2%"),
        alt.Tooltip("low:Q", title="measured, 95% from", format=".2%"),
        alt.Tooltip("high:Q", title="measured, 95% to", format=".2%"),
    ]
    interval = base.mark_rule(strokeWidth=2, color="#4c78a8").encode(
        x=x, y=alt.Y("low:Q", title="throttled share", axis=share), y2="high:Q", tooltip=tooltip
    )
    measured = base.mark_point(filled=True, size=80, color="#4c78a8").encode(
        x=x, y="measured_throttle_share:Q", tooltip=tooltip
    )
    predicted = base.mark_tick(thickness=3, size=28, color="#e45756").encode(
        x=x, y="predicted_throttle_share:Q", tooltip=tooltip
    )
    chart = alt.layer(interval, measured, predicted).properties(
        title=alt.TitleParams(
            title, subtitle="dot and bar: measured with its 95% interval; red tick: Erlang-B"
        ),
        width=WIDTH,
        height=HEIGHT,
    )
    return chart, {THROTTLE_CHECK_DATASET: _records(data)}


def throttle_check_chart(check: pd.DataFrame | None, *, waiting: bool = True) -> alt.LayerChart:
    """Erlang-B's predicted throttle share (tick) beside the measured share and its 95%
    interval, per open-loop trial (``BenchmarkResult.throttle_check``): the traffic
    model checked against data. Reads the named dataset ``throttle_check``; with no
    rows, a note (see ``latency_distribution``)."""
    return _attach(*_throttle_check_chart(check, waiting))


# -- timeline -----------------------------------------------------------------------------
def timeline_data(
    invocations: pd.DataFrame | None, selected: dict[str, Any] | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Bounded timeline rows: (sampled points, counts per time bucket and outcome).

    Points: at most ``MAX_TIMELINE_POINTS`` invocations (cold starts first, then failures
    and ok ones, see ``_sample_points``), ``t_s`` in seconds since the run's first request.
    Counts: at most ``TIMELINE_BUCKETS`` equal buckets x outcomes. With ``selected``
    (``CONFIG_KEYS`` values), only that configuration's invocations, on the run's clock.
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
    nothing = pd.DataFrame(columns=point_cols), pd.DataFrame(columns=count_cols)
    frame = _frame(invocations, INVOCATION_COLUMNS)
    if frame.empty:
        return nothing
    frame["start"] = pd.to_numeric(frame["start"], errors="coerce")
    frame = frame.dropna(subset=["start"])
    if frame.empty:
        return nothing
    origin = frame["start"].min()
    frame = _of_config(frame, selected)
    if frame.empty:
        return nothing
    frame["t_s"] = frame["start"] - origin
    frame["cold"] = frame["cold"].fillna(False).astype(bool)
    frame["latency_ms"] = pd.to_numeric(frame["latency_ms"], errors="coerce")

    points = _sample_points(frame.dropna(subset=["latency_ms"]), MAX_TIMELINE_POINTS)
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


def _timeline(
    invocations: pd.DataFrame | None,
    selected: dict[str, Any] | None = None,
    waiting: bool = True,
):
    points, counts = timeline_data(invocations, selected)
    title = "Invocations over time"
    if selected:
        title = f"Invocations of {selection_label(selected)} over time (selected)"
    scatter_height, bars_height = HEIGHT - 40, 90
    if points.empty or counts.empty:
        note = f"No invocations of {selection_label(selected)}" if selected else _note(waiting)
        width, height = 2 * WIDTH + 60, scatter_height + bars_height + 20
        return _waiting(title, DATASET_NAMES["timeline"], width, height, note)
    outcome_colour = alt.Color(
        "outcome:N", title="outcome", scale=alt.Scale(domain=list(OUTCOMES), range=OUTCOME_COLOURS)
    )
    seconds = "seconds since the first request"
    scatter = (
        alt.Chart(alt.NamedData(name="timeline_points"))
        .mark_point(filled=True, size=30, opacity=0.6)
        .encode(
            # from 0: the run's first request (padding would stretch the axis below it)
            x=alt.X("t_s:Q", title=seconds, scale=alt.Scale(zero=True)),
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
        .properties(width=2 * WIDTH + 60, height=scatter_height)
    )
    bars = (
        alt.Chart(alt.NamedData(name="timeline_counts"))
        .mark_bar()
        .encode(
            x=alt.X(
                "bucket_start_s:Q",
                bin=alt.Bin(binned=True),
                title=seconds,
                scale=alt.Scale(zero=True),
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
        .properties(width=2 * WIDTH + 60, height=bars_height)
    )
    chart = alt.vconcat(scatter, bars).resolve_scale(x="shared").properties(title=title)
    return chart, {"timeline_points": _records(points), "timeline_counts": _records(counts)}


def timeline(
    invocations: pd.DataFrame | None,
    selected: dict[str, Any] | None = None,
    *,
    waiting: bool = True,
) -> alt.VConcatChart:
    """Invocations over time: sampled latencies and stacked counts, coloured by outcome.

    Reads the named datasets ``timeline_points`` and ``timeline_counts`` (the two frames of
    ``timeline_data``), bounded whatever the number of invocations; the time axis starts
    at the run's first request. ``selected`` keeps one configuration's invocations; with
    no rows it is a note (see ``latency_distribution``).
    """
    return _attach(*_timeline(invocations, selected, waiting))


# -- all together -------------------------------------------------------------------------
def dashboard(result: Any) -> alt.VConcatChart:
    """Every chart of a ``BenchmarkResult`` in one composition (for the report and notebooks).

    Reads the union of ``DATASET_NAMES``'s datasets; colour scales stay per chart. An
    empty chart waits for data while the result's run goes on, else says it has none.
    """
    invocations = result.invocations
    waiting = getattr(result, "status", "") == "running"
    parts = [
        _latency_distribution(invocations, None, waiting),
        _cold_vs_warm(invocations, waiting),
        _cost_vs_latency(result.costs, result.recommendation, "p90", waiting),
        _concurrency_chart(result.concurrency, waiting),
        _timeline(invocations, None, waiting),
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
