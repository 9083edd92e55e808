"""Cold starts on purpose: a burst of k first requests to a fresh endpoint gives k cold rows."""

from __future__ import annotations

import json

import pytest

from sm_bench_widgets.api import run_benchmark, start_benchmark
from sm_bench_widgets.emulator import LocalServerless, ModelProfile
from sm_bench_widgets.engine.events import PhaseStarted, TrialStarted

from .helpers import small_config

# a 6 s cold start against 200 ms of compute: the ramp is most of a short trial's load
LONG_COLD = ModelProfile(
    base_ms_at_1vcpu=200, cold_start_ms=6000, sigma=0.05, cold_start_sigma=0.05, footprint_mb=300
)

# 3 s cold start (30 ms real at the test time scale) against ~200 ms of compute
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


def test_provisioned_instances_answer_the_first_requests_warm(emulator, tmp_path):
    model = emulator.register_profile_model("engine-cold-provisioned", COLD)
    config = small_config(
        tmp_path,
        model_name=model,
        stability_benchmark_invocations=20,
        provisioned_concurrency=[2],
        concurrency_benchmark_max_conc=[2],
        concurrency_num_clients_multiplier=[1],
        concurrency_benchmark_invocations=30,
        cold_start_probes=2,
        adaptive=False,
    )
    result = run_benchmark(config, emulator.target(), progress=False)
    inv = result.invocations
    prov = inv[inv["provisioned_concurrency"] == 2]
    assert len(prov) == 30 and set(prov["outcome"]) == {"ok"}
    probes = prov[prov["phase"] == "cold_start"]
    assert len(probes) == 2 and not probes["cold"].any()
    # no cold start was paid: the probes are as quick as warm requests (on the service's
    # clock, which the machine's load does not change), unlike the stability endpoint's
    # first request, which did pay its 3 s
    warm = prov[prov["phase"] == "concurrency"]["latency_ms"].median()
    assert probes["latency_ms"].max() < 1.5 * warm
    stability_probe = inv[(inv["phase"] == "cold_start") & (inv["provisioned_concurrency"] == 0)]
    assert stability_probe["latency_ms"].min() > 2500
    assert set(result.costs["provisioned_concurrency"]) == {0, 2}


def test_cold_start_delay_waits_before_the_first_invocation(emulator_target, tmp_path):
    config = small_config(tmp_path, stability_benchmark_invocations=5, cold_start_delay=1)
    events = []
    handle = start_benchmark(config, emulator_target)
    handle.subscribe(events.append)
    result = handle.wait(60)
    phase = next(e for e in events if isinstance(e, PhaseStarted))
    assert phase.phase == "stability"
    started = next(e for e in events if isinstance(e, TrialStarted))
    assert started.endpoint_name in set(result.invocations["endpoint_name"])
    created = json.loads((handle.run_dir / "config.json").read_text())["created"]
    first = result.invocations["start"].min()
    assert first - created >= 1.0
    assert bool(result.invocations.sort_values("start").iloc[0]["cold"])


def test_throughput_of_a_trial_that_meets_cold_instances_is_its_warm_figure(tmp_path):
    # At time scale 0.2 (not the tests' 0.01) a client's own gap between requests, real
    # time, stays small beside 200 ms on the service's clock.
    with LocalServerless(time_scale=0.2, seed=5) as emulator:
        model = emulator.register_profile_model("engine-cold-ramp", LONG_COLD)
        config = small_config(
            tmp_path,
            model_name=model,
            stability_benchmark_invocations=5,
            include_concurrency_benchmark=True,
            concurrency_benchmark_max_conc=[4],
            concurrency_num_clients_multiplier=[1],
            concurrency_benchmark_invocations=120,
            adaptive=False,
        )
        result = run_benchmark(config, emulator.target(), progress=False)
    inv = result.invocations
    trial = "concurrency-m2048-c4-n4"
    load = inv[(inv["trial_id"] == trial) & (inv["phase"] == "concurrency")]
    # one probe warmed one instance: the other three clients waited on cold starts
    assert int(load["cold"].sum()) == 3
    warm = load[(load["outcome"] == "ok") & ~load["cold"]].sort_values("start")
    # each client's warm cycle (latency and its own gap): 4 clients make 4 / cycle a second
    cycle = warm.groupby("client_id")["start"].diff().dropna().mean()
    ideal = 4 / cycle
    row = result.concurrency.set_index("trial_id").loc[trial]
    figures = (
        f"steady {row['throughput_rps']:.2f}/s, all-in {row['throughput_all_rps']:.2f}/s, "
        f"4 / cycle {ideal:.2f}/s, 4 / mean latency {4000 / warm['latency_ms'].mean():.2f}/s"
    )
    assert row["throughput_rps"] == pytest.approx(ideal, rel=0.15), figures
    assert row["throughput_rps"] <= 1.05 * 4000 / warm["latency_ms"].mean(), figures
    assert row["throughput_all_rps"] < 0.8 * ideal, figures
    assert row["throughput_window_s"] < row["duration_s"]
