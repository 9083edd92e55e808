"""Pure parts of the emulator: compute model, request parsing, percentiles, config checks."""

from __future__ import annotations

import pytest

from sm_bench_widgets.emulator import (
    DEMO_PROFILES,
    ModelProfile,
    demo_io,
    embedded,
    vcpus_for_memory,
)
from sm_bench_widgets.emulator.clock import Clock, SeededRandom
from sm_bench_widgets.emulator.cw_percentiles import percentile, percentile_of
from sm_bench_widgets.emulator.validation import serverless_config_problem


def test_vcpus_follow_lambdas_ratio():
    assert vcpus_for_memory(1769) == pytest.approx(1.0)
    assert vcpus_for_memory(6144) == pytest.approx(3.473, abs=1e-3)


def test_amdahl_single_threaded_stops_gaining_at_one_vcpu():
    p = ModelProfile(base_ms_at_1vcpu=10, parallel_fraction=0.0, max_vcpus=1)
    assert p.median_service_ms(1769) == pytest.approx(10)
    assert p.median_service_ms(6144) == pytest.approx(10)
    assert p.median_service_ms(1024) == pytest.approx(10 * 1769 / 1024)


def test_amdahl_parallel_part_gains_up_to_max_vcpus():
    p = ModelProfile(base_ms_at_1vcpu=100, parallel_fraction=0.8, max_vcpus=2)
    assert p.median_service_ms(2 * 1769) == pytest.approx(20 + 40)
    assert p.median_service_ms(6144) == pytest.approx(60)  # capped at 2 vCPUs
    assert p.median_service_ms(2 * 1769, rows=1) < p.median_service_ms(1769)


def test_demo_profiles_match_their_descriptions():
    tab, nlp = DEMO_PROFILES["demo-tabular"], DEMO_PROFILES["demo-nlp"]
    assert 10 <= tab.median_service_ms(1769) <= 20 and tab.fits(1024)
    assert 200 <= nlp.median_service_ms(1769) <= 500 and not nlp.fits(1024) and nlp.fits(2048)


def test_profile_rejects_impossible_values():
    with pytest.raises(ValueError, match="parallel_fraction"):
        ModelProfile(base_ms_at_1vcpu=1, parallel_fraction=1.5)


def test_rows_are_parsed_from_csv_and_json():
    assert demo_io.parse_rows(b"1,2\n\n3,4\n", "text/csv; charset=utf-8") == [[1, 2], [3, 4]]
    assert demo_io.parse_rows(b'{"instances": [[1, 2], 3]}', "application/json") == [
        [1, 2],
        [3],
    ]
    with pytest.raises(demo_io.BadRequest) as bad:
        demo_io.parse_rows(b"{}", "image/png")
    assert bad.value.status_code == 415


def test_seeded_randomness_repeats():
    a, b = SeededRandom(7, "x"), SeededRandom(7, "x")
    assert [a.normal(0, 1) for _ in range(3)] == [b.normal(0, 1) for _ in range(3)]
    assert SeededRandom(7, "y").normal(0, 1) != SeededRandom(7, "x").normal(0, 1)


def test_clock_scales_durations():
    assert Clock(0.5).real_seconds(10) == 5
    with pytest.raises(ValueError, match="time_scale"):
        Clock(0)


def test_percentile_names_and_values():
    assert percentile_of("p99.9") == 99.9
    assert percentile_of("p100") == 100
    assert percentile_of("Average") is None and percentile_of("p101") is None
    assert percentile(list(range(1, 101)), 50) == pytest.approx(50.5)
    assert percentile([], 50) is None


def test_serverless_config_checks():
    ok = {
        "ProductionVariants": [
            {"ServerlessConfig": {"MaxConcurrency": 5, "ProvisionedConcurrency": 5}}
        ]
    }
    assert serverless_config_problem(ok) is None
    over = {
        "ProductionVariants": [
            {"ServerlessConfig": {"MaxConcurrency": 2, "ProvisionedConcurrency": 3}}
        ]
    }
    assert "MaxConcurrency (2)" in serverless_config_problem(over)


def test_embedded_is_one_emulator_per_process():
    first = embedded()
    assert embedded() is first and first.running
    assert first.target().emulated
