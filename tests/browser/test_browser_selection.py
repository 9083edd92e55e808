"""The cost chart as the way in, in JupyterLab, in headless Chromium, offline.

A panel on the emulator is run from its Run button; once the card shows, a click on a point
of the cost chart selects that configuration: the selection view beside the chart shows it
against the recommendation, and the latency distribution and the timeline follow; a double
click clears it. From the panel's display to the end, the browser console shows no warning
or error from our charts (Vega's "Infinite extent" warnings for empty charts among them).
"""

from __future__ import annotations

import json
import re
import shutil
import time
from pathlib import Path

import nbformat
import pytest
from lab_page import ARTIFACTS, VEGA_SELECTOR, error_outputs, open_notebook, run_to_tagged_cell

pytestmark = pytest.mark.browser
expect = pytest.importorskip("playwright.sync_api").expect

PANEL = ".smb-panel"
RUN_TIMEOUT_S = 300
NOTEBOOK = "selection.ipynb"
SETUP = """\
import altair as alt

from sm_bench_widgets import BenchmarkPanel
from sm_bench_widgets.emulator import embedded

alt.renderers.enable("jupyter", offline=True);"""
PANEL_CELL = """\
emulator = embedded(time_scale=0.2)
panel = BenchmarkPanel(
    target=emulator.target(),
    model_name="demo-nlp",
    invoke_args_examples=[
        {"Body": "0.5,1.2,3.3,4.1", "ContentType": "text/csv", "Accept": "text/csv"}
    ],
    memory_sizes=[1024, 2048, 4096],
    stability_benchmark_invocations=40,
    concurrency_benchmark_max_conc=[2],
    concurrency_benchmark_invocations=40,
    concurrency_num_clients_multiplier=[1],
    result_save_path="selection-results",
)"""


def _write_notebook(root: Path) -> str:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    shown = nbformat.v4.new_code_cell("panel")
    shown.metadata["tags"] = ["panel"]
    nb.cells = [nbformat.v4.new_code_cell(SETUP), nbformat.v4.new_code_cell(PANEL_CELL), shown]
    shutil.rmtree(root / "selection-results", ignore_errors=True)
    nbformat.write(nb, root / NOTEBOOK)
    return NOTEBOOK


def _wait_for_card(page, deadline: float) -> None:
    card = page.locator(f"{PANEL} .smb-card")
    while time.monotonic() < deadline:
        if card.count() and card.first.is_visible():
            return
        page.wait_for_timeout(300)
    raise AssertionError(f"no recommendation card after {RUN_TIMEOUT_S} s")


def _cost_points(page) -> list[tuple[str, str]]:
    """(aria-label, role) of every point the cost chart drew."""
    points = page.locator(f"{PANEL} .vega-embed g.cost_points_marks path")
    labels = [points.nth(i).get_attribute("aria-label") or "" for i in range(points.count())]
    return [(label, re.search(r"role: ([\w-]+)", label).group(1)) for label in labels]


def _config_of(aria_label: str) -> str:
    """``1024 MB, max concurrency 2`` (the selection view's words) from a point's label."""
    memory, mc = re.search(r"configuration: (\d+) MB · MC (\d+)", aria_label).groups()
    return f"{memory} MB, max concurrency {mc}"


JUPYTERLAB_OWN = re.compile(
    r"^Plugin @jupyterlab/\S+ .*(taking too long|took [\d.]+ms) to activate"
)
"""JupyterLab's own warning that a plugin activated slowly (a busy machine), not a chart's."""


def _chart_warnings(messages: list[dict[str, str]]) -> list[str]:
    """Console warnings and errors, less JupyterLab's slow-start notices."""
    return [
        f"{m['type']}: {m['text']}"
        for m in messages
        if m["type"] in ("warning", "error") and not JUPYTERLAB_OWN.match(m["text"])
    ]


