"""The recommendation card's HTML: figures, the emulated label, and escaped text."""

from __future__ import annotations

import pytest

from sm_bench_widgets.result import BenchmarkResult
from sm_bench_widgets.widgets.card import card_html, config_label
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
