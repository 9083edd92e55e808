"""Percentile intervals, trial summaries and the precision stop, against known answers."""

from __future__ import annotations

import math
from statistics import NormalDist

import numpy as np
import pandas as pd
import pytest

from sm_bench_widgets.analysis.stats import (
    SMOOTH_MAX_N,
    SMOOTH_MIN_TAIL,
    harrell_davis_weights,
    order_statistic_ranks,
    percentile_ci,
    percentile_settled,
    precision_ci,
    precision_reached,
    regularized_beta,
    smooth_percentile_ci,
    summarize,
)
from sm_bench_widgets.schema import SUMMARY_COLUMNS
from tests.rows import invocation_frame, invocation_row, invocation_rows


def test_median_interval_matches_published_order_statistic_table():
    # Classic table: for n = 10 the 95% median interval is (x_(2), x_(9)), coverage 97.9%.
    estimate, low, high = percentile_ci(range(1, 11), 50, 0.95)
    assert (estimate, low, high) == (5.5, 2.0, 9.0)
    # n = 6 is the smallest sample with a 95% median interval: (x_(1), x_(6)).
    assert percentile_ci([3, 1, 6, 2, 5, 4], 50, 0.95)[1:] == (1.0, 6.0)


def test_bounds_are_nan_when_the_sample_is_too_small():
    _, low, high = percentile_ci([1, 2, 3, 4, 5], 50, 0.95)
    assert math.isnan(low) and math.isnan(high)
    # p90 at 95% needs 0.9^n <= 0.025 for an upper bound (all n below p90): n >= 36.
    assert order_statistic_ranks(35, 90, 0.95)[1] is None
    assert order_statistic_ranks(36, 90, 0.95)[1] == 36


def test_interval_ignores_non_finite_values_and_empty_input_is_nan():
    assert percentile_ci([np.nan, 1, 2, 3, 4, 5, 6, np.inf], 50, 0.95)[1:] == (1.0, 6.0)
    assert all(math.isnan(v) for v in percentile_ci([], 50, 0.95))
    with pytest.raises(ValueError, match="q=100"):
        percentile_ci([1, 2], 100, 0.95)


@pytest.mark.parametrize("q, n", [(50, 40), (90, 120)])
def test_coverage_by_simulation_is_at_least_nominal(q, n):
    rng = np.random.default_rng(12345)
    true_value = -math.log(1 - q / 100)  # quantile of Exponential(1)
    reps = 1500
    hits = 0
    for _ in range(reps):
        _, low, high = percentile_ci(rng.exponential(1.0, n), q, 0.95)
        hits += low <= true_value <= high
    coverage = hits / reps
    # Exact order-statistic intervals cover at least 95%; discreteness adds a little.
    assert 0.94 <= coverage <= 0.995, coverage


def test_summarize_counts_outcomes_and_uses_only_ok_warm_latencies(make_invocations):
    a = make_invocations(
        "t-a",
        [900, 10, 20, 30, 40, 999, 998, 997, 996],
        outcomes=[
            "ok",
            "ok",
            "ok",
            "ok",
            "ok",
            "throttled",
            "insufficient_memory",
            "model_error",
            "error",
        ],
        cold=[True, False, False, False, False, False, False, False, False],
        memory_size=1024,
    )
    b = make_invocations(
        "t-b",
        [100.0] * 4,
        phase="concurrency",
        max_concurrency=4,
        clients=8,
        start=2000.0,
        gap_s=0.5,
    )
    b["stop_reason"] = ["", "", "", "precision"]
    summary = summarize(pd.concat([a, b], ignore_index=True), stop_reasons={"t-a": "dominated"})

    assert list(summary.columns) == SUMMARY_COLUMNS
    assert list(summary["trial_id"]) == ["t-a", "t-b"]
    ra, rb = summary.iloc[0], summary.iloc[1]
    assert (
        ra["count"],
        ra["ok_count"],
        ra["throttle_count"],
        ra["insufficient_memory_count"],
        ra["model_error_count"],
        ra["other_error_count"],
    ) == (9, 5, 1, 1, 1, 1)
    assert ra["error_rate"] == pytest.approx(4 / 9)
    assert ra["cold_count"] == 1
    # Warm ok latencies are 10, 20, 30, 40: the cold 900 ms and the errors are left out.
    assert ra["mean_ms"] == pytest.approx(25.0)
    assert ra["p50_ms"] == pytest.approx(25.0)
    assert ra["iqr_ms"] == pytest.approx(32.5 - 17.5)
    # Trial spans from 1000.0 to the last end 1008.996: 5 ok invocations over it.
    assert ra["duration_s"] == pytest.approx(8.996)
    assert ra["throughput_rps"] == pytest.approx(5 / 8.996)
    assert ra["stop_reason"] == "dominated"
    assert (rb["phase"], rb["max_concurrency"], rb["clients"]) == ("concurrency", 4, 8)
    assert rb["error_rate"] == 0 and rb["stop_reason"] == "precision"
    assert math.isnan(ra["p50_ci_low"])  # 4 warm samples: too few for a 95% interval
    assert summary.attrs["confidence"] == 0.95


