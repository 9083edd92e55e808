"""The standalone HTML report: content, no network references, and rendering offline."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest
from markupsafe import escape

from sm_bench_widgets.config import BenchmarkConfig
from sm_bench_widgets.report import render_report, write_report
from sm_bench_widgets.result import BenchmarkResult
from tests.rows import invocation_frame, invocation_row


def invocations() -> pd.DataFrame:
    """Stability at 1024 and 2048 MB with a cold probe each, and a throttled concurrency trial."""
    rng = np.random.default_rng(3)
    rows, t = [], 1_764_000_000.0

    def add(trial, phase, memory, latency, mc=1, clients=1, outcome="ok", cold=False):
        nonlocal t
        rows.append(
            invocation_row(
                trial,
                latency,
                start=t,
                phase=phase,
                memory_size=memory,
                max_concurrency=mc,
                clients=clients,
                outcome=outcome,
                cold=cold,
                run_id="r9",
                bytes_in=20,
                bytes_out=8,
            )
        )
        t += latency / 1000

    for memory, centre in ((1024, 80.0), (2048, 35.0)):
        add(f"s{memory}", "cold_start", memory, 600.0, cold=True)
        for _ in range(40):
            add(f"s{memory}", "stability", memory, float(rng.normal(centre, 3)))
    for k in range(30):
        add(
            "c2-4",
            "concurrency",
            2048,
            40.0,
            mc=2,
            clients=4,
            outcome="throttled" if k % 3 == 0 else "ok",
        )
    return invocation_frame(rows)


def config(**changes) -> BenchmarkConfig:
    return BenchmarkConfig(
        **{
            "model_name": "demo-nlp",
            "memory_sizes": [1024, 2048],
            "concurrency_benchmark_max_conc": [2],
            **changes,
        }
    )


@pytest.fixture(scope="module")
def result() -> BenchmarkResult:
    return BenchmarkResult(config(), invocations(), run_id="r9", emulated=True, status="completed")


@pytest.fixture(scope="module")
def report_html(result) -> str:
    return render_report(result)


def script_sources(text: str) -> list[str]:
    return re.findall(r"<script[^>]*\bsrc\s*=\s*[\"']?([^\"' >]+)", text, flags=re.I)


def embedded_specs(text: str) -> list[dict]:
    """The Vega-Lite specs passed to vegaEmbed in the page."""
    specs = []
    for match in re.finditer(r"vegaEmbed\('#chart-[a-z_]+', ", text):
        spec, _ = json.JSONDecoder().raw_decode(text, match.end())
        specs.append(spec)
    return specs


def test_report_holds_recommendation_label_tables_and_specs(result, report_html):
    rec = result.recommendation
    assert rec is not None
    assert escape(result.recommendation_line()) in report_html
    assert "EMULATED" in report_html and "(emulated)" in report_html
    for reason in rec.reasons:
        assert escape(reason) in report_html
    for heading in (
        "Stability",
        "Concurrency",
        "Cold starts",
        "Costs",
        "Break-even",
        "Prices used",
        "Configuration",
    ):
        assert f"<h2>{heading}" in report_html
    prices = result.prices
    assert f"as of {prices.as_of}" in report_html
    specs = embedded_specs(report_html)
    assert len(specs) == 5
    assert all(s["$schema"].startswith("https://vega.github.io/schema/vega-lite/") for s in specs)
    cost_rows = next(s for s in specs if "cost_vs_latency" in s["datasets"])
    roles = {r["role"] for r in cost_rows["datasets"]["cost_vs_latency"]}
    assert "recommended" in roles


def test_report_loads_nothing_from_the_network(report_html):
    assert script_sources(report_html) == []
    assert not re.search(r"<link[^>]+href=[\"']?https?:", report_html, flags=re.I)
    assert "window.vegaEmbed" in report_html  # the bundled library is inline


def test_svg_mode_has_no_javascript(result, tmp_path):
    path = write_report(result, tmp_path / "svg.html", charts="svg")
    text = path.read_text()
    assert "<script" not in text
    assert text.count("<svg") >= 5
    with pytest.raises(ValueError, match="svg"):
        render_report(result, charts="png")


def test_report_escapes_user_text(tmp_path):
    res = BenchmarkResult(config(model_name="<script>alert(1)</script>"), invocations())
    text = render_report(res)
    assert "<script>alert(1)</script>" not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text


@pytest.mark.parametrize("charts", ["vega", "svg"])
def test_report_escapes_html_special_characters_everywhere(charts):
    name = "<script>x</script>&"
    inv = invocations()
    inv["trial_id"] = inv["trial_id"] + name  # reaches the timeline chart's data
    res = BenchmarkResult(config(model_name=name), inv, run_id=name, status=name, errors=[name])
    text = render_report(res, charts=charts)
    assert "<script>x" not in text
    escaped = "&lt;script&gt;x&lt;/script&gt;&amp;"
    assert f"<title>Serverless benchmark of {escaped}</title>" in text
    assert f"Run {escaped}" in text and f"status <b>{escaped}</b>" in text
    assert f"<li>{escaped}</li>" in text  # the run's errors
    assert f"<td>{escaped}</td>" in text  # the configuration table
    # JSON in <script> cannot close it, and still reads back to the same values
    assert text.count("</script>") == (2 if charts == "vega" else 0)
    if charts == "vega":
        timeline = next(s for s in embedded_specs(text) if "timeline_points" in s["datasets"])
        trial_ids = {row["trial_id"] for row in timeline["datasets"]["timeline_points"]}
        assert trial_ids and all(t.endswith(name) for t in trial_ids)


@pytest.mark.parametrize("frame", [None, "no_ok"])
def test_empty_or_failed_run_still_renders(frame, tmp_path):
    inv = None
    if frame == "no_ok":
        inv = invocations()
        inv["outcome"] = "throttled"
    res = BenchmarkResult(config(), inv, status="stopped")
    path = write_report(res, tmp_path)
    assert path == tmp_path / "report.html"
    text = path.read_text()
    assert "No recommendation" in text and "stopped" in text
    assert "EMULATED" not in text
    assert len(embedded_specs(text)) == 5
