"""The quickstart in JupyterLab, in headless Chromium, offline: press Run, watch, decide.

The notebook runs up to the panel, the panel's Run button is clicked, the progress bars
move, the five live charts draw their data, the recommendation card appears, and the rest
of the notebook then runs without an error. Screenshots go to test-artifacts/.
"""

from __future__ import annotations

import re
import shutil
import time
from pathlib import Path

import nbformat
import pytest
from lab_page import (
    ARTIFACTS,
    REPO,
    VEGA_SELECTOR,
    cell_index,
    click_menu,
    error_outputs,
    open_notebook,
    progress_fractions,
    run_all_cells,
    run_to_tagged_cell,
    select_cell,
    vega_mark_counts,
    wait_all_executed,
)

pytestmark = pytest.mark.browser
expect = pytest.importorskip("playwright.sync_api").expect

PANEL = ".smb-panel"
RUN_TIMEOUT_S = 300


def _quickstart_for_clicking(root: Path) -> str:
    """The quickstart with ``AUTO_RUN = False``: the run starts from the Run button."""
    nb = nbformat.read(REPO / "notebooks" / "quickstart.ipynb", as_version=4)
    params = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(params) == 1 and "AUTO_RUN = True" in params[0].source
    params[0].source = params[0].source.replace("AUTO_RUN = True", "AUTO_RUN = False")
    shutil.rmtree(root / "quickstart-results", ignore_errors=True)
    nbformat.write(nb, root / "quickstart.ipynb")
    return "quickstart.ipynb"


def _watch_run(page, deadline: float) -> list[tuple[float, ...]]:
    """Progress states seen until the recommendation card shows (or the deadline)."""
    states: list[tuple[float, ...]] = []
    card = page.locator(f"{PANEL} .smb-card")
    while time.monotonic() < deadline:
        fractions = tuple(round(f, 3) for f in progress_fractions(page, PANEL))
        if fractions and (not states or states[-1] != fractions):
            states.append(fractions)
        if card.count() and card.first.is_visible():
            return states
        page.wait_for_timeout(300)
    raise AssertionError(f"no recommendation card after {RUN_TIMEOUT_S} s; progress {states}")


def test_quickstart_run_button_live_charts_and_card(lab, lab_root, offline, page):
    page.set_viewport_size({"width": 1400, "height": 3400})
    open_notebook(page, lab, _quickstart_for_clicking(lab_root))

    # Run the notebook up to and including the cell that displays the panel.
    run_to_tagged_cell(page, "panel")
    panel = page.locator(PANEL)
    expect(panel).to_be_visible()
    assert error_outputs(page) == []
    assert "Results are emulated" in panel.inner_text()

    run = panel.locator("button:text-is('Run')")
    expect(run).to_be_enabled(timeout=60_000)
    assert progress_fractions(page, PANEL) == []
    run.click()
    expect(panel.locator("button:text-is('Stop')")).to_be_enabled(timeout=30_000)

    states = _watch_run(page, time.monotonic() + RUN_TIMEOUT_S)
    assert len(states) >= 3, f"the progress did not move while the run went on: {states}"
    assert max(states[-1]) > 0.5
    status = panel.locator(".smb-status").inner_text()
    assert "completed (emulated)" in status and "Deploy " in status

    card = panel.locator(".smb-card")
    card_text = card.inner_text()
    assert "Deploy demo-nlp on" in card_text
    assert "Emulated" in card_text and "Runner-up" in card_text and "Break-even" in card_text
    expect(panel.locator(".smb-snippet textarea")).to_have_value(
        re.compile("create_endpoint_config")
    )

    # The five live charts are drawn (offline) and show data, not just axes.
    panel.locator(VEGA_SELECTOR).first.wait_for()
    marks = vega_mark_counts(page, PANEL)
    assert len(marks) == 5, marks
    assert all(n > 0 for n in marks), marks
    assert sum(marks) > 100, marks

    panel.locator("button:text-is('Run')").scroll_into_view_if_needed()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "quickstart-panel.png"))

    # The rest of the notebook: wait() returns the clicked run's result, then a chart.
    select_cell(page, cell_index(page, "auto-run"))
    click_menu(page, "Run", "Run Selected Cell and All Below")
    wait_all_executed(page, timeout=180)
    assert error_outputs(page) == []
    final_chart = page.locator(".jp-CodeCell").filter(has_text="result.charts()")
    final_chart.locator(VEGA_SELECTOR).first.wait_for(timeout=60_000)
    assert page.locator(VEGA_SELECTOR).count() > 5
    assert offline.blocked == [], "the page tried to reach the internet"
    card.scroll_into_view_if_needed()
    page.screenshot(path=str(ARTIFACTS / "quickstart-card.png"))


