"""The price table: regions, per-figure provenance, overrides and their errors."""

from __future__ import annotations

import pytest

from sm_bench_widgets.analysis.pricing import PRICING_PAGE, REGIONS, get_prices
from sm_bench_widgets.config import ConfigError

REQUIRED_REGIONS = (
    "us-east-1",
    "us-west-2",
    "eu-west-1",
    "eu-central-1",
    "ap-southeast-1",
    "ap-northeast-1",
)
INSTANCES = ("ml.t2.medium", "ml.m5.large", "ml.c5.large", "ml.c5.xlarge", "ml.g4dn.xlarge")


def test_compute_price_is_proportional_to_memory_at_the_published_us_east_1_rates():
    prices = get_prices("us-east-1")
    published = {
        1024: 0.0000200,
        2048: 0.0000400,
        3072: 0.0000600,
        4096: 0.0000800,
        5120: 0.0001000,
        6144: 0.0001200,
    }
    for memory, per_second in published.items():
        assert prices.compute_per_second(memory) == pytest.approx(per_second)
    assert prices.data_in_per_gb == prices.data_out_per_gb == pytest.approx(0.016)


@pytest.mark.parametrize("region", REQUIRED_REGIONS)
def test_every_region_has_every_price_with_a_date_and_a_source(region):
    prices = get_prices(region)
    assert prices.region == region
    assert prices.as_of and PRICING_PAGE in prices.source
    assert set(INSTANCES) <= set(prices.instance_hourly)
    for name, figure in prices.figures.items():
        assert figure.value > 0, name
        assert figure.as_of[:2] == "20", (name, figure.as_of)
        assert PRICING_PAGE in figure.source, (name, figure.source)
    if region != "us-east-1":
        assert all(f.source.startswith("derived") for f in prices.figures.values())


def test_provisioned_figures_say_they_are_derived():
    figures = get_prices("us-east-1").figures
    assert figures["provisioned_per_gb_second"].source.startswith("derived")
    assert figures["provisioned_compute_per_gb_second"].source.startswith("derived")
    assert not figures["compute_per_gb_second"].source.startswith("derived")


def test_unknown_region_names_the_regions():
    with pytest.raises(ConfigError) as err:
        get_prices("mars-north-1")
    assert err.value.field == "region"
    assert all(region in str(err.value) for region in REGIONS)


def test_overrides_apply_by_name_and_are_recorded():
    prices = get_prices(
        "eu-west-1", {"data_out_per_gb": 0.05, "ml.c5.large": 0.2, "ml.r5.large": 0.3}
    )
    assert prices.data_out_per_gb == 0.05 and prices.data_in_per_gb == pytest.approx(0.016)
    assert prices.instance_hourly["ml.c5.large"] == 0.2
    assert prices.instance_monthly("ml.r5.large") == pytest.approx(0.3 * 730)
    assert prices.figures["data_out_per_gb"].source == "pricing_overrides"
    assert "overrides" in prices.source
    # The shared table is untouched by an override.
    assert get_prices("eu-west-1").data_out_per_gb == pytest.approx(0.016)


def test_unknown_override_name_lists_the_allowed_names():
    with pytest.raises(ConfigError) as err:
        get_prices("us-east-1", {"compute_per_second": 1.0})
    assert err.value.field == "pricing_overrides"
    assert "compute_per_gb_second" in str(err.value) and "ml.c5.large" in str(err.value)


@pytest.mark.parametrize("value", [-1.0, "0.1", float("nan"), True])
def test_override_values_must_be_non_negative_numbers(value):
    with pytest.raises(ConfigError, match="USD >= 0"):
        get_prices("us-east-1", {"data_in_per_gb": value})


def test_unknown_instance_type_names_the_known_ones():
    with pytest.raises(ConfigError) as err:
        get_prices("us-east-1").instance_monthly("ml.p5.48xlarge")
    assert err.value.field == "comparison_instance_type" and "ml.c5.large" in str(err.value)
