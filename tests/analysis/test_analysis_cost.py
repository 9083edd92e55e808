"""Cost per invocation, monthly cost and break-even against hand-computed figures."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from sm_bench_widgets.analysis.cost import break_even_table, cost_table
from sm_bench_widgets.analysis.pricing import get_prices
from sm_bench_widgets.analysis.stats import summarize
from sm_bench_widgets.config import ConfigError
from sm_bench_widgets.schema import BREAK_EVEN_COLUMNS, COST_COLUMNS

MB = 1024**2
# Round numbers so the expected figures below can be checked by hand.
PRICES = get_prices(
    "us-east-1",
    {
        "compute_per_gb_second": 0.00002,
        "data_in_per_gb": 0.016,
        "data_out_per_gb": 0.032,
        "provisioned_per_gb_second": 0.000005,
        "provisioned_compute_per_gb_second": 0.00001,
        "ml.c5.large": 0.1,
    },
)


def _frames(make_invocations):
    on_demand = make_invocations(
        "t-2048",
        [100, 200, 300, 5000, 7000],
        memory_size=2048,
        bytes_in=MB,
        bytes_out=MB // 2,
        cold=[False, False, False, True, False],
        outcomes=["ok", "ok", "ok", "ok", "model_error"],
    )
    provisioned = make_invocations(
        "t-1024-pc",
        [40, 50, 60],
        memory_size=1024,
        max_concurrency=2,
        provisioned_concurrency=2,
        bytes_in=0,
        bytes_out=0,
    )
    inv = pd.concat([on_demand, provisioned], ignore_index=True)
    return summarize(inv), inv


def test_cost_per_invocation_from_billed_duration_and_payload(make_invocations):
    summary, inv = _frames(make_invocations)
    costs = cost_table(summary, inv, PRICES, monthly_invocations=1_000_000)
    assert list(costs.columns) == COST_COLUMNS and len(costs) == 2
    row = costs[costs["memory_size"] == 2048].iloc[0]
    # Warm ok latencies 100, 200, 300 ms: mean 0.2 s x 2 GB x 0.00002 = 0.000008.
    assert row["compute_per_invocation_usd"] == pytest.approx(0.000008)
    assert row["p50_ms"] == pytest.approx(200) and row["p90_ms"] == pytest.approx(280)
    # 1 MB in at 0.016/GB + 0.5 MB out at 0.032/GB = 2 x 0.016/1024.
    assert row["data_per_invocation_usd"] == pytest.approx(0.000015625 * 2)
    assert row["cost_per_invocation_usd"] == pytest.approx(0.000039250)
    assert row["cost_per_1m_usd"] == pytest.approx(39.25)
    assert row["provisioned_per_month_usd"] == 0
    assert row["monthly_cost_usd"] == pytest.approx(39.25)


def test_provisioned_concurrency_is_billed_for_holding_and_spread(make_invocations):
    summary, inv = _frames(make_invocations)
    costs = cost_table(summary, inv, PRICES, monthly_invocations=1_000_000)
    row = costs[costs["provisioned_concurrency"] == 2].iloc[0]
    # 0.05 s x 1 GB x 0.00001 (provisioned compute rate).
    assert row["compute_per_invocation_usd"] == pytest.approx(0.0000005)
    # 2 x 1 GB x 0.000005 x 730 h x 3600 s = 26.28 per month, spread over 1M invocations.
    assert row["provisioned_per_month_usd"] == pytest.approx(26.28)
    assert row["cost_per_invocation_usd"] == pytest.approx(0.0000005 + 26.28 / 1e6)
    assert row["monthly_cost_usd"] == pytest.approx(0.5 + 26.28)
    # At a tenth of the volume the holding cost per invocation is ten times larger.
    fewer = cost_table(summary, inv, PRICES, monthly_invocations=100_000)
    spread = fewer[fewer["provisioned_concurrency"] == 2].iloc[0]["cost_per_invocation_usd"]
    assert spread == pytest.approx(0.0000005 + 26.28 / 1e5)


def test_cost_table_falls_back_to_the_summary(make_invocations):
    summary, _ = _frames(make_invocations)
    costs = cost_table(summary, None, PRICES, monthly_invocations=1000)
    row = costs[costs["memory_size"] == 2048].iloc[0]
    assert row["compute_per_invocation_usd"] == pytest.approx(0.000008)
    assert row["data_per_invocation_usd"] == 0
    assert cost_table(None, None, PRICES, 1000).columns.tolist() == COST_COLUMNS


def test_break_even_against_an_instance(make_invocations):
    summary, inv = _frames(make_invocations)
    costs = cost_table(summary, inv, PRICES, monthly_invocations=1_000_000)
    table = break_even_table(costs, PRICES, "ml.c5.large")
    assert list(table.columns) == BREAK_EVEN_COLUMNS
    on_demand = table[table["provisioned_concurrency"] == 0].iloc[0]
    # 0.1 USD/h x 730 h = 73 USD per month; marginal 0.00003925 per invocation.
    assert on_demand["instance_monthly_usd"] == pytest.approx(73.0)
    assert on_demand["serverless_cost_per_1m_usd"] == pytest.approx(39.25)
    assert on_demand["break_even_monthly_invocations"] == pytest.approx(73 / 0.00003925)
    provisioned = table[table["provisioned_concurrency"] == 2].iloc[0]
    # The 26.28 fixed cost comes first; the rest is covered at 0.0000005 per invocation.
    assert provisioned["serverless_cost_per_1m_usd"] == pytest.approx(0.5)
    assert provisioned["break_even_monthly_invocations"] == pytest.approx((73 - 26.28) / 0.0000005)


def test_break_even_is_zero_when_the_fixed_cost_exceeds_the_instance(make_invocations):
    summary, inv = _frames(make_invocations)
    costs = cost_table(summary, inv, PRICES, monthly_invocations=1_000_000)
    cheap = get_prices("us-east-1", {"ml.t2.medium": 0.01})  # 7.30 per month
    table = break_even_table(costs, cheap, "ml.t2.medium")
    assert (
        table[table["provisioned_concurrency"] == 2].iloc[0]["break_even_monthly_invocations"] == 0
    )
    assert (
        table[table["provisioned_concurrency"] == 0].iloc[0]["break_even_monthly_invocations"] > 0
    )


def test_break_even_refuses_an_unknown_instance_and_skips_unmeasured_rows(make_invocations):
    summary, inv = _frames(make_invocations)
    costs = cost_table(summary, inv, PRICES, monthly_invocations=1_000_000)
    with pytest.raises(ConfigError):
        break_even_table(costs, PRICES, "ml.unknown.large")
    failed = make_invocations(
        "t-fail", [5, 5], memory_size=1024, outcomes=["insufficient_memory"] * 2
    )
    row = cost_table(None, failed, PRICES, 1000).iloc[0]
    assert math.isnan(row["cost_per_invocation_usd"])
    assert math.isnan(
        break_even_table(cost_table(None, failed, PRICES, 1000), PRICES, "ml.c5.large").iloc[0][
            "break_even_monthly_invocations"
        ]
    )
