"""Runs driven through the panel against the emulator: start, watch, stop, wait, decide."""

from __future__ import annotations

import ast
import json

import pandas as pd

from sm_bench_widgets.aws.endpoints import find_leftovers
from sm_bench_widgets.result import BenchmarkResult
from tests.waiting import wait_until
from tests.widgets.conftest import CSV_EXAMPLES


def test_run_to_the_end_fills_charts_card_and_exports(make_panel, emulator_target):
    panel = make_panel()
    seen: list[tuple[int, int]] = []  # (rows delivered so far, rows in the timeline counts)
    panel.chart_observers.append(
        lambda rows, _t: seen.append(
            (
                panel.dashboard.row_count,
                sum(
                    r["count"]
                    for r in panel.dashboard.charts["timeline"].datasets()["timeline_counts"]
                ),
            )
        )
    )
    handle = panel.start()
    assert handle.status in ("running", "stopping") or handle.done  # start() did not block
    assert panel.run_button.disabled and not panel.stop_button.disabled
    result = panel.wait(timeout=120)
    assert result is panel.result and result.status == "completed"
    assert result.emulated

    # the live charts got the rows as they came, and hold every row at the end
    assert len(seen) >= 2 and all(shown == delivered for delivered, shown in seen)
    data = {name: live.datasets() for name, live in panel.dashboard.charts.items()}
    counts = data["timeline"]["timeline_counts"]
    assert sum(r["count"] for r in counts) == len(result.invocations)
    assert {r["memory_size"] for r in data["latency_distribution"]["latency_distribution"]} == {
        1024,
        2048,
    }
    assert data["concurrency_chart"]["concurrency"]
    rec = result.recommendation
    picked = [r for r in data["cost_vs_latency"]["cost_vs_latency"] if r["role"] == "recommended"]
    assert [(r["memory_size"], r["max_concurrency"]) for r in picked] == [
        (rec.memory_size, rec.max_concurrency)
    ]

    # progress and status
    assert set(panel.progress.bars) >= {"stability", "concurrency"}
    assert panel.progress.bars["stability"].n > 0
    assert "completed" in panel.progress.status.value
    assert not panel.run_button.disabled and panel.stop_button.disabled

    # the card: what, latency and cost, why, runner-up, break-even, snippet
    card = panel.card.html.value
    assert f"{rec.memory_size} MB, max concurrency {rec.max_concurrency}" in card
    assert "Expected latency" in card and f"{rec.p90_ms:,.1f} ms" in card
    assert "Runner-up" in card and "Break-even" in card and "Emulated" in card
    assert rec.rule.split(":")[0] in card
    snippet = panel.card.snippet.value
    ast.parse(snippet)
    assert f'"MemorySizeInMB": {rec.memory_size}' in snippet
    assert f'"MaxConcurrency": {rec.max_concurrency}' in snippet and "ServerlessConfig" in snippet

    # exports into the result folder, paths shown
    for kind in ("CSV", "Parquet", "Excel", "HTML report"):
        panel.exports.buttons[kind].click()
        paths = panel.exports.written[kind]
        assert paths and all(p.is_file() and p.stat().st_size > 0 for p in paths)
        assert all(str(result.run_dir) in str(p) for p in paths)
        assert str(paths[0]) in panel.exports.paths.value
    csv = panel.exports.written["CSV"]
    invocations_csv = next(p for p in csv if p.name == "invocations.csv")
    assert len(pd.read_csv(invocations_csv)) == len(result.invocations)
    assert find_leftovers(emulator_target, result.run_id) == []


def test_stop_deletes_endpoints_and_keeps_the_partial_result(make_panel, emulator_target):
    panel = make_panel(adaptive=False, stability_benchmark_invocations=100_000, memory_sizes=[1024])
    handle = panel.start()
    wait_until(lambda: panel.dashboard.row_count >= 20, 60, "the dashboard did not reach 20 rows")
    assert find_leftovers(emulator_target, handle.run_id)  # its endpoint exists meanwhile
    panel.stop()
    result = panel.wait(timeout=60)
    assert result.status == "stopped"
    assert 20 <= len(result.invocations) < 100_000
    assert find_leftovers(emulator_target, handle.run_id) == []
    saved = BenchmarkResult.load(result.run_dir)
    assert len(saved.invocations) == len(result.invocations)
    assert "stopped" in panel.progress.status.value
    assert panel.card.widget.layout.display == ""  # the partial result is shown
    assert not panel.run_button.disabled


def test_errors_are_shown_in_the_panel(make_panel):
    panel = make_panel(model_name="no-such-model")
    panel.run_button.click()
    assert panel.handle is None
    assert panel.progress.errors and "no-such-model" in panel.progress.errors_html.value
    assert not panel.running


def test_display_errors_are_reported_and_a_second_run_starts_clean(make_panel):
    panel = make_panel(
        memory_sizes=[1024], include_concurrency_benchmark=False, stability_benchmark_invocations=40
    )

    def broken_observer(rows, applied):
        raise RuntimeError("observer broke")

    panel.chart_observers.append(broken_observer)
    first = panel.start()
    result = panel.wait(timeout=60)
    assert result.status == "completed"  # the run is not harmed by a failing display update
    assert any("observer broke" in e for e in panel.progress.errors)
    assert "observer broke" in panel.progress.errors_html.value

    panel.chart_observers.remove(broken_observer)
    second = panel.start()
    assert second.run_id != first.run_id
    assert panel.progress.errors == [] and panel.card.widget.layout.display == "none"
    again = panel.wait(timeout=60)
    assert again.run_id == second.run_id and panel.result is again
    counts = panel.dashboard.charts["timeline"].datasets()["timeline_counts"]
    assert sum(r["count"] for r in counts) == len(again.invocations)  # only the second run


def test_run_stays_disabled_after_a_run_when_the_form_became_invalid(make_panel, tmp_path):
    examples = tmp_path / "examples.jsonl"
    examples.write_text("\n".join(json.dumps(e) for e in CSV_EXAMPLES))
    panel = make_panel(
        invoke_args_examples=None,
        invoke_args_examples_file=str(examples),
        memory_sizes=[1024],
        include_concurrency_benchmark=False,
        stability_benchmark_invocations=30,
    )
    assert not panel.run_button.disabled
    panel.start()
    examples.unlink()  # the run has read it; the next one could not
    assert panel.wait(timeout=60).status == "completed"
    assert panel.run_button.disabled
    assert "examples.jsonl" in panel.payloads.flag_html.value


def test_a_failing_result_display_is_reported_and_leaves_the_panel_usable(make_panel):
    panel = make_panel(
        memory_sizes=[1024], include_concurrency_benchmark=False, stability_benchmark_invocations=30
    )

    def broken_card(*_args, **_kwargs):
        raise RuntimeError("card broke")

    panel.card.show = broken_card
    panel.start()
    result = panel.wait(timeout=60)
    assert result.status == "completed"
    assert not panel.running and not panel.run_button.disabled and panel.stop_button.disabled
    assert "card broke" in panel.progress.errors_html.value
    assert panel.exports.widget.layout.display == ""  # the result can still be exported