def test_a_click_in_the_cost_chart_selects_a_configuration(lab, lab_root, offline, page):
    messages: list[dict[str, str]] = []
    page.on("console", lambda m: messages.append({"type": m.type, "text": m.text}))
    page.set_viewport_size({"width": 1400, "height": 3000})
    open_notebook(page, lab, _write_notebook(lab_root))
    run_to_tagged_cell(page, "panel")
    panel = page.locator(PANEL)
    expect(panel).to_be_visible()
    assert error_outputs(page) == []

    run = panel.locator("button:text-is('Run')")
    expect(run).to_be_enabled(timeout=60_000)
    run.click()
    _wait_for_card(page, time.monotonic() + RUN_TIMEOUT_S)
    points = page.locator(f"{PANEL} .vega-embed g.cost_points_marks path")
    expect(points.first).to_be_visible(timeout=30_000)
    assert points.count() >= 2  # 1024 MB does not hold demo-nlp: no point
    assert panel.locator(".vega-embed").filter(has_text="Pareto frontier").count() == 1
    selection = panel.locator(".smb-selection")
    expect(selection).to_be_hidden()

    # Click a point that is not the recommendation: the selection view shows it.
    drawn = _cost_points(page)
    others = [label for label, role in drawn if role != "recommended"]
    (recommended,) = [label for label, role in drawn if role == "recommended"]
    assert others, drawn
    page.locator(f"{PANEL} .vega-embed g.cost_points_marks path[aria-label='{others[0]}']").click()
    expect(selection).to_be_visible(timeout=30_000)
    expect(selection).to_contain_text(f"Selected: {_config_of(others[0])}")
    expect(selection).to_contain_text(f"Against the recommendation, {_config_of(recommended)}")
    expect(selection).to_contain_text("Cost per month at")
    snippet = selection.locator(".smb-selection-snippet textarea")
    memory = re.search(r"configuration: (\d+) MB", others[0]).group(1)
    expect(snippet).to_have_value(re.compile(f'"MemorySizeInMB": {memory}'))
    # ... and the latency distribution and the timeline keep only its invocations.
    label = re.search(r"configuration: ([^;]+)", others[0]).group(1)
    expect(panel.locator(".vega-embed").filter(has_text=f"{label} (selected)")).to_have_count(
        1, timeout=30_000
    )
    timeline = panel.locator(".vega-embed").filter(has_text=f"Invocations of {label} over time")
    try:
        expect(timeline).to_have_count(1, timeout=30_000)
    except AssertionError:
        titles = panel.locator(".vega-embed g.role-title-text").all_inner_texts()
        raise AssertionError(f"no selected timeline; titles {titles}") from None
    ARTIFACTS.mkdir(exist_ok=True)
    page.locator(f"{PANEL} .vega-embed g.cost_points_marks").scroll_into_view_if_needed()
    page.screenshot(path=str(ARTIFACTS / "selection-panel.png"))

    # The recommended point: the view says so.
    page.locator(
        f"{PANEL} .vega-embed g.cost_points_marks path[aria-label='{recommended}']"
    ).click()
    expect(selection).to_contain_text("This is the recommended configuration.", timeout=30_000)

    # A double click clears the selection: the view hides, the charts show every run again.
    cost_view = panel.locator(".vega-embed").filter(has_text="Pareto frontier")
    cost_view.locator("svg.marks").dblclick(position={"x": 60, "y": 60})
    expect(selection).to_be_hidden(timeout=30_000)
    expect(panel.locator(".vega-embed").filter(has_text="(selected)")).to_have_count(0)

    page.wait_for_timeout(1_000)  # let any late console message arrive
    vega = [m for m in messages if re.match(r"(WARN|ERROR) ", m["text"])]  # Vega's logger
    (ARTIFACTS / "selection-console.json").write_text(
        json.dumps({"vega_messages": len(vega), "messages": messages}, indent=1)
    )
    assert _chart_warnings(messages) == []
    assert error_outputs(page) == []
    assert offline.blocked == [], "the page tried to reach the internet"
    assert page.locator(VEGA_SELECTOR).count() >= 5
