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
