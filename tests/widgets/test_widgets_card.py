"""The recommendation card's HTML: figures, the emulated label, and escaped text."""

from __future__ import annotations

import pytest

from sm_bench_widgets.result import BenchmarkResult
from sm_bench_widgets.widgets.card import card_html, config_label, figures_html
from tests.test_report import config, invocations

NAME = "<script>x</script>&"
ESCAPED = "&lt;script&gt;x&lt;/script&gt;&amp;"


@pytest.fixture(scope="module")
def result() -> BenchmarkResult:
    return BenchmarkResult(config(), invocations(), emulated=True)


def test_card_shows_the_pick_runner_up_reasons_and_break_even(result):
    rec = result.recommendation
    text = card_html(rec, result.break_even, emulated=True, model_name="demo-nlp")
    assert f"Deploy <code>demo-nlp</code> on {config_label(rec)}</h3>" in text
    assert "<b>Emulated</b>" in text
    assert f"<b>Runner-up:</b> {config_label(rec.runner_up)}: p50 " in text
    assert text.count("<li>") == len(rec.reasons)
    assert "<b>Break-even:</b> an always-on ml." in text
    assert "<b>Emulated</b>" not in card_html(rec, result.break_even)


def test_card_escapes_html_special_characters(result):
    text = card_html(result.recommendation, result.break_even, True, model_name=NAME)
    assert NAME not in text and "<script>x" not in text
    assert f"<code>{ESCAPED}</code>" in text
    empty = card_html(None, None, reason=NAME)
    assert "No recommendation" in empty
    assert f"<p>{ESCAPED}</p>" in empty and "<script>x" not in empty


def test_card_of_a_stopped_run_says_what_was_not_measured_and_keeps_money_from_mathjax():
    from tests.test_result import known_invocations, make_config

    inv = known_invocations()
    stopped = BenchmarkResult(
        make_config(concurrency_num_clients_multiplier=[1.0, 2.0]),
        inv[inv["phase"] != "concurrency"],
        status="stopped",
    )
    rec = stopped.recommendation
    text = card_html(rec, stopped.break_even)
    assert f"Deploy {config_label(rec)}</h3>" in text and rec.max_concurrency == 1
    assert "<b>Not measured</b>" in text
    assert text.count('<li class="smb-missing">') == len(rec.not_measured) >= 2
    assert "2048 MB, max concurrency 2 (the run stopped before it)" in text
    # the whole card is left alone by MathJax; the rule leads, its full form one click away
    assert text.startswith('<div class="smb-card tex2jax_ignore mathjax_ignore"')
    assert f"): {rec.rule}</p>" in text
    assert '<details class="smb-rule-detail"><summary>The rule in full</summary>' in text
    complete = BenchmarkResult(make_config(concurrency_num_clients_multiplier=[1.0, 2.0]), inv)
    assert "Not measured" not in card_html(complete.recommendation, complete.break_even)


def test_figures_block_renders_any_configuration_with_its_monthly_cost(result):
    rec = result.recommendation
    block = figures_html(rec, monthly_usd=12.5, monthly_invocations=1_000_000)
    assert f"p90 {rec.p90_ms:,.1f} ms" in block and f"${rec.cost_per_1m_usd:,.4f} per 1M" in block
    assert "$12.50 a month at 1,000,000 invocations" in block
    # the card's own figures: the monthly cost at the config's volume
    month = f"{rec.monthly_text()}</p>"
    assert month.startswith("$") and month in card_html(rec, result.break_even)
