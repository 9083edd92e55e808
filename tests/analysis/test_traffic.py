"""The traffic model against known answers: Erlang-B tables, a cold-start simulation."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from sm_bench_widgets.analysis import traffic
from sm_bench_widgets.analysis.pricing import get_prices

# Published Erlang-B table entries: the offered load (Erlangs, 3 decimals) at which c
# servers block 1% (0.1% for the last), as printed in standard Erlang-B tables.
ERLANG_B_TABLE = [
    (1, 0.0101, 0.01),
    (5, 1.361, 0.01),
    (10, 4.461, 0.01),
    (20, 12.031, 0.01),
    (50, 37.901, 0.01),
    (100, 84.064, 0.01),
    (10, 3.092, 0.001),
]


def test_erlang_b_exact_small_cases():
    assert traffic.erlang_b(1.0, 1) == pytest.approx(0.5)
    assert traffic.erlang_b(1.0, 2) == pytest.approx(0.2)
    assert traffic.erlang_b(2.0, 4) == pytest.approx((16 / 24) / (1 + 2 + 2 + 8 / 6 + 16 / 24))
    assert traffic.erlang_b(3.0, 0) == 1.0
    assert traffic.erlang_b(0.0, 3) == 0.0


@pytest.mark.parametrize(("servers", "load", "blocking"), ERLANG_B_TABLE)
def test_erlang_b_matches_published_table(servers, load, blocking):
    # the table rounds the load to 3 decimals: 0.5e-3 Erlang moves B by well under 0.5%
    assert traffic.erlang_b(load, servers) == pytest.approx(blocking, rel=5e-3)


def test_erlang_b_is_stable_for_large_loads_and_many_servers():
    assert traffic.erlang_b(1e4, 200) == pytest.approx(1 - 200 / 1e4, rel=1e-3)
    b = traffic.erlang_b(150.0, 200)
    assert 0 < b < 1e-4 and math.isfinite(b)
    dist = traffic.busy_distribution(150.0, 200)
    assert dist.sum() == pytest.approx(1.0) and dist[-1] == pytest.approx(b)


def test_erlang_b_refuses_bad_input():
    with pytest.raises(ValueError, match="offered_load"):
        traffic.erlang_b(-1.0, 3)
    with pytest.raises(ValueError, match="servers"):
        traffic.erlang_b(1.0, -1)


def test_smallest_max_concurrency_is_the_first_under_the_limit():
    # 4.461 Erlangs block 1% at 10 servers: 4.461 req/s x 1000 ms
    assert traffic.smallest_max_concurrency(4.461, 1000.0, limit=0.01) == 10
    assert traffic.smallest_max_concurrency(4.47, 1000.0, limit=0.01) == 11
    assert traffic.smallest_max_concurrency(0.0, 100.0) == 1
    assert traffic.smallest_max_concurrency(5000.0, 1000.0) is None


def _simulate_cold_share(rate, service_s, servers, window_s, provisioned, n, seed):
    """Poisson arrivals, exponential service, most-recently-used idle instance first
    (provisioned ones before all), an on-demand instance reclaimed after ``window_s`` idle."""
    rng = np.random.default_rng(seed)
    t = 0.0
    # [busy_until, provisioned]
    pool = [[0.0, True] for _ in range(provisioned)]
    cold = accepted = 0
    for gap, work in zip(rng.exponential(1 / rate, n), rng.exponential(service_s, n), strict=True):
        t += gap
        pool = [x for x in pool if x[1] or x[0] > t or t - x[0] <= window_s]
        idle = [x for x in pool if x[0] <= t]
        if idle:
            max(idle, key=lambda x: (x[1], x[0]))[0] = t + work
            accepted += 1
        elif len(pool) < servers:
            pool.append([t + work, False])
            cold += 1
            accepted += 1
    return cold / accepted


@pytest.mark.parametrize(
    ("rate", "service_s", "servers", "window_s", "provisioned"),
    [
        (0.005, 0.3, 4, 300.0, 0),  # a quiet endpoint: most requests cold
        (0.02, 0.3, 4, 120.0, 0),
        (0.1, 0.5, 4, 60.0, 0),
        (1.0, 0.5, 6, 60.0, 0),
        (3.0, 0.5, 8, 20.0, 1),
        (0.01, 1.0, 4, 120.0, 1),
    ],
)
def test_cold_share_matches_a_simulation(rate, service_s, servers, window_s, provisioned):
    simulated = _simulate_cold_share(
        rate, service_s, servers, window_s, provisioned, n=60_000, seed=7
    )
    estimate = traffic.cold_share(rate, service_s * 1000, servers, window_s, provisioned)
    # 60k arrivals: the simulation's own standard error is below 0.2 percentage point
    assert estimate == pytest.approx(simulated, rel=0.1, abs=0.003)


def test_cold_share_of_an_idle_endpoint_is_the_chance_of_a_gap_longer_than_the_window():
    # one request at a time: cold exactly when the gap since the last one exceeds the window
    assert traffic.cold_share(0.01, 1.0, 1, 100.0) == pytest.approx(math.exp(-1.0), rel=1e-4)
    assert traffic.cold_share(0.01, 1.0, 3, 100.0, provisioned=3) == 0.0


def test_percentile_with_cold_mixes_warm_and_cold_latencies():
    warm = np.arange(1.0, 1001.0)  # 1..1000 ms
    assert traffic.percentile_with_cold(warm, 5000.0, 0.0) == 990.0
    # 2% cold: the top 1% are all cold requests
    assert traffic.percentile_with_cold(warm, 5000.0, 0.02) > 5000.0
    # 0.5% cold: p99 stays among warm requests, a little higher than without
    assert 990.0 < traffic.percentile_with_cold(warm, 5000.0, 0.005) < 1000.0


def _needs(**kw):
    return traffic.TrafficNeeds(**{"average_rps": 2.0, "peak_rps": 40.0, **kw})


def test_answer_picks_the_cheapest_provisioned_option_meeting_the_sla():
    rng = np.random.default_rng(3)
    warm = rng.lognormal(math.log(150), 0.1, 2000)
    prices = get_prices("us-east-1")
    # quiet traffic, short window: many cold starts, so provisioned instances pay off
    needs = _needs(average_rps=0.05, peak_rps=2.0, idle_window_s=30.0)
    free = traffic.traffic_answer(needs, 2048, warm, 3000.0, prices)
    assert free is not None and free.provisioned_concurrency == 0 and free.sla_met is None
    strict = traffic.traffic_answer(needs, 2048, warm, 3000.0, prices, sla_ms=400.0)
    assert strict.sla_met and strict.provisioned_concurrency >= 1
    options = strict.options.set_index("provisioned_concurrency")
    assert not bool(options.loc[0, "sla_met"])
    cheaper = options[options["monthly_cost_usd"] < strict.monthly_cost_usd]
    assert not cheaper["sla_met"].astype(bool).any()
    assert strict.p99_with_cold_ms <= 400.0
    # the throttle share at the peak is Erlang-B's at the chosen MaxConcurrency
    load = 2.0 * float(warm.mean()) / 1000
    assert strict.peak_throttle_share == pytest.approx(
        traffic.erlang_b(load, strict.max_concurrency)
    )
    assert strict.peak_throttle_share <= traffic.DEFAULT_THROTTLE_LIMIT
    assert strict.max_concurrency == traffic.smallest_max_concurrency(2.0, float(warm.mean()))
    assert strict.sentence().startswith(f"Deploy 2048 MB, MaxConcurrency {strict.max_concurrency}")
    assert "including cold starts" in strict.sentence()


def test_monthly_costs_cover_on_demand_each_provisioned_option_and_an_instance_endpoint():
    warm = np.full(100, 200.0)
    prices = get_prices("us-east-1")
    needs = _needs(average_rps=1.0, peak_rps=10.0)
    ans = traffic.traffic_answer(needs, 1024, warm, 1000.0, prices, instance_type="ml.c5.large")
    costs = ans.costs
    c = ans.max_concurrency
    assert list(costs["option"][: c + 1]) == ["on-demand"] + [
        f"provisioned {p}" for p in range(1, c + 1)
    ]
    # on-demand: 1 req/s for a month at 0.2 s and 1 GB (no payload sizes given)
    month = 730 * 3600
    expected = month * 0.2 * prices.compute_per_second(1024)
    assert costs["monthly_cost_usd"].iloc[0] == pytest.approx(expected, rel=1e-6)
    # 10 req/s x 0.2 s = 2 busy instances; at most 70% busy each: 3 instances
    last = costs.iloc[-1]
    assert last["instances"] == 3 and last["option"].startswith("instance endpoint")
    assert last["monthly_cost_usd"] == pytest.approx(3 * prices.instance_monthly("ml.c5.large"))


def test_answer_from_frames_reads_the_result_tables():
    rows = []
    for i in range(200):
        rows.append(
            {
                "phase": "stability",
                "memory_size": 3072,
                "provisioned_concurrency": 0,
                "outcome": "ok",
                "cold": i == 0,
                "latency_ms": 2600.0 if i == 0 else 100.0 + (i % 10),
                "bytes_in": 10,
                "bytes_out": 20,
            }
        )
    inv = pd.DataFrame(rows)
    cold = pd.DataFrame(
        [{"memory_size": 3072, "provisioned_concurrency": 0, "cold_penalty_ms": 2500.0}]
    )
    costs = pd.DataFrame([{"memory_size": 3072, "provisioned_concurrency": 0, "billed_ms": 90.0}])
    ans = traffic.answer_from_frames(
        inv, cold, costs, _needs(), get_prices("us-east-1"), 3072, sla_ms=300.0, sla_percentile=99
    )
    assert ans is not None and ans.memory_size == 3072
    warm_mean = np.mean([100.0 + (i % 10) for i in range(1, 200)])  # the cold row left out
    assert ans.options["mean_service_ms"].iloc[0] == pytest.approx(warm_mean)
    assert traffic.answer_from_frames(inv, cold, costs, _needs(), get_prices(), 1024) is None


def test_throttle_check_puts_erlang_b_beside_the_measured_share():
    starts = np.arange(0.0, 100.0, 0.1)  # 10 req/s
    outcomes = ["throttled" if i % 20 == 0 else "ok" for i in range(len(starts))]
    inv = pd.DataFrame(
        {
            "trial_id": "t",
            "phase": "open_loop",
            "memory_size": 2048,
            "max_concurrency": 2,
            "start": starts,
            "outcome": outcomes,
            "cold": False,
            "latency_ms": 100.0,
        }
    )
    row = traffic.throttle_check(inv).iloc[0]
    assert row["rate_rps"] == pytest.approx(10.0)
    assert row["offered_load"] == pytest.approx(1.0)
    assert row["predicted_throttle_share"] == pytest.approx(0.2)
    assert row["measured_throttle_share"] == pytest.approx(0.05)


def test_evidence_ends_with_the_monthly_costs_of_each_way_to_deploy():
    prices = get_prices("us-east-1")
    needs = _needs(average_rps=1.0, peak_rps=10.0)
    ans = traffic.traffic_answer(needs, 1024, np.full(100, 200.0), 1000.0, prices)
    last = ans.evidence[-1]
    on_demand = ans.costs["monthly_cost_usd"].iloc[0]
    assert last.startswith(f"Monthly cost at your traffic: on-demand ${on_demand:,.0f}")
    assert "provisioned 1 $" in last and "instance endpoint of 3 x ml.c5.large" in last


def test_throttle_check_of_a_trace_replay_predicts_slice_by_slice():
    # two 10 s slices of a replayed trace: 5 req/s then 20 req/s, 100 ms each, c = 2
    starts = np.concatenate([np.arange(0.0, 10.0, 0.2), np.arange(10.0, 20.0, 0.05)])
    inv = pd.DataFrame(
        {
            "trial_id": "t",
            "phase": "open_loop",
            "memory_size": 2048,
            "max_concurrency": 2,
            "start": starts,
            "outcome": "ok",
            "cold": False,
            "latency_ms": 100.0,
        }
    )
    stationary = traffic.throttle_check(inv).iloc[0]
    replay = traffic.throttle_check(inv, slice_s=10.0).iloc[0]
    assert stationary["predicted_throttle_share"] == pytest.approx(
        traffic.erlang_b(stationary["rate_rps"] * 0.1, 2)
    )
    by_slice = (50 * traffic.erlang_b(0.5, 2) + 200 * traffic.erlang_b(2.0, 2)) / 250
    assert replay["predicted_throttle_share"] == pytest.approx(by_slice)
    # the busy slice dominates: a single average rate would understate the throttling
    assert replay["predicted_throttle_share"] > stationary["predicted_throttle_share"]


def test_arrival_cv_is_one_for_poisson_and_more_for_bursts():
    rng = np.random.default_rng(4)
    poisson = np.cumsum(rng.exponential(0.1, 20_000))
    assert traffic.arrival_cv([poisson]) == pytest.approx(1.0, abs=0.03)
    assert traffic.arrival_cv([np.arange(0.0, 100.0, 0.1)]) == pytest.approx(0.0, abs=1e-9)
    # the same arrivals held back and sent 5 at a time: four gaps of 0, then a gap G of 5
    # exponential gaps (mean 5m, variance 5m^2): E[gap^2] = (25 + 5) m^2 / 5, so CV = sqrt(5)
    bunched = np.repeat(poisson[4::5], 5)
    assert traffic.arrival_cv([bunched]) == pytest.approx(math.sqrt(5), rel=0.05)
    # a trace replay: 2 req/s then 20 req/s, Poisson within each 100 s slice
    slow = np.cumsum(rng.exponential(0.5, 200))
    fast = 100.0 + np.cumsum(rng.exponential(0.05, 2000))
    trace = np.concatenate([slow[slow < 100.0], fast[fast < 200.0]])
    assert traffic.arrival_cv([trace]) > 1.5  # the rate's change, not burstiness
    assert traffic.arrival_cv([trace], slice_s=100.0) == pytest.approx(1.0, abs=0.06)
    assert math.isnan(traffic.arrival_cv([[1.0, 2.0]]))
    # two stretches (a resumed check): the pause between them is no gap
    assert traffic.arrival_cv([poisson[:9000], poisson[10_000:] + 1e4]) == pytest.approx(
        1.0, abs=0.03
    )


def test_open_loop_evidence_says_when_the_requests_went_out_in_bursts():
    rng = np.random.default_rng(6)
    warm = pd.DataFrame(
        {
            "phase": "stability",
            "memory_size": 2048,
            "provisioned_concurrency": 0,
            "outcome": "ok",
            "cold": False,
            "latency_ms": 100.0,
            "start": np.arange(100.0),
            "trial_id": "s",
            "max_concurrency": 4,
        }
    )

    def check(starts: np.ndarray) -> pd.DataFrame:
        return warm.assign(trial_id="o", phase="open_loop", start=starts[: len(warm)])

    poisson = np.cumsum(rng.exponential(0.05, 100))
    bursts = np.repeat(poisson[::5], 5)
    texts = []
    for starts in (poisson, bursts):
        inv = pd.concat([warm, check(starts)], ignore_index=True)
        ans = traffic.answer_from_frames(
            inv, pd.DataFrame(), pd.DataFrame(), _needs(), get_prices(), 2048
        )
        texts.append(next(e for e in ans.evidence if e.startswith("Open-loop check")))
    assert "bursts" not in texts[0]
    assert "went out in bursts" in texts[1] and "overstates throttling" in texts[1]


def test_answer_keeps_within_the_account_concurrency_quota_and_names_the_raise():
    prices = get_prices("us-east-1")
    warm = np.full(500, 300.0)
    # 40 req/s x 0.3 s = 12 Erlangs: 0.1% throttled needs MaxConcurrency 24
    needed = traffic.smallest_max_concurrency(40.0, 300.0)
    assert needed == 24
    free = traffic.traffic_answer(_needs(), 3072, warm, 0.0, prices)
    assert free.max_concurrency == needed and not free.over_quota
    assert free.needed_max_concurrency is None and "quota" not in free.sentence()
    roomy = traffic.traffic_answer(_needs(), 3072, warm, 0.0, prices, account_max_concurrency=24)
    assert roomy.max_concurrency == 24 and not roomy.over_quota
    # a new account's quota of 10: the answer deploys 10, throttles what Erlang-B says there,
    # and names the quota and the value to ask for
    capped = traffic.traffic_answer(
        _needs(), 3072, warm, 0.0, prices, account_max_concurrency=10, region="eu-west-1"
    )
    assert capped.max_concurrency == 10 and capped.over_quota
    assert capped.needed_max_concurrency == 24
    assert capped.peak_throttle_share == pytest.approx(traffic.erlang_b(12.0, 10))
    assert (capped.options["max_concurrency"] == 10).all()
    assert capped.options["provisioned_concurrency"].max() == 10
    sentence = capped.sentence()
    assert sentence.startswith("Deploy 3072 MB, MaxConcurrency 10 (the account's serverless")
    assert "the peak needs 24" in sentence
    assert (
        "ask AWS to raise the quota 'Maximum total concurrency that can be allocated across "
        "all serverless endpoints' (L-96300102) in eu-west-1 to 24"
    ) in sentence
    assert f"{traffic.percent(traffic.erlang_b(12.0, 10))} throttled" in sentence
    first = capped.evidence[0]
    assert "needs MaxConcurrency 24" in first and "the account allows 10 in all" in first
    assert "--quota-code L-96300102 --desired-value 24" in first
    assert capped.to_dict()["needed_max_concurrency"] == 24
    assert capped.to_dict()["quota_raise"] == capped.quota_raise


def test_a_peak_beyond_the_service_maximum_asks_for_the_most_and_more_endpoints():
    prices = get_prices("us-east-1")
    needs = _needs(peak_rps=1000.0)  # 300 Erlangs: beyond MaxConcurrency 200
    capped = traffic.traffic_answer(
        needs, 3072, np.full(100, 300.0), 0.0, prices, account_max_concurrency=10
    )
    assert capped.max_concurrency == 10 and capped.needed_max_concurrency is None
    assert "the peak needs 200 or more" in capped.sentence()
    assert "to 200" in capped.quota_raise
    assert "spread it over more endpoints" in capped.evidence[0]
    at_most = traffic.traffic_answer(needs, 3072, np.full(100, 300.0), 0.0, prices)
    assert at_most.max_concurrency == 200 and not at_most.over_quota
    assert at_most.evidence[0].startswith("Even MaxConcurrency 200 throttles")


def test_answer_from_frames_reads_the_quota_it_is_given():
    rows = [
        {
            "phase": "stability",
            "memory_size": 2048,
            "provisioned_concurrency": 0,
            "outcome": "ok",
            "cold": False,
            "latency_ms": 300.0,
        }
    ] * 50
    inv = pd.DataFrame(rows)
    empty = pd.DataFrame()
    ans = traffic.answer_from_frames(
        inv, empty, empty, _needs(), get_prices(), 2048, account_max_concurrency=10
    )
    assert ans.max_concurrency == 10 and ans.needed_max_concurrency == 24
    default = traffic.answer_from_frames(inv, empty, empty, _needs(), get_prices(), 2048)
    assert default.max_concurrency == 24
