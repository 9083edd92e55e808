"""The plan: trials from a config, in two steps, without any AWS call."""

from __future__ import annotations

import pytest

from sm_bench_widgets.config import BenchmarkConfig, ConfigError
from sm_bench_widgets.engine.plan import (
    client_counts,
    group_by_endpoint,
    plan_concurrency,
    plan_stability,
)


def test_stability_has_one_sequential_trial_per_memory_size():
    config = BenchmarkConfig(memory_sizes=[1024, 3072], stability_benchmark_invocations=77)
    trials = plan_stability(config)
    assert [t.memory_size for t in trials] == [1024, 3072]
    assert {(t.phase, t.max_concurrency, t.clients, t.provisioned_concurrency) for t in trials} == {
        ("stability", 1, 1, 0)
    }
    assert [t.max_invocations for t in trials] == [77, 77]
    assert len({t.endpoint_key for t in trials}) == 2


def test_client_counts_round_up_and_drop_repeats():
    assert client_counts(2, [1, 1.5, 1.75, 2]) == [2, 3, 4]
    assert client_counts(8, [1, 1.5, 1.75, 2]) == [8, 12, 14, 16]


def test_concurrency_reuses_one_endpoint_per_max_concurrency():
    config = BenchmarkConfig(
        concurrency_benchmark_max_conc=[2, 4],
        concurrency_num_clients_multiplier=[1, 2],
        concurrency_benchmark_invocations=50,
    )
    trials = plan_concurrency(config, 3072)
    assert [(t.max_concurrency, t.clients) for t in trials] == [(2, 2), (2, 4), (4, 4), (4, 8)]
    assert {t.memory_size for t in trials} == {3072}
    groups = group_by_endpoint(trials)
    assert [len(g) for g in groups.values()] == [2, 2]
    assert len({t.trial_id for t in trials}) == 4


def test_provisioned_values_get_the_smallest_max_concurrency_that_holds_them():
    config = BenchmarkConfig(
        concurrency_benchmark_max_conc=[2, 8],
        concurrency_num_clients_multiplier=[1],
        provisioned_concurrency=[1, 5],
        include_concurrency_benchmark=False,
    )
    trials = plan_concurrency(config, 2048)
    assert [(t.max_concurrency, t.provisioned_concurrency, t.clients) for t in trials] == [
        (2, 1, 2),
        (8, 5, 8),
    ]


def test_provisioned_above_every_max_concurrency_is_refused_naming_the_field():
    with pytest.raises(ConfigError) as err:  # by the config itself, before any plan
        BenchmarkConfig(concurrency_benchmark_max_conc=[2, 4], provisioned_concurrency=[6])
    assert err.value.field == "provisioned_concurrency"
    assert "4" in str(err.value)


def test_hosts_share_endpoints_round_robin_each_endpoints_trials_together():
    from sm_bench_widgets.engine.plan import share

    config = BenchmarkConfig(
        memory_sizes=[1024, 2048, 3072],
        concurrency_benchmark_max_conc=[2, 4, 8],
        concurrency_num_clients_multiplier=[1, 2],
    )
    stability = plan_stability(config)
    assert [t.memory_size for t in share(stability, 0, 2)] == [1024, 3072]
    assert [t.memory_size for t in share(stability, 1, 2)] == [2048]
    assert share(stability, 0, 1) == stability
    concurrency = plan_concurrency(config, 2048)
    parts = [share(concurrency, i, 3) for i in range(3)]
    assert [{t.max_concurrency for t in p} for p in parts] == [{2}, {4}, {8}]
    assert sorted(t.trial_id for p in parts for t in p) == sorted(t.trial_id for t in concurrency)
    assert share(concurrency, 1, 4) == [t for t in concurrency if t.max_concurrency == 4]
    assert share(plan_stability(config.replace(memory_sizes=[1024])), 1, 2) == []


def test_trials_with_more_clients_than_one_host_drives_are_split_over_hosts():
    from sm_bench_widgets.engine.hosts import guest_parts, owners, split_trials, spread
    from sm_bench_widgets.engine.plan import share

    config = BenchmarkConfig(
        memory_sizes=[2048],
        concurrency_benchmark_max_conc=[4, 8],
        concurrency_num_clients_multiplier=[1, 2],
        concurrency_benchmark_invocations=101,
    )
    trials = plan_concurrency(config, 2048)  # c4: n4, n8; c8: n8, n16
    assert owners(trials, 2) == {"m2048-c4-p0": 0, "m2048-c8-p0": 1}
    # one host, or no capacity figure: nothing is split (runs as without hosts)
    assert split_trials(trials, 4, 1) == {} and split_trials(trials, None, 2) == {}
    splits = split_trials(trials, 4, 2)
    assert sorted(splits) == [
        "concurrency-m2048-c4-n8",
        "concurrency-m2048-c8-n16",
        "concurrency-m2048-c8-n8",
    ]
    n8 = splits["concurrency-m2048-c4-n8"]
    # part 0 on the endpoint's owner, the next on the host after it; clients and budget shared
    assert [(p.index, p.host, p.owner, p.clients) for p in n8] == [(0, 0, 0, 4), (1, 1, 0, 4)]
    assert sum(p.max_invocations for p in n8) == 101 and {p.count for p in n8} == {2}
    # 16 clients need 4 hosts of 4 but there are 2: two parts of 8, the owner host 1 first
    n16 = splits["concurrency-m2048-c8-n16"]
    assert [(p.host, p.clients) for p in n16] == [(1, 8), (0, 8)]
    assert [p.trial.trial_id for p in guest_parts(splits, 0)] == [
        "concurrency-m2048-c8-n8",
        "concurrency-m2048-c8-n16",
    ]
    assert [p.trial.trial_id for p in guest_parts(splits, 1)] == ["concurrency-m2048-c4-n8"]
    # each host still deploys only the endpoints it owns
    assert {t.endpoint_key for t in share(trials, 1, 2)} == {"m2048-c8-p0"}
    # three hosts and 9 clients at 4 per host: three parts of 3
    nine = plan_concurrency(config.replace(concurrency_num_clients_multiplier=[2.25]), 2048)
    parts = split_trials(nine, 4, 3)["concurrency-m2048-c4-n9"]
    assert [(p.host, p.clients) for p in parts] == [(0, 3), (1, 3), (2, 3)]
    assert [p.max_invocations for p in parts] == [34, 34, 33]
    assert split_trials(plan_stability(config), 1, 2) == {}  # one client: never split
    assert spread(10, [3, 1]) == [8, 2] and spread(7, [1, 1, 1]) == [3, 2, 2]
