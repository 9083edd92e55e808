"""Emulated figures are stated on the service's own clock, whatever the emulator's time scale."""

from __future__ import annotations

import pytest

from sm_bench_widgets.api import run_benchmark
from sm_bench_widgets.emulator import LocalServerless, ModelProfile
from sm_bench_widgets.engine.store import load_run
from sm_bench_widgets.result import BenchmarkResult

from .helpers import small_config

PROFILE = ModelProfile(
    base_ms_at_1vcpu=60, cold_start_ms=1500, sigma=0.03, cold_start_sigma=0.03, footprint_mb=300
)


def _run(time_scale: float, tmp_path) -> BenchmarkResult:
    with LocalServerless(time_scale=time_scale, seed=11) as emulator:
        model = emulator.register_profile_model("clock-model", PROFILE)
        config = small_config(
            tmp_path / str(time_scale),
            model_name=model,
            memory_sizes=[2048, 4096],
            stability_benchmark_invocations=30,
            include_concurrency_benchmark=True,
            concurrency_benchmark_max_conc=[2],
            concurrency_num_clients_multiplier=[1],
            concurrency_benchmark_invocations=30,
            adaptive=False,
        )
        return run_benchmark(config, emulator.target(), progress=False)


def _warm_cycle_ms(result: BenchmarkResult) -> float:
    """Median time from one warm request's start to its client's next, in the load."""
    rows = result.invocations
    rows = rows[(rows["phase"] == "concurrency") & ~rows["cold"]].sort_values("start")
    steps = rows.groupby("client_id")["start"].diff().dropna()
    return float(steps.median()) * 1000.0


def test_a_run_at_time_scale_0_1_and_one_in_real_time_agree(tmp_path):
    fast, real = _run(0.1, tmp_path), _run(1.0, tmp_path)
    assert (fast.time_scale, real.time_scale) == (0.1, 1.0)
    assert "at time scale 0.1" in fast.emulation_note
    for column in ("p50_ms", "p90_ms"):
        a = fast.stability.set_index("memory_size")[column]
        b = real.stability.set_index("memory_size")[column]
        assert a.to_numpy() == pytest.approx(b.to_numpy(), rel=0.1), column
    # a cold start costs about its 1.5 s on the service's clock in both
    for result in (fast, real):
        cold = result.invocations[result.invocations["cold"]]["latency_ms"]
        assert cold.min() > 1000
    a = fast.costs.set_index(["memory_size", "max_concurrency"])["cost_per_1m_usd"]
    b = real.costs.set_index(["memory_size", "max_concurrency"])["cost_per_1m_usd"]
    assert a.to_numpy() == pytest.approx(b.to_numpy(), rel=0.1)
    # throughput is the service's too, not the wall clock's (10x at scale 0.1): the
    # client's own time between requests passes alike at both scales and is placed on
    # the service clock unstretched, so a client's warm requests follow each other as
    # in real time (before, the fast run's were a third further apart).
    cycle_a, cycle_b = (_warm_cycle_ms(r) for r in (fast, real))
    assert cycle_a == pytest.approx(cycle_b, rel=0.1), (cycle_a, cycle_b)
    # The whole load's figure (the steady-state one may fall back to it in one run and not
    # the other): a 1.5 s cold start in 30 invocations, and which client met it, sway it
    ta, tb = (r.concurrency["throughput_all_rps"].iloc[0] for r in (fast, real))
    assert ta == pytest.approx(tb, rel=0.25), (ta, tb)
    for result in (fast, real):
        row = result.concurrency.iloc[0]
        assert row["throughput_rps"] >= row["throughput_all_rps"]
    assert fast.recommendation.memory_size == real.recommendation.memory_size
    # the time scale is kept with the run and read back, with where its clock started
    assert BenchmarkResult.load(fast.run_dir).time_scale == 0.1
    assert isinstance(load_run(fast.run_dir).config["clock_origin"], float)
