"""Charts: valid specs on empty, one-row and typical frames; named datasets; bounded rows."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest
import vl_convert

from sm_bench_widgets import charts
from sm_bench_widgets.analysis.recommend import Recommendation
from sm_bench_widgets.config import BenchmarkConfig
from sm_bench_widgets.result import BenchmarkResult
from sm_bench_widgets.schema import COST_COLUMNS, SUMMARY_COLUMNS
from tests.rows import invocation_frame, invocation_row


def invocations(n_per_trial: int = 60, seed: int = 7) -> pd.DataFrame:
    """Stability trials at 1024 and 2048 MB (a cold probe first, every 10th a model error)."""
    rng = np.random.default_rng(seed)
    rows, t = [], 1_764_000_000.0
    for memory, centre in ((1024, 100.0), (2048, 50.0)):
        for k in range(n_per_trial):
            cold = k == 0
            latency = 700.0 if cold else float(rng.normal(centre, centre / 10))
            outcome = "model_error" if k % 10 == 9 else "ok"
            rows.append(
                invocation_row(
                    f"s{memory}",
                    latency,
                    start=t,
                    phase="cold_start" if cold else "stability",
                    memory_size=memory,
                    outcome=outcome,
                    cold=cold,
                    run_id="r",
                    endpoint_name=f"ep{memory}",
                    bytes_in=10,
                    bytes_out=10,
                )
            )
            t += latency / 1000
    return invocation_frame(rows)


def costs() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "memory_size": [1024, 2048, 2048],
            "max_concurrency": [1, 1, 4],
            "provisioned_concurrency": [0, 0, 0],
            "p50_ms": [100.0, 50.0, 55.0],
            "p90_ms": [120.0, 60.0, 70.0],
            "compute_per_invocation_usd": 1e-6,
            "data_per_invocation_usd": 1e-9,
            "cost_per_invocation_usd": [2e-6, 2.1e-6, 2.2e-6],
            "cost_per_1m_usd": [2.0, 2.1, 2.2],
            "provisioned_per_month_usd": 0.0,
            "monthly_cost_usd": [2.0, 2.1, 2.2],
        },
        columns=COST_COLUMNS,
    )


def concurrency_summary() -> pd.DataFrame:
    rows = []
    for mc, clients, count, throttles in ((2, 2, 40, 0), (2, 4, 40, 10), (4, 4, 40, 0)):
        row = dict.fromkeys(SUMMARY_COLUMNS, 0)
        row.update(
            trial_id=f"c{mc}-{clients}",
            phase="concurrency",
            memory_size=2048,
            max_concurrency=mc,
            clients=clients,
            count=count,
            throttle_count=throttles,
            ok_count=count - throttles,
            p50_ms=50.0,
            p90_ms=60.0 + clients,
            throughput_rps=20.0 * min(mc, clients),
            stop_reason="",
        )
        rows.append(row)
    stability = dict(rows[0], trial_id="s", phase="stability", max_concurrency=1, clients=1)
    return pd.DataFrame([*rows, stability], columns=SUMMARY_COLUMNS)


def recommendation(memory=2048, mc=1, runner_up=None) -> Recommendation:
    return Recommendation(memory, mc, 0, 50.0, 60.0, 70.0, 2.1, "balanced", "rule", [], runner_up)


FRAME_CHARTS = {
    "latency_distribution": (charts.latency_distribution, invocations),
    "cold_vs_warm": (charts.cold_vs_warm, invocations),
    "timeline": (charts.timeline, invocations),
    "cost_vs_latency": (charts.cost_vs_latency, costs),
    "concurrency_chart": (charts.concurrency_chart, concurrency_summary),
}


def _variants(make):
    typical = make()
    return {
        "none": None,
        "no_columns": pd.DataFrame(),
        "empty": typical.iloc[0:0],
        "one_row": typical.iloc[1:2],  # the first invocation is a cold probe
        "typical": typical,
    }


EMPTY_VARIANTS = ("none", "no_columns", "empty")


@pytest.mark.parametrize("name", list(FRAME_CHARTS))
def test_chart_specs_validate_and_keep_encodings(name):
    build, make = FRAME_CHARTS[name]
    layouts = {}
    for variant, frame in _variants(make).items():
        chart = build(frame)
        spec = chart.to_dict()  # validates against the Vega-Lite schema
        assert set(spec["datasets"]) == set(charts.DATASET_NAMES[name]), variant
        layouts[variant] = {k: v for k, v in spec.items() if k != "datasets"}
        assert charts.layout(chart) == layouts[variant], variant
    # With rows, only the data differs: a live view swaps datasets without re-embedding.
    assert layouts["one_row"] == layouts["typical"]
    # Without rows, one waiting layout, whatever the shape of the empty input.
    assert all(layouts[v] == layouts["none"] for v in EMPTY_VARIANTS)
    assert layouts["none"] != layouts["typical"]


def test_layout_keys_tell_layouts_apart():
    built = []
    for build, make in FRAME_CHARTS.values():
        for frame in _variants(make).values():
            built += [build(frame), build(frame, waiting=False)]
    frame = invocations()
    for pick in ({"memory_size": 2048, "max_concurrency": 1}, {"memory_size": 8192}):
        pick = {"max_concurrency": 1, "provisioned_concurrency": 0, **pick}
        built += [charts.timeline(frame, pick), charts.latency_distribution(frame, pick)]
    built += [charts.cost_vs_latency(costs(), percentile="p50")]
    keys = [charts.layout_key(chart) for chart in built]
    layouts = [json.dumps(charts.layout(chart), sort_keys=True) for chart in built]
    for i in range(len(built)):
        for j in range(len(built)):
            assert (keys[i] == keys[j]) == (layouts[i] == layouts[j]), (i, j)


def _data_domains(vega: dict) -> list[str]:
    """Names of the compiled Vega scales whose domain Vega computes from data."""
    scales = list(vega.get("scales", []))
    stack = list(vega.get("marks", []))
    while stack:
        mark = stack.pop()
        scales += mark.get("scales", [])
        stack += mark.get("marks", [])
    return [
        s["name"]
        for s in scales
        if isinstance(s.get("domain"), dict) and ("data" in s["domain"] or "fields" in s["domain"])
    ]


@pytest.mark.parametrize("name", list(FRAME_CHARTS))
def test_empty_charts_show_a_waiting_note_and_no_data_domain(name):
    build, make = FRAME_CHARTS[name]
    for variant, frame in _variants(make).items():
        if variant not in EMPTY_VARIANTS:
            continue
        spec = build(frame).to_dict()
        assert all(rows == [] for rows in spec["datasets"].values())
        vega = vl_convert.vegalite_to_vega(spec)
        # Vega warns "Infinite extent" for a domain computed from no rows: there is none.
        assert _data_domains(vega) == [], variant
        svg = vl_convert.vegalite_to_svg(spec)
        assert charts.WAITING_TEXT in svg and "role-axis" not in svg, variant
    # With rows, the chart has axes and no note.
    svg = vl_convert.vegalite_to_svg(build(make()).to_dict())
    assert charts.WAITING_TEXT not in svg and "role-axis" in svg


@pytest.mark.parametrize("name", list(FRAME_CHARTS))
def test_an_empty_chart_after_its_run_says_it_has_no_data(name):
    build, _ = FRAME_CHARTS[name]
    text = json.dumps(build(None, waiting=False).to_dict(), ensure_ascii=False)
    assert charts.NO_DATA_TEXT in text and charts.WAITING_TEXT not in text
    assert charts.layout(build(None, waiting=False)) != charts.layout(build(None))


def test_dashboard_of_a_finished_result_has_no_waiting_note():
    config = BenchmarkConfig(model_name="m", memory_sizes=[1024, 2048])
    text = json.dumps(
        charts.dashboard(BenchmarkResult(config, invocations())).to_dict(), ensure_ascii=False
    )
    assert charts.NO_DATA_TEXT in text  # no concurrency trials
    assert charts.WAITING_TEXT not in text


def test_rows_without_figures_are_no_points():
    partial = costs()
    partial.loc[:, "p90_ms"] = np.nan
    assert charts.cost_vs_latency_data(partial).empty
    assert charts.WAITING_TEXT in json.dumps(
        charts.cost_vs_latency(partial).to_dict(), ensure_ascii=False
    )


@pytest.mark.parametrize("name", list(FRAME_CHARTS))
def test_dataset_names_are_root_data_of_the_compiled_vega(name):
    build, make = FRAME_CHARTS[name]
    vega = vl_convert.vegalite_to_vega(build(make()).to_dict())
    roots = {d["name"] for d in vega["data"] if "source" not in d}
    assert set(charts.DATASET_NAMES[name]) <= roots


def test_typical_charts_render_to_svg():
    for name, (build, make) in FRAME_CHARTS.items():
        svg = vl_convert.vegalite_to_svg(build(make()).to_dict())
        assert svg.startswith("<svg") and "<path" in svg, name


def test_latency_distribution_uses_ok_warm_rows():
    data = charts.latency_distribution_data(invocations())
    assert set(data["memory_size"]) == {1024, 2048}
    assert len(data) == 2 * charts.HISTOGRAM_BINS
    per_memory = data.groupby("memory_size")
    np.testing.assert_allclose(per_memory["share"].sum(), [1.0, 1.0])
    # 60 rows per size: 1 cold probe and 6 model errors are left out.
    assert per_memory["count"].sum().tolist() == [53, 53]
    assert data["bin_end"].max() < 700  # the cold start is not in the distribution


def test_cost_vs_latency_marks_recommendation_and_runner_up():
    rec = recommendation(2048, 1, runner_up=recommendation(1024, 1))
    data = charts.cost_vs_latency_data(costs(), rec, percentile="p50")
    roles = dict(zip(data["label"], data["role"], strict=True))
    assert roles == {
        "1024 MB · MC 1": "runner-up",
        "2048 MB · MC 1": "recommended",
        "2048 MB · MC 4": "other",
    }
    assert data["latency_ms"].tolist() == [100.0, 50.0, 55.0]
    with pytest.raises(ValueError, match="p50"):
        charts.cost_vs_latency(costs(), percentile="p99")


def test_pareto_frontier_is_marked_and_drawn():
    frame = costs().iloc[[0, 0, 0, 0, 0, 0]].reset_index(drop=True)
    frame["memory_size"] = [1024, 2048, 3072, 4096, 5120, 6144]
    # (p90, cost): 6144 ties 2048; 3072 is beaten by 2048; 1024 by 5120 on both
    frame["p90_ms"] = [80.0, 60.0, 70.0, 120.0, 50.0, 60.0]
    frame["p50_ms"] = frame["p90_ms"] - 5
    frame["cost_per_1m_usd"] = [3.5, 2.0, 2.5, 1.5, 3.0, 2.0]
    data = charts.cost_vs_latency_data(frame)
    pareto = dict(zip(data["memory_size"], data["pareto"], strict=True))
    assert pareto == {1024: False, 2048: True, 3072: False, 4096: True, 5120: True, 6144: True}

    chart = charts.cost_vs_latency(frame)
    frontier = charts.named_datasets(chart)["cost_frontier"]
    assert [r["memory_size"] for r in frontier] in (
        [5120, 2048, 6144, 4096],
        [5120, 6144, 2048, 4096],
    )
    assert [r["latency_ms"] for r in frontier] == sorted(r["latency_ms"] for r in frontier)
    spec = chart.to_dict()
    lines = [
        layer
        for layer in spec["layer"]
        if layer.get("data", {}).get("name") == "cost_frontier"
        and (layer["mark"] == "line" or layer["mark"].get("type") == "line")
    ]
    assert len(lines) == 1
    # a click selects one configuration, by the columns that name it
    (param,) = spec["params"]
    assert param["name"] == charts.PICK
    assert param["select"]["fields"] == list(charts.CONFIG_KEYS)
    assert param["select"]["on"] == "click"


def _translate(element: str) -> tuple[float, float]:
    x, y = re.search(r'transform="translate\(([-\d.e]+),([-\d.e]+)\)"', element).groups()
    return float(x), float(y)


def test_cost_labels_do_not_sit_on_points():
    crowded = costs().iloc[[0] * 6].reset_index(drop=True)
    crowded["memory_size"] = [1024, 2048, 3072, 4096, 5120, 6144]
    crowded["p90_ms"] = [100.0, 96.0, 92.0, 90.0, 88.0, 60.0]
    crowded["p50_ms"] = crowded["p90_ms"] - 3
    crowded["cost_per_1m_usd"] = [2.00, 2.02, 2.05, 2.06, 2.08, 3.0]
    rec = recommendation(3072, 1, runner_up=recommendation(4096, 1))
    svg = vl_convert.vegalite_to_svg(charts.cost_vs_latency(crowded, rec).to_dict())
    points_group = re.search(r'class="mark-symbol role-mark cost_points_marks".*?</g>', svg).group(
        0
    )
    points = [_translate(p) for p in re.findall(r"<path [^>]*>", points_group)]
    assert len(points) == 6
    labels = []
    labels_group = re.search(r'class="mark-text role-mark [^"]*".*?</g>', svg).group(0)
    for attrs, text in re.findall(r"<text ([^>]*)>([^<]+)</text>", labels_group):
        x, y = _translate(attrs)
        width = charts.LABEL_CHAR_PX * len(text)
        anchor = re.search(r'text-anchor="(\w+)"', attrs).group(1)
        left = {"start": x, "end": x - width, "middle": x - width / 2}[anchor]
        labels.append((text, (left, y - 9, left + width, y + 3)))
    assert sorted(t for t, _ in labels) == ["3072 MB · MC 1", "4096 MB · MC 1"]
    for text, (left, top, right, bottom) in labels:
        on = [p for p in points if left - 3 < p[0] < right + 3 and top - 3 < p[1] < bottom + 3]
        assert on == [], f"label {text!r} sits on points {on}"
    (_, a), (_, b) = labels
    assert not (a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]), "labels overlap"


def test_timeline_time_axis_starts_at_zero():
    spec = charts.timeline(invocations()).to_dict()
    for view in spec["vconcat"]:
        scale = view["encoding"]["x"]["scale"]
        assert scale.get("zero") is True and "padding" not in scale
    svg = vl_convert.vegalite_to_svg(spec)
    for group in re.findall(r'class="mark-text role-axis-label".*?</g>', svg):
        ticks = re.findall(r">([^<]+)</text>", group)
        if "." in ticks[0]:  # the two time axes (latency and counts are whole numbers)
            assert float(ticks[0]) == 0.0, ticks


def test_a_selected_configuration_filters_distribution_and_timeline():
    frame = invocations()
    selected = {"memory_size": 2048, "max_concurrency": 1, "provisioned_concurrency": 0}
    dist = charts.latency_distribution_data(frame, selected)
    assert set(dist["memory_size"]) == {2048}
    points, counts = charts.timeline_data(frame, selected)
    assert set(points["memory_size"]) == {2048}
    assert counts["count"].sum() == (frame["memory_size"] == 2048).sum()
    # on the run's clock: the selected trial started after the first one
    assert points["t_s"].min() > 5
    chart = charts.timeline(frame, selected)
    assert "2048 MB · MC 1" in json.dumps(chart.to_dict()["title"], ensure_ascii=False)
    none = dict(selected, memory_size=8192)
    assert charts.WAITING_TEXT not in json.dumps(
        charts.timeline(frame, none).to_dict(), ensure_ascii=False
    )
    assert "No invocations of 8192 MB · MC 1" in json.dumps(
        charts.timeline(frame, none).to_dict(), ensure_ascii=False
    )
    assert charts.selection_label(selected) == "2048 MB · MC 1"


def test_concurrency_data_keeps_concurrency_phase_with_throttled_share():
    data = charts.concurrency_data(concurrency_summary())
    assert len(data) == 3
    assert data["throttled_share"].tolist() == [0.0, 0.25, 0.0]


def test_cold_vs_warm_medians():
    data = charts.cold_vs_warm_data(invocations()).set_index(["memory_size", "kind"])
    assert data.loc[(1024, "cold"), "p50_ms"] == 700.0
    assert data.loc[(1024, "cold"), "count"] == 1
    assert data.loc[(2048, "warm"), "count"] == 53
    assert data.loc[(2048, "warm"), "p50_ms"] == pytest.approx(50, rel=0.1)


def test_timeline_rows_are_bounded_and_keep_notable_invocations():
    big = pd.concat([invocations(n_per_trial=50_000)], ignore_index=True)
    assert len(big) == 100_000
    chart = charts.timeline(big)
    data = charts.named_datasets(chart)
    assert len(data["timeline_points"]) <= charts.MAX_TIMELINE_POINTS
    assert len(data["timeline_counts"]) <= charts.TIMELINE_BUCKETS * 5
    points = pd.DataFrame(data["timeline_points"])
    assert points["cold"].sum() == 2  # both cold probes survive the sampling
    outcomes = points["outcome"].value_counts()
    assert outcomes["ok"] >= 900 and outcomes["model_error"] >= 900  # neither crowds out
    counts = pd.DataFrame(data["timeline_counts"])
    assert counts["count"].sum() == len(big)
    assert len(chart.to_json()) < 1_000_000


def test_dashboard_holds_every_dataset():
    config = BenchmarkConfig(model_name="m", memory_sizes=[1024, 2048])
    result = BenchmarkResult(config, invocations())
    spec = charts.dashboard(result).to_dict()
    expected = {name for names in charts.DATASET_NAMES.values() for name in names}
    assert set(spec["datasets"]) == expected
    assert spec["datasets"]["cost_vs_latency"]
    empty = charts.dashboard(BenchmarkResult(config, None)).to_dict()
    assert set(empty["datasets"]) == expected


def test_enable_offline_inlines_vega_for_static_and_live_charts():
    import altair as alt

    from sm_bench_widgets.adapters import altair_jupyter
    from sm_bench_widgets.charts import enable_offline

    active, options = alt.renderers.active, dict(alt.renderers.options)
    try:
        alt.renderers.enable("default")
        assert enable_offline() is True
        assert alt.renderers.active == "jupyter" and alt.renderers.options == {"offline": True}
        assert altair_jupyter.is_offline()
    finally:
        alt.renderers.enable(active, **options)
