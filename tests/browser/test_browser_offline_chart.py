"""Altair's JupyterChart renders in JupyterLab with no internet once offline mode is on."""

from __future__ import annotations

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
