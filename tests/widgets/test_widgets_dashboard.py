"""Live dashboard, what-if re-ranking and showing a saved result, on constructed data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sm_bench_widgets.adapters import altair_jupyter
from sm_bench_widgets.config import BenchmarkConfig
from sm_bench_widgets.engine import events as ev
from sm_bench_widgets.engine.plan import plan_stability
from sm_bench_widgets.result import BenchmarkResult
from sm_bench_widgets.widgets.dashboard import Dashboard
from sm_bench_widgets.widgets.live import EventBuffer, Refresher
from tests.rows import invocation_frame, invocation_row
from tests.waiting import wait_until


def _rows(memory: int, latency_ms: float, n: int, t0: float = 1000.0, seed: int = 0):
    rng = np.random.default_rng(seed)
    rows = []
    t = t0
    for i in range(n):
        lat = float(latency_ms * rng.lognormal(0, 0.05))
        rows.append(
            invocation_row(
                f"stability-m{memory}",
                lat,
                start=t,
                memory_size=memory,
                cold=i == 0,
                run_id="r",
                endpoint_name=f"e-{memory}",
                bytes_in=10,
                bytes_out=10,
            )
        )
        t += lat / 1000
    return rows


def _split_result(tmp_path) -> BenchmarkResult:
    """1024 MB slow but cheapest; 6144 MB fastest but dearest: cost and speed disagree."""
    config = BenchmarkConfig(
        model_name="m",
        memory_sizes=[1024, 6144],
        include_concurrency_benchmark=False,
        result_save_path=str(tmp_path),
    )
    rows = _rows(1024, 100.0, 80) + _rows(6144, 25.0, 80, seed=1)
    frame = invocation_frame(rows)
    return BenchmarkResult(
        config, frame, run_id="whatif", run_dir=tmp_path / "whatif", emulated=True
    )


def test_dashboard_rows_reach_the_chart_data_after_a_refresh():
    dashboard = Dashboard()
    buffer = EventBuffer()

    def apply(events):
        for event in events:
            dashboard.add_rows(event.rows)
        dashboard.refresh_invocations()

    refresher = Refresher(buffer, apply, on_error=pytest.fail, interval=0.05)
    refresher.start()
    try:
        buffer.put(ev.InvocationBatch("stability-m1024", _rows(1024, 50.0, 30)))
        buffer.put(ev.InvocationBatch("stability-m1024", _rows(1024, 50.0, 30, t0=2000)))
        timeline = dashboard.charts["timeline"]
        wait_until(
            lambda: dashboard.row_count >= 60 and timeline.datasets()["timeline_points"],
            30,
            "the refresher did not apply the events",
        )
        refresher.flush()
        points = timeline.datasets()["timeline_points"]
        assert len(points) == 60
        assert sum(r["count"] for r in timeline.datasets()["timeline_counts"]) == 60
        # the front end is sent only the datasets, not a re-embedded spec
        sent = altair_jupyter.sent_dataset_updates(timeline.widget)
        assert {u["name"] for u in sent} <= {"timeline_points", "timeline_counts"}
        assert all(u["namespace"] == "data" for u in sent)
        buffer.put(ev.InvocationBatch("stability-m2048", _rows(2048, 30.0, 10, t0=3000)))
        refresher.flush()
        dist = dashboard.charts["latency_distribution"].datasets()["latency_distribution"]
        assert {r["memory_size"] for r in dist} == {1024, 2048}
        assert len(timeline.datasets()["timeline_points"]) == 70
    finally:
        refresher.stop()


def test_refresher_reports_errors_instead_of_dying():
    errors: list[BaseException] = []
    buffer = EventBuffer()
    refresher = Refresher(buffer, lambda events: 1 / 0, errors.append, interval=0.01)
    buffer.put("x")
    refresher.flush()
    assert isinstance(errors[0], ZeroDivisionError)
    assert len(buffer) == 0


def test_what_if_strategy_changes_the_pick_and_the_chart(make_panel, tmp_path):
    result = _split_result(tmp_path)
    panel = make_panel()
    panel.show(result)
    cost_rows = lambda: panel.dashboard.charts["cost_vs_latency"].datasets()["cost_vs_latency"]  # noqa: E731
    picked = lambda: [r["memory_size"] for r in cost_rows() if r["role"] == "recommended"]  # noqa: E731

    panel.whatif.strategy.value = "cost"
    assert panel.recommendation.memory_size == 1024
    assert picked() == [1024]
    assert "1024 MB, max concurrency 1" in panel.card.html.value

    panel.whatif.strategy.value = "speed"
    assert panel.recommendation.memory_size == 6144
    assert picked() == [6144]
    assert "6144 MB, max concurrency 1" in panel.card.html.value
    assert '"MemorySizeInMB": 6144' in panel.card.snippet.value

    # another monthly volume: the chart shows the costs the pick was ranked on
    monthly = lambda: [r["monthly_cost_usd"] for r in cost_rows() if r["role"] == "recommended"]  # noqa: E731
    before = monthly()[0]
    panel.whatif.monthly.value = 2 * result.config.monthly_invocations
    assert monthly()[0] == pytest.approx(2 * before)
    assert panel.recommendation.cost_per_1m_usd == pytest.approx(
        result.costs_at(2 * result.config.monthly_invocations)
        .query("memory_size == 6144")["cost_per_1m_usd"]
        .iloc[0]
    )

    panel.whatif.sla_ms.value = "50"  # no percentile chosen: flagged, pick unchanged
    assert "sla_percentile" in panel.whatif.message.value
    panel.whatif.sla_percentile.value = 90
    panel.whatif.strategy.value = "cost"
    assert panel.recommendation.memory_size == 6144  # only 6144 MB meets p90 <= 50 ms
    panel.whatif.sla_ms.value = "10"
    assert panel.recommendation is None
    assert "No recommendation" in panel.card.html.value


def test_showing_a_saved_result_fills_the_dashboard(make_panel, tmp_path):
    result = _split_result(tmp_path)
    saved = result.save(tmp_path / "saved")
    panel = make_panel()
    panel.show(BenchmarkResult.load(saved))
    counts = panel.dashboard.charts["timeline"].datasets()["timeline_counts"]
    assert sum(r["count"] for r in counts) == 160
    assert panel.exports.widget.layout.display == ""


def test_progress_bars_status_and_run_errors():
    from sm_bench_widgets.widgets.progress import ProgressView

    view = ProgressView()
    view.apply(ev.RunStarted("r1", "/runs/r1", [{}, {}], emulated=True))
    assert "emulated" in view.status.value
    view.apply(ev.PhaseStarted("stability", trials=2, max_invocations=200))
    trial = plan_stability(
        BenchmarkConfig(memory_sizes=[1024], stability_benchmark_invocations=100)
    )
    view.apply(ev.TrialStarted.of(trial[0], "ep-1"))
    assert "1024 MB" in view.status.value and "ep-1" in view.status.value
    view.apply(ev.InvocationBatch("stability-m1024", _rows(1024, 10.0, 30)))
    view.apply(ev.RunError("endpoint ep-2 failed: no capacity", "stability-m2048"))
    assert "no capacity" in view.errors_html.value and "stability-m2048" in view.errors_html.value
    bar = view.bars["stability"]
    assert (bar.n, bar.total) == (30, 200)
    assert len(view.output.outputs) == 1  # the bar is in the Output widget
    view.apply(ev.RunEnded("stopped", "/runs/r1"))
    assert bar.total == 30 and bar.container.children[1].bar_style == "success"
    drawn = bar.container.children[1]
    assert drawn.value == drawn.max == 30  # a run that stopped early draws a full bar
    assert "stopped" in view.status.value and "/runs/r1" in view.status.value


def test_exports_of_results_without_a_run_dir_do_not_overwrite_each_other(tmp_path):
    from sm_bench_widgets.widgets.exports import export

    first = _split_result(tmp_path)
    first.run_dir = None
    second = BenchmarkResult(first.config, first.invocations.head(100), run_id="other")
    written = [export(r, "CSV") for r in (first, second)]
    folders = {paths[0].parent for paths in written}
    assert len(folders) == 2 and all(f.is_relative_to(tmp_path) for f in folders)
    assert len(pd.read_csv(written[0][0].parent / "invocations.csv")) == 160
