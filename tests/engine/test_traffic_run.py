"""A traffic-aware run on the emulator: the recommendation leads with the plain answer."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from sm_bench_widgets.analysis import traffic as model
from sm_bench_widgets.api import run_benchmark
from sm_bench_widgets.charts import throttle_check_data
from sm_bench_widgets.emulator import LocalServerless
from sm_bench_widgets.engine.openloop import TRACE_MINUTE_S
from sm_bench_widgets.engine.options import RunOptions
from sm_bench_widgets.result import BenchmarkResult
from sm_bench_widgets.traffic import Traffic
from sm_bench_widgets.widgets.card import RecommendationCard, card_html

from .helpers import small_config


def test_traffic_aware_run_answers_what_to_deploy(tmp_path):
    # a time scale at which a request holds its instance ~45 ms of wall time, long enough
    # beside the client's own time for the open-loop check to run
    with LocalServerless(time_scale=0.2, seed=5) as emulator:
        _traffic_aware_run(emulator, tmp_path)


def test_a_trace_is_replayed_in_its_shape(tmp_path):
    # quiet minutes around a busy stretch whose peak minute is 3 req/s; sent from threads in
    # the run's process (the fallback; the run above sends from the load worker)
    per_minute = [30.0] * 20 + [60.0, 180.0, 120.0] + [30.0] * 20
    config = small_config(
        tmp_path,
        stability_benchmark_invocations=40,
        include_concurrency_benchmark=True,
        concurrency_benchmark_max_conc=[2],
        concurrency_num_clients_multiplier=[1],
        concurrency_benchmark_invocations=80,
        traffic=Traffic.from_counts(per_minute),
        # the account allows 5 in all: a check planned above it is skipped, and said so
        account_max_concurrency=5,
    )
    with LocalServerless(time_scale=0.2, seed=7) as emulator:
        options = RunOptions(load_in_worker=False)
        result = run_benchmark(config, emulator.target(), progress=False, options=options)
    assert result.recommendation.traffic["peak_rps"] == 3.0
    inv = result.invocations
    checked = result.throttle_check
    assert len(checked) >= 1
    for _, g in inv[inv["phase"] == "open_loop"].groupby("trial_id"):
        starts = np.sort(g["start"].to_numpy())
        # each trace minute took 10 s: the busiest 10 s hold the peak minute's ~30 arrivals,
        # the quiet minutes beside the stretch a third as many or fewer
        per_slice = np.bincount(((starts - starts[0]) // TRACE_MINUTE_S).astype(int))
        assert 15 <= per_slice.max() <= 48, per_slice
        assert per_slice.min() < per_slice.max() / 2, per_slice
    answer = result.traffic_answer
    assert any("in your trace's shape" in r for r in answer.evidence)
    chart = throttle_check_data(checked)
    assert len(chart) == len(checked) and (chart["low"] <= chart["high"]).all()
    assert (inv.loc[inv["phase"] == "open_loop", "max_concurrency"] <= 5).all()
    skipped = [e for e in result.errors if e.startswith("open-loop check at MaxConcurrency")]
    print(answer.sentence(), skipped, sep="\n")
    assert all("the account allows at most 5 in all (service quota)" in e for e in skipped)
    # the answer keeps within the quota the config gives, and names the raise the peak needs
    assert answer.max_concurrency <= 5
    assert answer.over_quota == bool(skipped)
    if answer.over_quota:
        assert answer.max_concurrency == 5 and answer.needed_max_concurrency > 5
        assert f"to {answer.needed_max_concurrency}" in answer.sentence()


def test_open_loop_endpoints_come_in_waves_under_the_accounts_quota(tmp_path):
    # The account allows 8 in all (read from the emulator's Service Quotas, not given) and
    # another tool holds 1: the checks at MaxConcurrency 4 and 6 (peak 3 req/s, ~315 ms a
    # request) cannot be deployed together. They come one after the other, and no creation
    # meets the quota (which would be reported as a hit and retried).
    config = small_config(
        tmp_path,
        stability_benchmark_invocations=30,
        include_concurrency_benchmark=True,
        concurrency_benchmark_max_conc=[2],
        concurrency_num_clients_multiplier=[1],
        concurrency_benchmark_invocations=30,
        traffic=Traffic.rates(average_rps=1, peak_rps=3.0),
    )
    with LocalServerless(time_scale=0.2, seed=9, account_max_concurrency=8) as emulator:
        target = emulator.target()
        sm = target.client("sagemaker")
        variant = {
            "VariantName": "AllTraffic",
            "ModelName": "demo-tabular",
            "ServerlessConfig": {"MemorySizeInMB": 1024, "MaxConcurrency": 1},
        }
        sm.create_endpoint_config(EndpointConfigName="other-tool", ProductionVariants=[variant])
        sm.create_endpoint(EndpointName="other-tool", EndpointConfigName="other-tool")
        created: list[str] = []
        sm_run = target.client("sagemaker")
        sm_run.meta.events.register(
            "before-parameter-build.sagemaker.CreateEndpoint",
            lambda params, **kw: created.append(params["EndpointName"]),
        )
        result = run_benchmark(config, target, progress=False)
        assert [e["EndpointName"] for e in sm.list_endpoints()["Endpoints"]] == ["other-tool"]
    assert result.status == "completed", result.errors
    assert "endpoint_failed" not in result.stop_reasons.values()
    assert not [e for e in result.errors if "quota" in e], result.errors
    checks = result.throttle_check.set_index("max_concurrency")
    assert sorted(checks.index) == [4, 6]
    shapes = [n.rsplit("-", 1)[-1] for n in created]
    assert shapes[-2:] == ["c4", "c6"], shapes
    inv = result.invocations
    opened = inv[inv["phase"] == "open_loop"].groupby("max_concurrency")
    # one after the other: the second endpoint's requests begin after the first's ended
    assert opened["start"].min()[6] > opened["end"].max()[4]
    answer = result.traffic_answer
    assert answer.max_concurrency == 6 and not answer.over_quota


def test_the_answer_keeps_within_the_quota_the_account_tells(tmp_path):
    # a new account's quota, as the emulator's Service Quotas tells it (the config gives
    # none): the peak of 3 req/s needs MaxConcurrency 6, the account allows 5 in all
    config = small_config(
        tmp_path,
        stability_benchmark_invocations=30,
        include_concurrency_benchmark=True,
        concurrency_benchmark_max_conc=[2],
        concurrency_num_clients_multiplier=[1],
        concurrency_benchmark_invocations=30,
        traffic=Traffic.rates(average_rps=1, peak_rps=3.0),
    )
    assert config.account_max_concurrency is None
    with LocalServerless(time_scale=0.2, seed=9, account_max_concurrency=5) as emulator:
        result = run_benchmark(config, emulator.target(), progress=False)
    assert result.account_concurrency_quota == 5
    answer = result.traffic_answer
    assert answer.over_quota and answer.max_concurrency == 5
    assert answer.needed_max_concurrency == 6
    sentence = answer.sentence()
    assert sentence.startswith("Deploy 2048 MB, MaxConcurrency 5 (the account's serverless")
    assert "(L-96300102) in us-east-1 to 6" in sentence
    assert result.recommendation.headline() == sentence + "."
    # the check at 6 could not be deployed; the one at 4 ran
    assert sorted(result.throttle_check["max_concurrency"]) == [4]
    # kept with the result: saved and loaded, or read back from the run directory
    for again in (
        BenchmarkResult.load(result.save(tmp_path / "saved")),
        BenchmarkResult.load(result.run_dir),
    ):
        assert again.account_concurrency_quota == 5
        assert again.recommendation.headline() == result.recommendation.headline()


def test_open_loop_check_is_skipped_when_requests_are_too_short_on_the_wall_clock(
    emulator, tmp_path
):
    config = small_config(
        tmp_path,
        stability_benchmark_invocations=30,
        include_concurrency_benchmark=True,
        concurrency_benchmark_max_conc=[2],
        concurrency_num_clients_multiplier=[1],
        concurrency_benchmark_invocations=20,
        traffic=Traffic.rates(average_rps=1, peak_rps=3.0),
    )
    result = run_benchmark(config, emulator.target(), progress=False)  # time scale 0.01
    assert result.recommendation.traffic is not None
    assert result.throttle_check.empty
    assert not (result.invocations["phase"] == "open_loop").any()


def _traffic_aware_run(emulator, tmp_path):
    config = small_config(
        tmp_path,
        memory_sizes=[2048, 3072],
        stability_benchmark_invocations=100,
        include_concurrency_benchmark=True,
        concurrency_benchmark_max_conc=[2],
        concurrency_num_clients_multiplier=[1],
        concurrency_benchmark_invocations=30,
        sla_percentile=99,
        sla_ms=2000.0,
        # quiet traffic against a short idle window: a cold start (7 s for demo-nlp) now
        # and then, enough to break a 2 s p99 unless instances are kept warm
        traffic=Traffic.rates(average_rps=0.02, peak_rps=3.0, idle_window_s=120),
    )
    result = run_benchmark(config, emulator.target(), progress=False)
    rec = result.recommendation
    answer = result.traffic_answer
    assert rec is not None and answer is not None
    print("\n" + rec.headline() + "\n" + "\n".join(f"- {r}" for r in answer.evidence))
    print(answer.costs.to_string())
    assert rec.headline() == answer.sentence() + "."
    assert answer.memory_size == rec.memory_size
    inv = result.invocations
    at = inv[(inv["memory_size"] == rec.memory_size) & (inv["outcome"] == "ok") & ~inv["cold"]]
    at = at[at["phase"] == "stability"]
    mean_ms = float(at["latency_ms"].mean())
    assert answer.max_concurrency == model.smallest_max_concurrency(3.0, mean_ms)
    assert answer.peak_throttle_share <= 0.001
    # the measured cold start makes on-demand miss the SLA: a provisioned instance is paid for
    assert answer.provisioned_concurrency >= 1 and answer.sla_met
    assert answer.p99_with_cold_ms <= 2000.0
    on_demand = answer.options.set_index("provisioned_concurrency").loc[0]
    assert not bool(on_demand["sla_met"]) and on_demand["cold_share"] > 0.01
    assert rec.reasons[0].startswith("At the peak of 3 req/s")
    costs = answer.costs
    assert costs["option"].iloc[0] == "on-demand"
    assert costs["option"].iloc[-1].startswith("instance endpoint")
    assert math.isfinite(answer.monthly_cost_usd) and answer.monthly_cost_usd > 0

    # the user's peak, open loop, at the answer's MaxConcurrency and at a smaller one where
    # Erlang-B predicts a measurable share; Erlang-B stands beside the measured share
    check = result.throttle_check.set_index("max_concurrency")
    assert answer.max_concurrency in check.index and len(check) == 2
    assert check["predicted_throttle_share"].max() >= 0.01
    assert check["requests"].min() >= 30
    assert (check["rate_rps"] > 0).all()
    assert any(r.startswith("Open-loop check at MaxConcurrency") for r in answer.evidence)

    # the card leads with the answer, and its snippet deploys what the traffic needs
    html = card_html(rec, result.break_even, True, config.model_name)
    assert "smb-answer" in html and f"MaxConcurrency {answer.max_concurrency}" in html
    card = RecommendationCard()
    card.show(rec, result, config.model_name)
    assert f'"MaxConcurrency": {answer.max_concurrency},' in card.snippet.value
    assert f'"ProvisionedConcurrency": {answer.provisioned_concurrency},' in card.snippet.value

    # kept with the result: a saved and loaded result gives the same answer
    again = BenchmarkResult.load(result.save(tmp_path / "saved"))
    assert again.config.traffic == config.traffic
    assert again.recommendation.headline() == rec.headline()
    assert isinstance(again.throttle_check, pd.DataFrame)


def test_the_idle_window_probe_measures_how_long_an_idle_instance_stays_warm(tmp_path):
    # the emulator reclaims an instance idle 300 s; the probe's gaps double from 60 s up to
    # 4 x the 150 s given: warm after 240 s, cold after 480 s
    config = small_config(
        tmp_path,
        stability_benchmark_invocations=30,
        include_concurrency_benchmark=True,
        concurrency_benchmark_max_conc=[2],
        concurrency_num_clients_multiplier=[1],
        concurrency_benchmark_invocations=20,
        traffic=Traffic.rates(1, 3, idle_window_s=150, probe_idle_window=True),
    )
    with LocalServerless(time_scale=0.01, idle_timeout=300, seed=3) as emulator:
        result = run_benchmark(config, emulator.target(), progress=False)
    inv = result.invocations
    probe = inv[inv["phase"] == "idle_probe"].sort_values("start")
    assert len(probe) == 6  # cold start, warm reference, gaps 60, 120, 240, 480
    assert probe["cold"].tolist() == [True, False, False, False, False, True]
    warm, cold = model.measured_idle_window(inv)
    assert 240 <= warm < 300 <= 480 <= cold < 540
    answer = result.traffic_answer
    assert any(r.startswith("Idle-reclaim window measured") for r in answer.evidence)
    # the cold-start estimate uses the measured window, not the 150 s given
    mean_ms = answer.options["mean_service_ms"].iloc[0]
    expected = model.cold_share(1.0, mean_ms, answer.max_concurrency, warm)
    assert answer.options.set_index("provisioned_concurrency").loc[0, "cold_share"] == (
        pytest.approx(expected)
    )