def test_summarize_of_an_empty_frame_has_the_columns():
    summary = summarize(pd.DataFrame(columns=SUMMARY_COLUMNS))
    assert list(summary.columns) == SUMMARY_COLUMNS and summary.empty


def test_summarize_with_no_successful_invocation_has_nan_latency(make_invocations):
    rows = make_invocations("t", [5.0] * 3, outcomes=["insufficient_memory"] * 3)
    row = summarize(rows).iloc[0]
    assert row["error_rate"] == 1.0 and math.isnan(row["p90_ms"])
    assert row["throughput_rps"] == 0.0


def test_cold_start_probes_count_in_their_trial_under_its_phase(make_invocations):
    probe = make_invocations("t", [900.0], phase="cold_start", cold=[True])
    rest = make_invocations("t", [10.0, 12.0], start=1001.0)
    only_probe = make_invocations("p", [800.0], phase="cold_start", cold=[True])
    table = summarize(pd.concat([probe, rest, only_probe])).set_index("trial_id")
    assert table.loc["t", "phase"] == "stability" and table.loc["t", "count"] == 3
    assert table.loc["t", "cold_count"] == 1 and table.loc["t", "p50_ms"] == 11.0
    assert table.loc["p", "phase"] == "cold_start"
    # the probe is not the load: throughput and duration are the load's own (1001.0 to
    # 1002.012), however long before it the probe ran
    assert table.loc["t", "duration_s"] == pytest.approx(1.012)
    assert table.loc["t", "throughput_rps"] == pytest.approx(2 / 1.012)
    assert table.loc["p", "duration_s"] == pytest.approx(0.8)  # a probe alone: its own


def _closed_loop(cold_ms: dict[int, int], client_start_ms: dict[int, int]) -> pd.DataFrame:
    """Trial "c" (MaxConcurrency 4, 4 clients) after a 7 s probe at 1000.0: each client
    sends back-to-back 200 ms requests from its start (1007.0 unless ``client_start_ms``
    says, in ms since 1000.0), the first one cold for ``cold_ms[client]`` when given,
    until the load stops sending at 1017.0."""
    shared = dict(phase="concurrency", max_concurrency=4, clients=4)
    rows = [invocation_row("c", 7000.0, start=1000.0, cold=True, **shared)]
    rows[0]["phase"] = "cold_start"
    for client in range(4):
        t = client_start_ms.get(client, 7000)  # integer ms: no drift in the counts
        if client in cold_ms:
            cold = invocation_row(
                "c", cold_ms[client], start=1000 + t / 1000, cold=True, client_id=client, **shared
            )
            rows.append(cold)
            t += cold_ms[client]
        while t < 17000:
            rows.append(
                invocation_row("c", 200.0, start=1000 + t / 1000, client_id=client, **shared)
            )
            t += 200
    return invocation_frame(rows)


def test_throughput_is_the_warm_window_after_the_load_s_cold_starts():
    # the probe warmed one instance; clients 1-3 each wait 7 s on one starting (1007-1014)
    rows = _closed_loop({1: 7000, 2: 7000, 3: 7000}, {0: 7100})
    row = summarize(rows).iloc[0]
    # whole load: 50 + 3 x 16 ok from 1007.0 to 1017.1, the cold starts weighing on it
    assert row["duration_s"] == pytest.approx(10.1)
    assert row["throughput_all_rps"] == pytest.approx(98 / 10.1)
    # warm window 1014.0 (the last cold end) to 1017.1: client 0 completes 16, the others
    # 15 each: about 4 clients / 200 ms
    assert row["throughput_window_s"] == pytest.approx(3.1)
    assert row["throughput_rps"] == pytest.approx(61 / 3.1)
    assert row["throughput_rps"] == pytest.approx(4 / 0.2, rel=0.05)
    assert row["cold_count"] == 4 and row["p50_ms"] == pytest.approx(200.0)


def test_throughput_without_cold_starts_in_the_load_is_the_whole_load_s():
    rows = _closed_loop({}, {})
    row = summarize(rows).iloc[0]
    assert row["duration_s"] == pytest.approx(10.0)  # 1007.0 to 1017.0
    assert row["throughput_rps"] == pytest.approx(4 * 50 / 10.0)
    assert row["throughput_all_rps"] == row["throughput_rps"]
    assert row["throughput_window_s"] == row["duration_s"]


