"""The panel's Processing-job mode in JupyterLab, in headless Chromium, offline.

A notebook shows a panel at the embedded emulator; "Processing job" is chosen, the job form
appears with its defaults, Run is clicked, the job monitor's status moves from InProgress to
Completed, and the live charts and the recommendation card fill from the job's streamed
results. Screenshots go to test-artifacts/.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import nbformat
import pytest
from lab_page import (
    ARTIFACTS,
    VEGA_SELECTOR,
    error_outputs,
    open_notebook,
    run_to_tagged_cell,
    vega_mark_counts,
)

pytestmark = pytest.mark.browser
expect = pytest.importorskip("playwright.sync_api").expect

PANEL = ".smb-panel"
JOB_TIMEOUT_S = 300

SETUP = """\
import os

os.environ["XDG_CACHE_HOME"] = os.path.abspath("job-cache")  # this test's own cache

from sm_bench_widgets import BenchmarkPanel
from sm_bench_widgets.emulator import embedded

emulator = embedded(time_scale=0.2)
panel = BenchmarkPanel(
    target=emulator.target(),
    model_name="demo-nlp",
    invoke_args_examples=[
        {"Body": "0.5,1.2,3.3,4.1", "ContentType": "text/csv", "Accept": "text/csv"},
        {"Body": "7.0,0.1,2.2,5.9", "ContentType": "text/csv", "Accept": "text/csv"},
    ],
    memory_sizes=[2048, 3072],
    stability_benchmark_invocations=40,
    concurrency_benchmark_max_conc=[2],
    concurrency_num_clients_multiplier=[1],
    concurrency_benchmark_invocations=40,
    job_poll_interval=1.0,
)
"""


def _job_notebook(root: Path) -> str:
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_markdown_cell("# A benchmark as a Processing job, from the panel"),
        nbformat.v4.new_code_cell(SETUP),
        nbformat.v4.new_code_cell("panel", metadata={"tags": ["panel"]}),
    ]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3"}
    nbformat.write(nb, root / "job_panel.ipynb")
    return "job_panel.ipynb"


def _watch_job(page, deadline: float) -> list[str]:
    """The job monitor's statuses, in order, until the card shows (or the deadline)."""
    statuses: list[str] = []
    status = page.locator(f"{PANEL} .smb-job-status")
    card = page.locator(f"{PANEL} .smb-card")
    while time.monotonic() < deadline:
        if status.count():
            text = status.first.inner_text().strip()
            if text and (not statuses or statuses[-1] != text):
                statuses.append(text)
        if card.count() and card.first.is_visible() and statuses[-1:] == ["Completed"]:
            return statuses
        page.wait_for_timeout(250)
    raise AssertionError(f"no card and Completed job after {JOB_TIMEOUT_S} s: {statuses}")


def test_processing_job_from_the_panel_monitor_charts_and_card(lab, lab_root, offline, page):
    page.set_viewport_size({"width": 1400, "height": 3600})
    open_notebook(page, lab, _job_notebook(lab_root))
    run_to_tagged_cell(page, "panel")
    panel = page.locator(PANEL)
    expect(panel).to_be_visible()
    assert error_outputs(page) == []

    form = panel.locator(".smb-job-form")
    expect(form).to_be_hidden()
    panel.locator(".smb-launch button:text-is('Processing job')").click()
    expect(form).to_be_visible(timeout=30_000)
    role = form.locator("input").first
    expect(role).to_have_value(
        re.compile(r"^arn:aws:iam::\d{12}:role/sm-bench-job$"), timeout=30_000
    )
    expect(form.locator(".smb-job-cost")).to_contain_text("nothing on the emulator")

    run = panel.locator("button:text-is('Run')")
    expect(run).to_be_enabled(timeout=60_000)
    run.click()
    monitor = panel.locator(".smb-job-monitor")
    expect(monitor).to_be_visible(timeout=60_000)
    expect(panel.locator("button:text-is('Stop')")).to_be_enabled(timeout=60_000)

    statuses = _watch_job(page, time.monotonic() + JOB_TIMEOUT_S)
    assert "InProgress" in statuses and statuses[-1] == "Completed", statuses
    assert "elapsed" in monitor.inner_text()
    assert monitor.locator(".smb-job-log").inner_text().strip()  # the log tail is shown
    status = panel.locator(".smb-status").inner_text()
    assert "completed (emulated)" in status and "Deploy " in status

    card_text = panel.locator(".smb-card").inner_text()
    assert "Deploy demo-nlp on" in card_text and "Emulated" in card_text

    panel.locator(VEGA_SELECTOR).first.wait_for()
    marks = vega_mark_counts(page, PANEL)
    assert len(marks) == 5, marks
    assert all(n > 0 for n in marks), marks
    assert error_outputs(page) == []
    assert offline.blocked == [], "the page tried to reach the internet"

    ARTIFACTS.mkdir(exist_ok=True)
    monitor.scroll_into_view_if_needed()
    page.screenshot(path=str(ARTIFACTS / "job-panel.png"), full_page=True)
