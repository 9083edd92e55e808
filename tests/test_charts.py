"""Charts: valid specs on empty, one-row and typical frames; named datasets; bounded rows."""

from __future__ import annotations

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
        "one_row": typical.iloc[:1],
        "typical": typical,
    }


@pytest.mark.parametrize("name", list(FRAME_CHARTS))
def test_chart_specs_validate_and_keep_encodings(name):
    build, make = FRAME_CHARTS[name]
    specs = {}
    for variant, frame in _variants(make).items():
        spec = build(frame).to_dict()  # validates against the Vega-Lite schema
        assert set(spec["datasets"]) == set(charts.DATASET_NAMES[name]), variant
        specs[variant] = {k: v for k, v in spec.items() if k != "datasets"}
    # Only the data differs: a live view can swap datasets without re-embedding.
    assert all(s == specs["typical"] for s in specs.values())


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