def test_a_warm_window_too_short_falls_back_to_the_whole_load():
    # the cold starts end at 1016.6: 3 + 3 x 2 = 9 completions after, fewer than
    # max(STEADY_MIN_OK, STEADY_OK_PER_SLOT x 4) = 10
    rows = _closed_loop({1: 9600, 2: 9600, 3: 9600}, {0: 7100})
    row = summarize(rows).iloc[0]
    assert row["throughput_rps"] == row["throughput_all_rps"]
    assert row["throughput_rps"] == pytest.approx((50 + 3 * 3) / 10.1)
    assert row["throughput_window_s"] == row["duration_s"]


def test_precision_reached_on_steady_and_not_on_noisy_or_short_samples():
    rng = np.random.default_rng(7)
    steady = rng.lognormal(np.log(100), 0.02, 200)
    noisy = rng.lognormal(np.log(100), 0.8, 200)
    assert precision_reached(steady, 0.05, 0.95)
    assert not precision_reached(noisy, 0.05, 0.95)
    assert not precision_reached(steady[:20], 0.05, 0.95)  # p90 bound not defined yet


def _samples_needed(sigma: float, grid: list[int], reps: int, seed: int) -> int | None:
    """Smallest n on the grid at which p90 +-5% at 95% is reached in most replicates."""
    rng = np.random.default_rng(seed)
    for n in grid:
        reached = sum(
            precision_reached(rng.lognormal(0.0, sigma, n), 0.05, 0.95, (90,)) for _ in range(reps)
        )
        if reached * 2 > reps:
            return n
    return None


def test_samples_needed_for_p90_match_the_stated_ballpark():
    # Stated: ~60 samples at sigma 0.1, ~400 at 0.3 and over 1000 at 0.5; allow up to
    # about twice those.
    n_01 = _samples_needed(0.1, [30, 45, 60, 75, 90, 110, 130, 160], 24, seed=1)
    n_03 = _samples_needed(0.3, [250, 350, 450, 550, 650, 800, 1000], 24, seed=2)
    n_05 = _samples_needed(0.5, [800, 1000, 1200, 1400, 1700, 2000, 2500], 24, seed=3)
    assert n_01 is not None and 40 <= n_01 <= 130, n_01
    assert n_03 is not None and 300 <= n_03 <= 800, n_03
    assert n_05 is not None and 1000 < n_05 <= 2500, n_05


def test_regularized_beta_matches_closed_forms():
    x = np.linspace(0.0, 1.0, 21)
    assert regularized_beta(1.0, 1.0, x) == pytest.approx(x, abs=1e-12)
    assert regularized_beta(3.5, 1.0, x) == pytest.approx(x**3.5, abs=1e-12)
    assert regularized_beta(1.0, 2.5, x) == pytest.approx(1 - (1 - x) ** 2.5, abs=1e-12)
    assert regularized_beta(40.3, 40.3, np.array([0.5]))[0] == pytest.approx(0.5, abs=1e-12)
    # integer a, b: I_x(a, b) = P(Binomial(a + b - 1, x) >= a)
    a, b, t = 9, 4, 0.63
    tail = sum(math.comb(12, k) * t**k * (1 - t) ** (12 - k) for k in range(a, 13))
    assert regularized_beta(a, b, np.array([t]))[0] == pytest.approx(tail, abs=1e-12)


def test_harrell_davis_weights_sum_to_one_and_the_median_s_are_symmetric():
    for n, q in [(2, 50), (31, 90), (500, 99)]:
        assert harrell_davis_weights(n, q).sum() == pytest.approx(1.0, abs=1e-12)
    w = harrell_davis_weights(40, 50)
    assert w == pytest.approx(w[::-1], abs=1e-12)
    # the p90 estimate of 1..n sits near the 0.9(n + 1)-th value
    n = 200
    assert harrell_davis_weights(n, 90) @ np.arange(1, n + 1) == pytest.approx(0.9 * (n + 1), abs=1)


def test_smooth_interval_of_too_few_values_has_no_bounds_and_checks_its_input():
    assert math.isnan(smooth_percentile_ci([], 50)[0])
    estimate, low, high = smooth_percentile_ci([4.0], 50)
    assert estimate == 4.0 and math.isnan(low) and math.isnan(high)
    with pytest.raises(ValueError, match="q=0"):
        smooth_percentile_ci([1, 2], 0)
    with pytest.raises(ValueError, match="confidence=1"):
        smooth_percentile_ci([1, 2], 50, 1)


