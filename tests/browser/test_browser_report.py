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
