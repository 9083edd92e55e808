"""Charts with no internet: Altair's JupyterChart in JupyterLab once offline mode is on; the
HTML report's cost chart, whose click selection still works from a file; every chart of
``charts``, in every state, drawn by the bundled Vega without a console warning."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest
from lab_page import (
    VEGA_SELECTOR,
    error_outputs,
    open_notebook,
    outputs,
    run_all_cells,
    wait_all_executed,
)

pytestmark = pytest.mark.browser
expect = pytest.importorskip("playwright.sync_api").expect

OFFLINE_CELL = """\
import altair as alt
import pandas as pd

alt.JupyterChart.enable_offline()
data = pd.DataFrame({"x": range(10), "y": [i * i for i in range(10)]})
offline_chart = alt.JupyterChart(alt.Chart(data).mark_line().encode(x="x", y="y"))
offline_chart"""

# The default mode imports vega-embed from a CDN: offline, it must draw nothing.
ONLINE_CELL = """\
alt.JupyterChart.enable_offline(False)
online_chart = alt.JupyterChart(alt.Chart(data).mark_bar().encode(x="x", y="y"))
online_chart"""


def _write_notebook(path: Path) -> None:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nb.cells = [nbformat.v4.new_code_cell(OFFLINE_CELL), nbformat.v4.new_code_cell(ONLINE_CELL)]
    nbformat.write(nb, path)


def test_jupyter_chart_renders_offline_and_cdn_mode_does_not(lab, lab_root, offline, page):
    _write_notebook(lab_root / "offline_chart.ipynb")
    open_notebook(page, lab, "offline_chart.ipynb")
    run_all_cells(page)
    wait_all_executed(page)

    cells = page.locator(".jp-Notebook .jp-CodeCell")
    cells.nth(0).locator(VEGA_SELECTOR).first.wait_for(timeout=60_000)
    assert cells.nth(0).locator(".vega-embed path.mark-line, .vega-embed g.mark-line").count()
    assert error_outputs(page) == []
    widget_outputs = [
        o
        for o in outputs(page)
        if "application/vnd.jupyter.widget-view+json" in o["output"].get("data", {})
    ]
    assert [o["cell"] for o in widget_outputs] == [0, 1]

    # The CDN-mode chart tried the internet, was refused, and drew nothing.
    page.wait_for_timeout(2_000)
    assert cells.nth(1).locator(VEGA_SELECTOR).count() == 0
    assert any("esm.sh" in url or "cdn" in url for url in offline.blocked), offline.blocked


def test_report_cost_chart_selects_a_point_offline(browser, tmp_path: Path) -> None:
    from sm_bench_widgets.config import BenchmarkConfig
    from sm_bench_widgets.result import BenchmarkResult
    from tests.test_charts import invocations

    config = BenchmarkConfig(model_name="m", memory_sizes=[1024, 2048])
    result = BenchmarkResult(config, invocations(), run_id="r1", emulated=True)
    path = Path(result.to_html(tmp_path / "report.html"))
    requested: list[str] = []
    console: list[str] = []
    context = browser.new_context()
    try:
        page = context.new_page()
        page.route(
            "**/*",
            lambda route: (
                route.continue_()
                if route.request.url.startswith("file:")
                else (requested.append(route.request.url), route.abort("internetdisconnected"))
            ),
        )
        page.on(
            "console",
            lambda m: m.type in ("warning", "error") and console.append(f"{m.type}: {m.text}"),
        )
        page.on("pageerror", lambda exc: console.append(f"page error: {exc}"))
        page.goto(path.as_uri())
        page.wait_for_function(
            "document.querySelectorAll('.chart svg.marks').length >= 5", timeout=20_000
        )
        chart = page.locator("#chart-cost_vs_latency")
        points = chart.locator("g.cost_points_marks path")
        expect(points).to_have_count(2)
        expect(chart.locator("g.mark-line path")).to_have_count(1)  # the Pareto frontier
        assert [points.nth(i).get_attribute("stroke-width") for i in range(2)] == ["0", "0"]

        points.nth(0).click()  # selected: outlined
        expect(points.nth(0)).to_have_attribute("stroke-width", "3")
        expect(points.nth(1)).to_have_attribute("stroke-width", "0")
        points.nth(1).click()
        expect(points.nth(1)).to_have_attribute("stroke-width", "3")
        expect(points.nth(0)).to_have_attribute("stroke-width", "0")
        chart.locator("svg.marks").dblclick(position={"x": 60, "y": 60})  # cleared
        expect(points.nth(1)).to_have_attribute("stroke-width", "0")
        # a note stands where there are no concurrency trials, with no warning
        expect(page.locator("#chart-concurrency")).to_contain_text("No data in this run")
    finally:
        context.close()
    assert requested == [] and console == []


def test_every_chart_draws_without_a_console_warning(browser, tmp_path: Path) -> None:
    """Each chart empty (the note), with one row and typical, and a finished result's whole
    dashboard, drawn by the Vega that Altair's offline mode bundles: Vega warns about
    nothing (no "Infinite extent" for a domain of no rows, no conflicting sorts)."""
    import altair as alt
    import vl_convert

    from sm_bench_widgets import charts
    from sm_bench_widgets.config import BenchmarkConfig
    from sm_bench_widgets.result import BenchmarkResult
    from tests.test_charts import FRAME_CHARTS, _variants

    specs = [
        build(frame).to_dict()
        for build, make in FRAME_CHARTS.values()
        for frame in _variants(make).values()
    ]
    config = BenchmarkConfig(model_name="m", memory_sizes=[1024, 2048])
    for data in (FRAME_CHARTS["timeline"][1](), None):
        specs.append(charts.dashboard(BenchmarkResult(config, data)).to_dict())
    version = "_".join(alt.SCHEMA_VERSION.lstrip("v").split(".")[:2])
    embeds = "".join(
        f"vegaEmbed('#c{i}', {json.dumps(spec)}, {{renderer: 'svg'}}).catch(console.error);"
        for i, spec in enumerate(specs)
    )
    page_html = tmp_path / "charts.html"
    page_html.write_text(
        "<html><body>"
        + "".join(f'<div id="c{i}"></div>' for i in range(len(specs)))
        + f"<script>{vl_convert.javascript_bundle(vl_version=f'v{version}')}</script>"
        + f"<script>{embeds}</script></body></html>",
        encoding="utf-8",
    )
    console: list[str] = []
    context = browser.new_context()
    try:
        page = context.new_page()
        page.on("console", lambda m: console.append(f"{m.type}: {m.text}"))
        page.on("pageerror", lambda exc: console.append(f"page error: {exc}"))
        page.goto(page_html.as_uri())
        page.wait_for_function(
            f"document.querySelectorAll('svg.marks').length >= {len(specs)}", timeout=30_000
        )
        page.wait_for_timeout(500)  # a late warning still lands
    finally:
        context.close()
    assert console == []