IMAGES = REPO / "docs" / "images"
LIVE_FRAMES = 3
# Vega's logger prefixes its messages with the level; Altair charts run in JupyterChart
# (anywidget). JupyterLab's notes on slow plugin start-up (a loaded machine) are not ours.
CHART_MESSAGE = re.compile(r"^(WARN|ERROR)\b|vega|altair|anywidget|infinite extent", re.I)
LAB_PLUGIN_TIMING = re.compile(r"^Plugin \S+ (is taking too long|.* took [\d.]+ ?ms) to activate")


def _bare_panel_notebook(root: Path) -> str:
    """A notebook holding nothing but ``BenchmarkPanel()``, as a newcomer would write it."""
    cell = nbformat.v4.new_code_cell(
        "from sm_bench_widgets import BenchmarkPanel\n\npanel = BenchmarkPanel()\npanel"
    )
    cell.metadata["tags"] = ["panel"]
    folder = root / "bare"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir()
    kernel = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}
    notebook = nbformat.v4.new_notebook(cells=[cell], metadata={"kernelspec": kernel})
    nbformat.write(notebook, folder / "bare_panel.ipynb")
    return "bare/bare_panel.ipynb"


def _chart_messages(offline) -> list[str]:
    messages = offline.console_errors + offline.console_warnings
    return [m for m in messages if CHART_MESSAGE.search(m) and not LAB_PLUGIN_TIMING.match(m)]


def test_a_bare_panel_runs_with_one_click_to_a_finished_card(lab, lab_root, offline, page):
    page.set_viewport_size({"width": 1100, "height": 5200})
    open_notebook(page, lab, _bare_panel_notebook(lab_root))
    page.evaluate("window.jupyterapp.commands.execute('application:toggle-left-area')")
    run_all_cells(page)  # its one cell
    wait_all_executed(page, timeout=180)
    panel = page.locator(PANEL)
    expect(panel).to_be_visible()
    assert error_outputs(page) == []

    # ready at once: a demo model, its samples filled in, the status saying so
    status = panel.locator(".smb-status")
    expect(status).to_contain_text("Ready: press Run", timeout=60_000)
    assert "sample payloads of demo-" in panel.locator(".smb-payloads").inner_text()
    run = panel.locator("button:text-is('Run')")
    expect(run).to_be_enabled()
    IMAGES.mkdir(parents=True, exist_ok=True)
    for old in IMAGES.glob("panel-live-*.png"):
        old.unlink()

    started = time.monotonic()
    run.click()  # the one click
    expect(panel.locator("button:text-is('Stop')")).to_be_enabled(timeout=30_000)
    dashboard = panel.locator(".smb-dashboard")
    card = panel.locator(".smb-card")
    frames, drawn = 0, 0
    deadline = started + RUN_TIMEOUT_S
    while not (card.count() and card.first.is_visible()):
        assert time.monotonic() < deadline, f"no card {RUN_TIMEOUT_S} s after Run"
        marks = sum(vega_mark_counts(page, PANEL))
        if frames < LIVE_FRAMES and marks > (drawn + 40 if frames else 0):  # filled in more
            frames, drawn = frames + 1, marks
            dashboard.screenshot(path=str(IMAGES / f"panel-live-{frames}.png"))
        page.wait_for_timeout(400)
    took = time.monotonic() - started
    expect(status).to_contain_text("completed (emulated)", timeout=30_000)
    assert "Deploy demo-" in card.inner_text()
    marks = vega_mark_counts(page, PANEL)
    assert len(marks) == 5 and all(n > 0 for n in marks), marks
    assert frames >= 2, f"the charts were seen filling in {frames} time(s)"
    (ARTIFACTS / "bare-panel-run-seconds.txt").parent.mkdir(exist_ok=True)
    (ARTIFACTS / "bare-panel-run-seconds.txt").write_text(f"{took:.1f}\n")

    page.wait_for_timeout(1000)  # let the last chart updates settle before the picture
    options = panel.locator(".jupyter-widget-Collapse-header", has_text="Configurations")
    if options.count() == 1:  # the picture shows the run, not the options it started from
        options.click()
    panel.screenshot(path=str(IMAGES / "panel.png"))
    assert offline.blocked == [], "the page tried to reach the internet"
    console = offline.console_errors + offline.console_warnings
    (ARTIFACTS / "bare-panel-console.txt").write_text("\n".join(console) + "\n")
    assert _chart_messages(offline) == [], "the charts logged errors or warnings"
