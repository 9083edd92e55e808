"""Racing and the recommendation on the emulator: constraints respected, near-ties declared."""

from __future__ import annotations

from sm_bench_widgets.api import start_benchmark
from sm_bench_widgets.emulator import ModelProfile

from .helpers import small_config

# Half parallel up to 2 vCPUs, on the service's clock (what the figures are stated on):
# 1024 MB ~13.6 s, 2048 MB ~9.4 s, 4096 MB ~7.5 s per request. Cost per invocation goes
# as memory x time: 1024 MB cheapest, 2048 MB ~40% dearer, 4096 MB ~2.2x.
HALF_PARALLEL = ModelProfile(
    base_ms_at_1vcpu=10000,
    parallel_fraction=0.5,
    max_vcpus=2.0,
    sigma=0.05,
    cold_start_ms=1000,
    footprint_mb=200,
)

# Single-threaded: no faster above one vCPU (1769 MB), so 2048, 3072 and 4096 MB answer
# alike (~6 s on the service's clock) while their cost grows with memory.
SINGLE_THREADED = ModelProfile(
    base_ms_at_1vcpu=6000, sigma=0.02, cold_start_ms=1000, footprint_mb=200
)


def test_racing_never_eliminates_the_optimum_against_a_config_that_breaks_the_sla(
    emulator, tmp_path
):
    model = emulator.register_profile_model("decision-sla", HALF_PARALLEL)
    config = small_config(
        tmp_path,
        model_name=model,
        memory_sizes=[1024, 2048, 4096],
        strategy="cost",
        sla_percentile=90,
        sla_ms=13500.0,
        stability_benchmark_invocations=250,
    )
    result = start_benchmark(config, emulator.target()).wait(180)
    reasons = result.stop_reasons
    # The cheapest breaks the SLA: it may stop as infeasible, never eliminate 2048 MB.
    assert reasons["stability-m2048"] != "dominated"
    assert reasons["stability-m1024"] in ("infeasible", "precision", "max_invocations")
    rec = result.recommendation
    assert rec is not None, result.recommendation_reason
    assert rec.memory_size == 2048
    assert "misses the SLA" in " ".join(rec.reasons)


def test_near_tie_is_declared_and_the_cheaper_config_recommended(emulator, tmp_path):
    model = emulator.register_profile_model("decision-tie", SINGLE_THREADED)
    config = small_config(
        tmp_path,
        model_name=model,
        memory_sizes=[2048, 3072, 4096],
        strategy="speed",  # identical model time: a tie within the default 2% zone
        stability_benchmark_invocations=200,
    )
    result = start_benchmark(config, emulator.target()).wait(180)
    rec = result.recommendation
    assert rec.memory_size == 2048, rec.reasons
    assert rec.ties, rec.reasons
    assert any(r.startswith("Tie: ") for r in rec.reasons)
    assert result.stop_reasons["stability-m2048"] != "dominated"


def test_racing_never_stops_every_config_as_infeasible(emulator, tmp_path):
    model = emulator.register_profile_model("decision-none-fits", HALF_PARALLEL)
    config = small_config(
        tmp_path,
        model_name=model,
        memory_sizes=[1024, 2048, 4096],
        strategy="cost",
        sla_percentile=90,
        sla_ms=6000.0,  # every p90 (~7.8 s and more) surely breaks it
        precision=0.001,  # out of reach in 120 invocations: racing alone stops early
        precision_ms=0.0,
        stability_benchmark_invocations=120,
    )
    result = start_benchmark(config, emulator.target()).wait(180)
    reasons = result.stop_reasons
    # the two farthest from the SLA stop as infeasible; the nearest, 4096 MB, is measured
    # to its budget before "nothing qualifies" is said
    assert reasons["stability-m1024"] == "infeasible"
    assert reasons["stability-m2048"] == "infeasible"
    assert reasons["stability-m4096"] == "max_invocations"
    assert result.recommendation is None
    assert "No configuration qualifies" in result.recommendation_reason
    assert "4096 MB, max concurrency 1 misses the SLA" in result.recommendation_reason
