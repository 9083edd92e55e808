"""The cost chart's click selection, read back through JupyterChart: the selection view and
the filtered charts follow it; the comparison's figures and the export."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from sm_bench_widgets import charts
from sm_bench_widgets.config import BenchmarkConfig
from sm_bench_widgets.result import BenchmarkResult
from sm_bench_widgets.widgets.dashboard import Dashboard
from sm_bench_widgets.widgets.selection import (
    Configuration,
    comparison,
    export_selection,
    monthly_volume,
)
from tests.test_charts import invocations, recommendation

SMALL = {"memory_size": 1024, "max_concurrency": 1, "provisioned_concurrency": 0}


@pytest.fixture
def result(tmp_path) -> BenchmarkResult:
    config = BenchmarkConfig(
        model_name="m", memory_sizes=[1024, 2048], monthly_invocations=2_000_000
    )
    return BenchmarkResult(config, invocations(), run_dir=tmp_path / "run")


def _click(dashboard: Dashboard, *points: dict) -> None:
    """What the front end sends when the cost chart's selection changes (as Vega holds it)."""
    value = {"vlPoint": {"or": list(points)}} if points else None
    dashboard.charts["cost_vs_latency"].widget._vl_selections = {
        charts.PICK: {"value": value, "store": []}
    }


def _filled(result: BenchmarkResult) -> Dashboard:
    dashboard = Dashboard()
    dashboard.replace_rows(result.invocations)
    dashboard.refresh_invocations()
    dashboard.refresh_result(result)
    return dashboard


def test_charts_wait_for_data_then_embed_once_and_update_in_place(result):
    dashboard = Dashboard()
    for live in dashboard.charts.values():
        assert charts.WAITING_TEXT in json.dumps(live.widget.spec, ensure_ascii=False)
    dashboard.replace_rows(result.invocations.iloc[:30])
    dashboard.refresh_invocations()
    timeline = dashboard.charts["timeline"]
    assert timeline.embeds == 2  # the note gave way to the chart
    dashboard.replace_rows(result.invocations)
    dashboard.refresh_invocations()
    assert timeline.embeds == 2 and timeline.updates == 2  # the rows, in place
    assert sum(r["count"] for r in timeline.datasets()["timeline_counts"]) == 120
    assert charts.WAITING_TEXT not in json.dumps(timeline.widget.spec, ensure_ascii=False)
    # the run ends without concurrency trials: that chart no longer waits
    concurrency = json.dumps(dashboard.charts["concurrency_chart"].widget.spec, ensure_ascii=False)
    assert charts.WAITING_TEXT in concurrency
    dashboard.refresh_result(result)
    concurrency = json.dumps(dashboard.charts["concurrency_chart"].widget.spec, ensure_ascii=False)
    assert charts.NO_DATA_TEXT in concurrency


def test_a_click_selects_a_configuration_and_filters_the_charts(result):
    dashboard = _filled(result)
    assert result.recommendation.memory_size == 2048
    view = dashboard.selection
    assert view.widget.layout.display == "none"

    _click(dashboard, SMALL)
    assert dashboard.selected == Configuration(1024, 1, 0)
    assert view.widget.layout.display == ""
    text = view.html.value
    assert "Selected: 1024 MB, max concurrency 1" in text
    assert "Against the recommendation, 2048 MB, max concurrency 1" in text
    assert "Cost per month at 2,000,000 invocations a month." in text
    assert '"MemorySizeInMB": 1024' in view.snippet.value
    # the latency distribution and the timeline keep the selected configuration's rows
    dist = dashboard.charts["latency_distribution"].datasets()["latency_distribution"]
    assert {r["memory_size"] for r in dist} == {1024}
    counts = dashboard.charts["timeline"].datasets()["timeline_counts"]
    assert sum(r["count"] for r in counts) == 60
    assert "1024 MB · MC 1" in json.dumps(
        dashboard.charts["timeline"].widget.spec["title"], ensure_ascii=False
    )

    _click(dashboard)  # a double click clears it
    assert dashboard.selected is None and view.widget.layout.display == "none"
    dist = dashboard.charts["latency_distribution"].datasets()["latency_distribution"]
    assert {r["memory_size"] for r in dist} == {1024, 2048}


def test_the_selection_follows_a_reranked_pick(result):
    dashboard = _filled(result)
    _click(dashboard, SMALL)
    assert "This is the recommended" not in dashboard.selection.html.value
    # what the panel does when a what-if re-ranking picks another configuration: the cost
    # chart's data changes in place
    rec = recommendation(1024, 1)
    dashboard.charts["cost_vs_latency"].update(charts.cost_vs_latency(result.costs, rec))
    assert "This is the recommended configuration." in dashboard.selection.html.value


def test_comparison_figures_are_differences_in_one_cost_table(result):
    costs = result.costs
    table = comparison(costs, Configuration(1024, 1), result.recommendation).set_index("figure")
    small = costs.set_index("memory_size").loc[1024]
    big = costs.set_index("memory_size").loc[2048]
    assert table.loc["p90 latency", "selected"] == pytest.approx(small["p90_ms"])
    assert table.loc["p90 latency", "delta"] == pytest.approx(small["p90_ms"] - big["p90_ms"])
    monthly = table.loc["cost per month"]
    assert monthly["delta"] == pytest.approx(small["monthly_cost_usd"] - big["monthly_cost_usd"])
    assert monthly["delta_share"] == pytest.approx(monthly["delta"] / big["monthly_cost_usd"])
    assert monthly_volume(costs) == 2_000_000
    rows = pd.DataFrame(charts.named_datasets(charts.cost_vs_latency(costs))["cost_vs_latency"])
    assert monthly_volume(rows) == 2_000_000  # the chart's rows keep the precision it needs


def test_export_writes_the_selection_and_its_snippet(result):
    dashboard = _filled(result)
    _click(dashboard, SMALL)
    paths = dashboard.selection.export()
    assert [p.suffix for p in paths] == [".json", ".py"]
    assert all(p.parent == result.run_dir for p in paths)
    record = json.loads(paths[0].read_text())
    assert record["selected"] == SMALL
    assert record["recommended"]["memory_size"] == 2048
    assert record["monthly_invocations"] == 2_000_000
    assert {f["figure"] for f in record["figures"]} >= {"p90 latency", "cost per month"}
    assert '"MemorySizeInMB": 1024' in paths[1].read_text()
    compile(paths[1].read_text(), str(paths[1]), "exec")
    assert str(paths[0]) in dashboard.selection.paths.value
    direct = export_selection(result, Configuration(1024, 1), None, None, "m")
    assert json.loads(direct[0].read_text())["recommended"] is None