@pytest.mark.parametrize("q, n, sigma", [(50, 30, 0.1), (90, 50, 0.1), (90, 120, 0.3)])
def test_smooth_interval_covers_the_true_percentile_at_about_the_stated_rate(q, n, sigma):
    # 600 fixed seeds: a deterministic count, where the rule uses the smooth interval
    assert n * min(q, 100 - q) >= SMOOTH_MIN_TAIL * 100
    true_value = math.exp(sigma * NormalDist().inv_cdf(q / 100))  # lognormal(0, sigma)
    covered = 0
    for seed in range(600):
        x = np.random.default_rng(seed).lognormal(0.0, sigma, n)
        _, low, high = precision_ci(x, q, 0.95)
        covered += low <= true_value <= high
    assert 0.93 <= covered / 600 <= 0.975, covered


def test_smooth_interval_is_narrower_than_the_order_statistic_one_on_smooth_data():
    for q, n in [(50, 60), (90, 60), (90, 200)]:
        narrower = 0
        for seed in range(50):
            x = np.random.default_rng(seed).lognormal(0.0, 0.1, n)
            e_old, low_old, high_old = percentile_ci(x, q, 0.95)
            e_new, low_new, high_new = smooth_percentile_ci(x, q, 0.95)
            narrower += (
                max(e_new - low_new, high_new - e_new) / e_new
                < max(e_old - low_old, high_old - e_old) / e_old
            )
        assert narrower >= 40, (q, n, narrower)


def test_precision_interval_is_the_order_statistic_one_where_the_tail_is_thin():
    x = np.random.default_rng(3).lognormal(0.0, 0.1, 500)
    assert precision_ci(x[:100], 99) == percentile_ci(x[:100], 99)  # 1 expected above
    assert precision_ci(x[:40], 90) == percentile_ci(x[:40], 90)
    assert precision_ci(x, 99) == smooth_percentile_ci(x, 99)  # 5 expected above
    assert precision_ci(x[:50], 90) == smooth_percentile_ci(x[:50], 90)


def test_a_percentile_known_within_the_absolute_floor_is_precise_enough():
    # a 5 ms latency with a wide spread: +-5% is +-0.25 ms, far off at 200 samples
    x = np.random.default_rng(6).lognormal(np.log(5.0), 0.4, 200)
    assert not precision_reached(x, 0.05, 0.95, (50, 90))
    assert precision_reached(x, 0.05, 0.95, (50, 90), floor_ms=1.0)
    assert not precision_reached(x[:20], 0.05, 0.95, (50, 90), floor_ms=1.0)
    assert percentile_settled(x, 90, 0.05, 0.95, floor_ms=1.0)
    assert not percentile_settled(x, 90, 0.05, 0.95)


def test_precision_interval_is_the_order_statistic_one_on_large_samples():
    x = np.random.default_rng(4).lognormal(0.0, 0.1, SMOOTH_MAX_N + 1)
    assert precision_ci(x, 90) == percentile_ci(x, 90)
    assert precision_ci(x[:-1], 90) == smooth_percentile_ci(x[:-1], 90)


@pytest.mark.parametrize("n", [200, 1000, 3000])
@pytest.mark.parametrize("q", [1, 50, 90, 99])
def test_harrell_davis_weights_far_from_the_percentile_are_left_out_exactly(n, q):
    p = q / 100
    full = np.diff(regularized_beta((n + 1) * p, (n + 1) * (1 - p), np.arange(n + 1) / n))
    assert np.max(np.abs(harrell_davis_weights(n, q) - full)) < 1e-12


def test_a_summary_shows_the_interval_the_stopping_rule_checks():
    latencies = np.random.default_rng(5).lognormal(4.0, 0.2, 200)
    row = summarize(invocation_rows("t1", latencies)).iloc[0]
    _, low, high = precision_ci(latencies, 90)
    assert (row["p90_ci_low"], row["p90_ci_high"]) == pytest.approx((low, high))
    assert row["p90_ms"] == pytest.approx(np.percentile(latencies, 90))


def test_precision_stop_comes_sooner_than_with_order_statistics():
    # the stopping rule's cadence: from 30 samples, every 10, p50 and p90 within +-5%
    def stop(x: np.ndarray, reached) -> int:
        return next(n for n in range(30, x.size + 1, 10) if reached(x[:n]))

    def old_rule(x: np.ndarray) -> bool:
        widths = []
        for q in (50, 90):
            e, low, high = percentile_ci(x, q, 0.95)
            widths.append(max(e - low, high - e) / e if np.isfinite([low, high]).all() else 9)
        return max(widths) <= 0.05

    streams = [np.random.default_rng(seed).lognormal(0.0, 0.08, 1000) for seed in range(60)]
    new = np.median([stop(x, lambda s: precision_reached(s, 0.05, 0.95)) for x in streams])
    old = np.median([stop(x, old_rule) for x in streams])
    assert new <= 50 < old, (new, old)
