"""Instances over HTTP: cold then warm, throttling, provisioned concurrency, idle scale-down."""

from __future__ import annotations

import time

import pytest

from sm_bench_widgets.emulator import LocalServerless, ModelProfile
from sm_bench_widgets.emulator.clock import Clock, SeededRandom
from sm_bench_widgets.emulator.pool import EndpointPool, PoolClosed, Throttled, VariantSettings
from sm_bench_widgets.emulator.runtimes import ProfileSpec
from tests.conftest import TEST_TIME_SCALE
from tests.emulator.awsutil import burst, clients, deploy, invoke, setup_us
from tests.waiting import wait_until

# 40 s of emulated compute per request (0.4 s real at the test time scale), so that requests
# released together certainly overlap; 1 s emulated cold start.
SLOW = ModelProfile(
    base_ms_at_1vcpu=40_000, cold_start_ms=1000, sigma=0.0, cold_start_sigma=0.0, footprint_mb=200
)


@pytest.fixture(scope="module")
def slow_model(emulator: LocalServerless) -> str:
    return emulator.register_profile_model("test-slow", SLOW)


def test_cold_start_then_warm(aws):
    name = deploy(aws, "demo-tabular", memory=2048, max_concurrency=1)
    started = time.perf_counter()
    cold = invoke(aws, name)
    cold_wall = time.perf_counter() - started
    cold_setup = setup_us(cold)
    assert cold_setup is not None
    # demo-tabular's cold start is about 2.5 s (emulated), paid by the first request
    assert 1_500_000 < cold_setup < 4_000_000
    assert cold_wall >= cold_setup / 1e6 * TEST_TIME_SCALE
    overhead = int(cold["ResponseMetadata"]["HTTPHeaders"]["x-sm-bench-overhead-latency-us"])
    assert overhead > cold_setup

    warm = [invoke(aws, name) for _ in range(5)]
    assert all(setup_us(r) is None for r in warm)
    for r in warm:
        assert int(r["ResponseMetadata"]["HTTPHeaders"]["x-sm-bench-overhead-latency-us"]) < 50_000
        model_us = int(r["ResponseMetadata"]["HTTPHeaders"]["x-sm-bench-model-latency-us"])
        assert 5_000 < model_us < 30_000  # ~12 ms at 2048 MB, lognormal noise


def test_burst_beyond_max_concurrency_is_throttled(aws, slow_model):
    name = deploy(aws, slow_model, memory=2048, max_concurrency=2)
    outcomes = [code for code, _ in burst(aws, name, 6)]
    assert sorted(outcomes) == ["ThrottlingException"] * 4 + ["ok"] * 2
    # the two instances are warm now and serve again once free
    again = burst(aws, name, 2)
    assert [code for code, _ in again] == ["ok", "ok"]
    assert all(setup_us(resp) is None for _, resp in again)


def test_throttling_is_http_400_with_code(aws, slow_model):
    name = deploy(aws, slow_model, memory=2048, max_concurrency=1)
    results = burst(aws, name, 2)
    throttled = [resp for code, resp in results if code == "ThrottlingException"]
    assert len(throttled) == 1
    assert throttled[0]["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_provisioned_concurrency_has_no_cold_start(aws, slow_model):
    name = deploy(aws, slow_model, memory=2048, max_concurrency=4, provisioned=2)
    results = burst(aws, name, 4)
    assert [code for code, _ in results] == ["ok"] * 4
    setups = [setup_us(resp) for _, resp in results]
    # two requests are served by the provisioned instances, two spill over and start cold
    assert sorted(s is None for s in setups) == [False, False, True, True]
    assert all(s == 1_000_000 for s in setups if s is not None)


def test_idle_instances_scale_down_and_the_next_request_is_cold():
    with LocalServerless(time_scale=TEST_TIME_SCALE, idle_timeout=40, seed=3) as emu:
        aws = clients(emu)
        name = deploy(aws, "demo-tabular", max_concurrency=2)
        kept = deploy(aws, "demo-tabular", max_concurrency=2, provisioned=1)
        assert setup_us(invoke(aws, name)) is not None
        assert setup_us(invoke(aws, name)) is None
        assert setup_us(invoke(aws, kept)) is None
        wait_until(
            lambda: emu.dataplane.instance_count("us-east-1", name) == 0,
            30,
            f"the idle instance of {name} was not reclaimed after the 40 s idle timeout",
        )
        assert setup_us(invoke(aws, name)) is not None
        assert setup_us(invoke(aws, kept)) is None


def test_closed_pool_refuses_requests_as_deleted_not_throttled():
    pool = EndpointPool(
        ProfileSpec("closed", SLOW),
        VariantSettings("AllTraffic", 2048, max_concurrency=1),
        Clock(TEST_TIME_SCALE),
        SeededRandom(0),
        idle_timeout_s=60,
    )
    pool.close()
    # a request that raced the endpoint's deletion is answered "not found", like AWS
    with pytest.raises(PoolClosed):
        pool.acquire()
    assert not issubclass(PoolClosed, Throttled)
