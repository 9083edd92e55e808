"""Cold starts on purpose: a burst of k first requests to a fresh endpoint gives k cold rows."""

from __future__ import annotations

from sm_bench_widgets.api import run_benchmark
from sm_bench_widgets.emulator import ModelProfile

from .helpers import small_config

# 3 s emulated cold start (30 ms real at the test time scale) against ~2 ms of compute
COLD = ModelProfile(
    base_ms_at_1vcpu=200, cold_start_ms=3000, sigma=0.05, cold_start_sigma=0.05, footprint_mb=300
)


def test_burst_of_k_requests_to_a_fresh_endpoint_is_k_cold_starts(emulator, tmp_path):
    model = emulator.register_profile_model("engine-cold", COLD)
    config = small_config(
        tmp_path,
        model_name=model,
        stability_benchmark_invocations=30,
        include_concurrency_benchmark=True,
        concurrency_benchmark_max_conc=[4],
        concurrency_num_clients_multiplier=[1],
        concurrency_benchmark_invocations=40,
        cold_start_probes=3,
        adaptive=False,
    )
    result = run_benchmark(config, emulator.target(), progress=False)
    inv = result.invocations
    probes = inv[inv["phase"] == "cold_start"]
    conc_probes = probes[probes["trial_id"] == "concurrency-m2048-c4-n4"]
    assert len(conc_probes) == 3 and conc_probes["cold"].all()
    assert set(conc_probes["outcome"]) == {"ok"}
    # sent together: each started before any of them answered
    assert conc_probes["start"].max() < conc_probes["end"].min()
    # the stability endpoint's first request is its single probe
    stab = inv[inv["trial_id"] == "stability-m2048"].sort_values("start")
    assert stab.iloc[0]["phase"] == "cold_start" and bool(stab.iloc[0]["cold"])
    assert not stab.iloc[1:]["cold"].any()

    warm = inv[(inv["outcome"] == "ok") & ~inv["cold"]]
    assert conc_probes["latency_ms"].min() > 3 * warm["latency_ms"].median()
    # 4 clients on an endpoint with 3 warm instances: the scale-up pays one more cold start
    conc = inv[inv["trial_id"] == "concurrency-m2048-c4-n4"]
    assert int(conc["cold"].sum()) == 4
    cold = result.cold_starts.set_index("trial_id")
    assert cold.loc["concurrency-m2048-c4-n4", "cold_count"] == 4
    assert cold.loc["stability-m2048", "cold_count"] == 1
    # warm statistics leave cold rows out
    row = result.concurrency.set_index("trial_id").loc["concurrency-m2048-c4-n4"]
    assert row["p90_ms"] < conc_probes["latency_ms"].min()
