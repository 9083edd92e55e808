"""The standalone HTML report opens from disk and draws its charts with no network."""

from __future__ import annotations

from pathlib import Path

import pytest

from sm_bench_widgets.result import BenchmarkResult
from tests.test_report import config, invocations

pytestmark = pytest.mark.browser


def test_report_renders_offline_in_chromium(browser, tmp_path: Path) -> None:
    result = BenchmarkResult(config(), invocations(), run_id="r9", emulated=True)
    path = Path(result.to_html(tmp_path / "report.html"))
    requested, errors = [], []
    context = browser.new_context()
    try:
        page = context.new_page()

        def block(route):
            if route.request.url.startswith("file:"):
                route.continue_()
            else:
                requested.append(route.request.url)
                route.abort("internetdisconnected")

        page.route("**/*", block)
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto(path.as_uri())
        page.wait_for_function(
            "document.querySelectorAll('.chart svg.marks').length >= 5", timeout=20_000
        )
        marks = page.locator(".chart svg.marks").count()
    finally:
        context.close()
    assert marks >= 5 and errors == [] and requested == []


# A cell with a "$" in plain HTML: proves MathJax is at work in this JupyterLab, so the
# cells after it prove something when their money stays text.
CONTROL_CELL = """\
from IPython.display import HTML
HTML('<p class="control">Plain HTML: $3.6156 per 1M and $13.83 per 1M</p>')"""

DISPLAY_CELLS = [
    """\
from sm_bench_widgets.result import BenchmarkResult
result = BenchmarkResult.load("saved-result")
result.recommendation""",
    "result",
    """\
from sm_bench_widgets.widgets.card import card_html
HTML(card_html(result.recommendation, result.break_even, result.emulated, "demo-nlp"))""",
]

# Per code cell: its output's text and how many MathJax renderings it holds.
_CELL_MATH_JS = """() => [...document.querySelectorAll('.jp-Notebook .jp-CodeCell')].map(cell => {
  const out = cell.querySelector('.jp-OutputArea');
  return {text: out ? out.innerText : '',
          math: out ? out.querySelectorAll('mjx-container, .MathJax, mjx-math').length : 0};
})"""


def _write_notebook(path: Path) -> None:
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nb.cells = [nbformat.v4.new_code_cell(c) for c in [CONTROL_CELL, *DISPLAY_CELLS]]
    nbformat.write(nb, path)


def test_money_in_the_recommendation_card_and_result_is_not_read_as_latex(
    lab, lab_root, offline, page
) -> None:
    from lab_page import (
        ARTIFACTS,
        error_outputs,
        open_notebook,
        run_all_cells,
        wait_all_executed,
    )

    result = BenchmarkResult(config(), invocations(), run_id="r9", emulated=True)
    result.save(lab_root / "saved-result")
    rec = result.recommendation
    money = f"${rec.cost_per_1m_usd:.4f} per 1M invocations"
    _write_notebook(lab_root / "dollars.ipynb")
    open_notebook(page, lab, "dollars.ipynb")
    run_all_cells(page)
    wait_all_executed(page)
    # MathJax typesets after the outputs appear: wait until it has done the control cell
    page.wait_for_function(
        "() => document.querySelectorAll('.jp-CodeCell')[0]"
        ".querySelectorAll('.jp-OutputArea mjx-container').length >= 1",
        timeout=60_000,
    )
    cells = page.evaluate(_CELL_MATH_JS)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "dollars-in-lab.png"), full_page=True)
    card_output = page.locator(".jp-Notebook .jp-CodeCell").nth(3).locator(".smb-card")
    card_output.screenshot(path=str(ARTIFACTS / "card-in-lab.png"))
    assert error_outputs(page) == []
    assert cells[0]["math"] >= 1 and "$3.6156" not in cells[0]["text"]
    recommendation, whole, card = cells[1:4]
    for shown in (recommendation, whole, card):
        assert shown["math"] == 0, shown
    # each text below holds two "$" in one paragraph: MathJax would take it for LaTeX
    monthly = rec.monthly_text()
    assert monthly.startswith("$") and rec.rule in recommendation["text"]
    assert f"Expected cost: {money}, {monthly}." in recommendation["text"]
    assert f"{rec.headline()} Monthly: {monthly}." in whole["text"]
    assert f"${rec.cost_per_1m_usd:,.4f} per 1M invocations, {monthly}" in card["text"]
    assert offline.console_errors == []
