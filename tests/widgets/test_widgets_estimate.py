"""The pre-launch estimate: upper bounds computed from the plan, checked by hand."""

from __future__ import annotations

import pytest

from sm_bench_widgets.analysis.pricing import get_prices
from sm_bench_widgets.config import BenchmarkConfig
from sm_bench_widgets.estimate import Rates, estimate, rates_from_prices
from sm_bench_widgets.widgets.estimate import estimate_html, format_duration

RATES = Rates(
    compute_per_gb_s=0.00002,
    data_in_per_gb=0.016,
    data_out_per_gb=0.016,
    provisioned_per_gb_s=0.000005,
)


def test_estimate_counts_endpoints_invocations_compute_and_time():
    config = BenchmarkConfig(
        memory_sizes=[1024, 2048],
        stability_benchmark_invocations=100,
        concurrency_benchmark_max_conc=[2],
        concurrency_num_clients_multiplier=[1, 2],
        concurrency_benchmark_invocations=50,
        cold_start_probes=1,
    )
    est = estimate(config, RATES, latency_ms=500, body_bytes=1000, endpoint_setup_s=10)
    # stability m1024 and m2048 at MC 1; concurrency at the largest size, MC 2, 2 and 4 clients
    assert (est.endpoints, est.trials) == (3, 4)
    assert est.max_invocations == 3 * 101  # each endpoint: its trials plus one probe
    assert est.compute_gb_s == pytest.approx(101 * 0.5 * 1 + 101 * 0.5 * 2 + 101 * 0.5 * 2)
    assert est.compute_usd == pytest.approx(252.5 * 0.00002)
    assert est.timeout_compute_usd == pytest.approx((101 * 60 + 2 * 101 * 60 * 2) * 0.00002)
    assert est.data_usd == pytest.approx(303 * 1000 / 1024**3 * 0.032)
    assert est.provisioned_usd == 0
    # 2 x (10 s setup + 100 x 0.5 s + probe) + (10 s + 2 trials x 25 rounds x 0.5 s + probe)
    assert est.duration_s == pytest.approx(2 * 60.5 + 35.5)


def test_estimate_bills_provisioned_concurrency_for_the_time_it_is_held():
    config = BenchmarkConfig(
        memory_sizes=[1024],
        stability_benchmark_invocations=10,
        include_concurrency_benchmark=False,
        provisioned_concurrency=[2],
        concurrency_benchmark_max_conc=[2],
        concurrency_num_clients_multiplier=[1],
        concurrency_benchmark_invocations=20,
        cold_start_probes=0,
    )
    est = estimate(config, RATES, latency_ms=1000, endpoint_setup_s=0)
    assert (est.endpoints, est.max_invocations) == (2, 30)
    assert est.compute_gb_s == pytest.approx(30.0)
    # two provisioned instances of 1 GB held for ceil(20 / 2) x 1 s
    assert est.provisioned_usd == pytest.approx(2 * 1 * 10 * 0.000005)
    assert est.total_usd == pytest.approx(30 * 0.00002 + 0.0001)


def test_rates_come_from_the_price_table_and_render():
    prices = get_prices("us-east-1", {"compute_per_gb_second": 0.001})
    rates = rates_from_prices(prices)
    assert rates.compute_per_gb_s == 0.001
    assert rates.data_in_per_gb == prices.data_in_per_gb
    est = estimate(BenchmarkConfig(memory_sizes=[1024]), rates)
    text = estimate_html(est, emulated=True)
    assert "nothing on the emulator" in text and f"{est.max_invocations:,}" in text
    assert format_duration(45) == "45 s" and format_duration(7500) == "2 h 05 min"


def test_a_jobs_own_cost_is_hourly_price_by_instances_by_hours():
    from sm_bench_widgets.analysis.pricing import PROCESSING_HOURLY
    from sm_bench_widgets.api import estimate_job_cost, priced_processing_types

    hourly = PROCESSING_HOURLY["ml.m5.large"].value
    cost = estimate_job_cost("ml.m5.large", 2, 1800.0)
    assert cost.usd == pytest.approx(hourly * 2 * 0.5) and cost.hourly_usd == hourly
    assert "ml.m5.large" in priced_processing_types()
    unknown = estimate_job_cost("ml.z9.huge", 1, 60.0)
    assert unknown.usd is None and unknown.source == "not in the pricing table"
