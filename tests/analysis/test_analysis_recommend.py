"""The recommendation rule on constructed summaries with known answers."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from sm_bench_widgets.analysis.cost import cost_table
from sm_bench_widgets.analysis.pricing import get_prices
from sm_bench_widgets.analysis.recommend import recommend, recommend_or_reason
from sm_bench_widgets.analysis.stats import summarize
from sm_bench_widgets.config import ConfigError
from sm_bench_widgets.schema import COST_COLUMNS, SUMMARY_COLUMNS


def _summary_row(
    trial_id,
    memory,
    p50,
    p90,
    p99,
    *,
    phase="stability",
    max_conc=1,
    provisioned=0,
    clients=1,
    count=100,
    errors=0,
    throughput=5.0,
):
    row = dict.fromkeys(SUMMARY_COLUMNS, math.nan)
    row.update(
        trial_id=trial_id,
        phase=phase,
        memory_size=memory,
        max_concurrency=max_conc,
        provisioned_concurrency=provisioned,
        clients=clients,
        count=count,
        ok_count=count - errors,
        model_error_count=errors,
        error_rate=errors / count,
        p50_ms=p50,
        p90_ms=p90,
        p99_ms=p99,
        throughput_rps=throughput,
        stop_reason="",
    )
    return row


def _cost_row(memory, per_invocation, *, max_conc=1, provisioned=0):
    row = dict.fromkeys(COST_COLUMNS, 0.0)
    row.update(
        memory_size=memory,
        max_concurrency=max_conc,
        provisioned_concurrency=provisioned,
        compute_per_invocation_usd=per_invocation,
        cost_per_invocation_usd=per_invocation,
        cost_per_1m_usd=per_invocation * 1e6,
    )
    return row


def _three_memories(errors_3072: int = 0):
    """1024 MB: cheapest and slowest; 3072 MB: fastest and dearest; 2048 MB in between."""
    summary = pd.DataFrame(
        [
            _summary_row("s-1024", 1024, 250, 300, 400),
            _summary_row("s-2048", 2048, 120, 150, 200),
            _summary_row("s-3072", 3072, 80, 100, 150, errors=errors_3072),
        ]
    )
    costs = pd.DataFrame(
        [_cost_row(1024, 5.0e-6), _cost_row(2048, 6.0e-6), _cost_row(3072, 8.0e-6)]
    )
    return summary, costs


def test_cost_picks_the_cheapest_and_speed_the_fastest():
    summary, costs = _three_memories()
    assert recommend(summary, costs, "cost").memory_size == 1024
    speed = recommend(summary, costs, "speed")
    assert (speed.memory_size, speed.p90_ms) == (3072, 100)
    assert speed.cost_per_1m_usd == pytest.approx(8.0)


def test_balanced_minimises_the_weighted_geometric_score_and_states_the_rule():
    summary, costs = _three_memories()
    # sqrt(p90 x cost per 1M): 1024 -> sqrt(300 x 5) = 38.73, 2048 -> sqrt(150 x 6) = 30.0,
    # 3072 -> sqrt(100 x 8) = 28.28: 3072 MB, 2048 MB 6.1% behind, 1024 MB 37% behind.
    rec = recommend(summary, costs, "balanced", 0.5)
    assert rec.memory_size == 3072 and rec.ties == []
    # one plain sentence first; the rule in full and its formula one attribute away
    assert rec.rule == (
        "Recommended as the best trade-off between latency (p90) and cost per invocation "
        "among the configurations measured, counting the two equally."
    )
    assert rec.rule_detail.startswith("balanced: Each configuration that meets the constraints")
    assert "weighted 0.5 to 0.5" in rec.rule_detail and "within 2%" in rec.rule_detail
    assert rec.formula.startswith("score = (p90 / fastest p90)^0.5 x (cost / cheapest cost)^0.5")
    assert rec.rule_formula.startswith(rec.rule_detail) and rec.formula in rec.rule_formula
    for jargon in ("min-max", "norm(", "feasible", "geometric", "^"):
        assert jargon not in rec.rule
    assert "score 1.000 of the best" in rec.reasons[0]
    assert rec.runner_up.memory_size == 2048
    assert "runner-up, 2048 MB" in rec.reasons[-1] and "50.0 ms slower" in rec.reasons[-1]
    # Weight 0.3: 300^.3 x 5^.7 = 17.08, 150^.3 x 6^.7 = 15.75, 100^.3 x 8^.7 = 17.07.
    assert recommend(summary, costs, "balanced", 0.3).memory_size == 2048
    assert recommend(summary, costs, "balanced", 1.0).memory_size == 3072
    assert recommend(summary, costs, "balanced", 0.0).memory_size == 1024


def test_balanced_ranking_of_two_does_not_depend_on_the_rest_of_the_grid():
    summary, costs = _three_memories()
    pair = summary.iloc[1:].reset_index(drop=True), costs.iloc[1:].reset_index(drop=True)
    for weight in (0.2, 0.5, 0.8):
        with_all = recommend(summary, costs, "balanced", weight)
        alone = recommend(*pair, "balanced", weight)
        if with_all.memory_size != 1024:
            assert alone.memory_size == with_all.memory_size


def test_sla_excludes_the_cheapest():
    summary, costs = _three_memories()
    rec = recommend(summary, costs, "cost", sla_percentile=90, sla_ms=200)
    assert rec.memory_size == 2048
    assert "p90 <= 200 ms" in rec.rule_detail
    assert rec.rule == (
        "Recommended as the cheapest per invocation among the configurations that met your "
        "limits (p90 latency at most 200 ms)."
    )
    assert any("1024 MB" in r and "misses the SLA" in r for r in rec.reasons)


def test_sla_on_p95_is_checked_on_p95():
    summary, costs = _three_memories()
    summary["p95_ms"] = [350.0, 180.0, 120.0]
    assert recommend(summary, costs, "cost", sla_percentile=95, sla_ms=180).memory_size == 2048
    rec = recommend(summary, costs, "cost", sla_percentile=95, sla_ms=170)
    assert rec.memory_size == 3072 and "p95 <= 170 ms" in rec.rule_detail
    assert "p95 latency at most 170 ms" in rec.rule


def test_error_rate_limit_excludes_the_fastest():
    summary, costs = _three_memories(errors_3072=10)
    assert recommend(summary, costs, "speed").memory_size == 3072
    rec = recommend(summary, costs, "speed", max_error_rate=0.05)
    assert rec.memory_size == 2048
    assert any("3072 MB" in r and "10.0% > 5.0%" in r for r in rec.reasons)


def test_nothing_feasible_returns_none_with_the_reason():
    summary, costs = _three_memories()
    assert recommend(summary, costs, "speed", sla_percentile=90, sla_ms=50) is None
    rec, reason = recommend_or_reason(summary, costs, "speed", sla_percentile=90, sla_ms=50)
    assert rec is None
    assert "p90 <= 50 ms" in reason and "3072 MB" in reason and "100.0 ms > 50 ms" in reason
    empty, why = recommend_or_reason(summary.iloc[0:0], costs)
    assert empty is None and why


def test_cost_ties_go_to_the_faster_and_speed_ties_to_the_cheaper():
    summary = pd.DataFrame(
        [_summary_row("a", 2048, 100, 150, 200), _summary_row("b", 3072, 70, 100, 130)]
    )
    costs = pd.DataFrame([_cost_row(2048, 6.00e-6), _cost_row(3072, 6.03e-6)])
    assert recommend(summary, costs, "cost").memory_size == 3072  # within 1%: faster wins
    summary = pd.DataFrame(
        [_summary_row("a", 2048, 70, 100.5, 200), _summary_row("b", 3072, 70, 100.0, 130)]
    )
    costs = pd.DataFrame([_cost_row(2048, 5e-6), _cost_row(3072, 9e-6)])
    assert recommend(summary, costs, "speed").memory_size == 2048  # within 1%: cheaper wins


def test_max_concurrency_comes_from_the_concurrency_trials_at_the_chosen_memory():
    summary, costs = _three_memories()
    conc = [
        _summary_row("c2x1", 2048, 125, 160, 220, phase="concurrency", max_conc=2, clients=2),
        _summary_row(
            "c2x2", 2048, 300, 900, 990, phase="concurrency", max_conc=2, clients=4, errors=40
        ),
        _summary_row(
            "c4x1", 2048, 118, 152, 210, phase="concurrency", max_conc=4, clients=4, throughput=30.0
        ),
        _summary_row(
            "c8x1", 2048, 110, 140, 190, phase="concurrency", max_conc=8, clients=8, errors=30
        ),
        _summary_row("c1024", 1024, 10, 10, 10, phase="concurrency", max_conc=16, clients=16),
    ]
    summary = pd.concat([summary, pd.DataFrame(conc)], ignore_index=True)
    costs = pd.concat(
        [
            costs,
            pd.DataFrame(
                [
                    _cost_row(2048, 6.1e-6, max_conc=2),
                    _cost_row(2048, 6.0e-6, max_conc=4),
                    _cost_row(2048, 5.9e-6, max_conc=8),
                ]
            ),
        ],
        ignore_index=True,
    )
    rec = recommend(summary, costs, "speed", max_error_rate=0.1, sla_percentile=90, sla_ms=200)
    # Speed picks 3072 MB, which has no concurrency trials: its stability setting stays.
    assert rec.memory_size == 3072 and rec.max_concurrency == 1
    # At weight 0.3 2048 MB leads stage 1 by 8% (see the balanced test).
    balanced = recommend(summary, costs, "balanced", 0.3, max_error_rate=0.1)
    assert balanced.memory_size == 2048
    # Max concurrency 8 has 30% errors at its own load and 2 is slower than 4.
    assert balanced.max_concurrency == 4 and balanced.p90_ms == 152
    assert balanced.cost_per_1m_usd == pytest.approx(6.0)
    assert any("Max concurrency 4" in r and "30.0 invocations/s" in r for r in balanced.reasons)
    assert any("max concurrency 8" in r and "30.0% > 10.0%" in r for r in balanced.reasons)
    assert balanced.runner_up.max_concurrency == 1  # second by memory, from stage 1


def test_provisioned_variants_compete_with_their_own_costs(make_invocations):
    rng = np.random.default_rng(3)
    inv = pd.concat(
        [
            make_invocations("od", rng.lognormal(np.log(100), 0.1, 80), memory_size=2048),
            make_invocations(
                "pc",
                rng.lognormal(np.log(95), 0.1, 80),
                memory_size=2048,
                provisioned_concurrency=1,
            ),
        ],
        ignore_index=True,
    )
    summary = summarize(inv)
    prices = get_prices("us-east-1")
    busy = cost_table(summary, inv, prices, monthly_invocations=100_000_000)
    quiet = cost_table(summary, inv, prices, monthly_invocations=10_000)
    # At high volume the cheaper provisioned compute rate outweighs the spread holding
    # cost; at low volume the holding cost dominates.
    assert recommend(summary, busy, "cost").provisioned_concurrency == 1
    assert recommend(summary, quiet, "cost").provisioned_concurrency == 0


def test_end_to_end_from_invocations(make_invocations):
    rng = np.random.default_rng(11)
    inv = pd.concat(
        [
            make_invocations(
                f"m{m}", rng.lognormal(np.log(300 * (1024 / m) ** 0.5), 0.1, 60), memory_size=m
            )
            for m in (1024, 2048, 4096)
        ],
        ignore_index=True,
    )
    summary = summarize(inv)
    costs = cost_table(summary, inv, get_prices("us-east-1"), 1_000_000)
    # Latency falls by 1/sqrt(2) per doubling of memory: about 300, 212 and 150 ms, at
    # 6, 8.5 and 12 USD per 1M. The balanced score p90^w x cost^(1-w) goes as
    # memory^(0.5 - w): below 0.5 the smallest memory wins, above it the largest.
    assert recommend(summary, costs, "speed").memory_size == 4096
    assert recommend(summary, costs, "cost").memory_size == 1024
    assert recommend(summary, costs, "balanced", 0.8).memory_size == 4096
    data = recommend(summary, costs, "balanced", 0.2).to_dict()
    assert data["memory_size"] == 1024 and data["runner_up"]["memory_size"] in (2048, 4096)
    assert set(data) >= {
        "memory_size",
        "max_concurrency",
        "provisioned_concurrency",
        "p50_ms",
        "p90_ms",
        "p99_ms",
        "cost_per_1m_usd",
        "strategy",
        "rule",
        "reasons",
        "runner_up",
        "formula",
        "ties",
        "billed_from",
    }


def test_bad_arguments_name_the_field():
    summary, costs = _three_memories()
    with pytest.raises(ConfigError) as err:
        recommend(summary, costs, "cheapest")
    assert err.value.field == "strategy"
    with pytest.raises(ConfigError) as err:
        recommend(summary, costs, sla_ms=100)
    assert err.value.field == "sla_percentile"
    with pytest.raises(ConfigError) as err:
        recommend(summary, costs, sla_percentile=75, sla_ms=100)
    assert err.value.field == "sla_percentile"
    with pytest.raises(ConfigError) as err:
        recommend(summary, costs, weight=2)
    assert err.value.field == "balanced_weight"


def test_recommendation_displays_as_one_line_and_as_html():
    summary, costs = _three_memories()
    rec = recommend(summary, costs, "speed")
    assert repr(rec).startswith("<Recommendation Deploy 3072 MB, max concurrency 1: p50 80.0 ms")
    assert "runner-up: Deploy 2048 MB" in repr(rec)
    text = rec._repr_html_()
    assert text.startswith('<div class="tex2jax_ignore mathjax_ignore"><b>Deploy 3072 MB')
    # no "$" for MathJax or Markdown to read as LaTeX: each is an entity in an ignored block
    assert "$" not in text and "&#36;8.0000 per 1M" in text
    assert f"<p>{rec.rule}</p>" in text
    assert "<details><summary>The rule in full</summary>" in text and "score = p90" in text


def test_a_memory_size_the_model_does_not_fit_is_excluded_for_that_reason():
    summary, costs = _three_memories()
    summary.loc[0, ["p50_ms", "p90_ms", "p99_ms", "ok_count", "insufficient_memory_count"]] = [
        math.nan,
        math.nan,
        math.nan,
        0,
        3,
    ]
    rec = recommend(summary, costs, "cost")
    assert rec.memory_size == 2048
    assert any("1024 MB, max concurrency 1 is too small for the model: 3" in r for r in rec.reasons)
