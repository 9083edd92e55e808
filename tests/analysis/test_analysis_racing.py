"""Racing drops a clearly dominated configuration and keeps close or unmeasured ones."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sm_bench_widgets.analysis.cost import cost_table
from sm_bench_widgets.analysis.pricing import get_prices
from sm_bench_widgets.analysis.racing import dominated, verdicts
from sm_bench_widgets.analysis.stats import summarize
from sm_bench_widgets.config import ConfigError

PRICES = get_prices("us-east-1")


def _race_frames(make_invocations, n: int = 200):
    rng = np.random.default_rng(2024)

    def lat(median: float, size: int = n) -> np.ndarray:
        return rng.lognormal(np.log(median), 0.2, size)

    inv = pd.concat(
        [
            make_invocations("fast-2048", lat(100), memory_size=2048),
            make_invocations("close-3072", lat(98), memory_size=3072),
            make_invocations("slow-1024", lat(400), memory_size=1024),
            make_invocations("new-4096", lat(900, 3), memory_size=4096),  # too few to judge
        ],
        ignore_index=True,
    )
    summary = summarize(inv)
    return summary, cost_table(summary, inv, PRICES, monthly_invocations=1_000_000)


def test_speed_drops_the_clearly_slower_configuration_only(make_invocations):
    summary, costs = _race_frames(make_invocations)
    assert dominated(summary, costs, "speed", 0.5, 0.95) == {"slow-1024"}


def test_cost_drops_the_clearly_dearer_configuration_only(make_invocations):
    summary, costs = _race_frames(make_invocations)
    # Per invocation: 1024 MB x 400 ms costs about twice 2048 MB x 100 ms, while
    # 3072 MB x 98 ms is about 1.5x 2048 MB x 100 ms: both clearly dearer.
    dropped = dominated(summary, costs, "cost", 0.5, 0.95)
    assert dropped == {"slow-1024", "close-3072"}


def test_balanced_drops_the_configuration_worse_on_both(make_invocations):
    summary, costs = _race_frames(make_invocations)
    dropped = dominated(summary, costs, "balanced", 0.5, 0.95)
    assert "slow-1024" in dropped
    assert "fast-2048" not in dropped and "new-4096" not in dropped


def test_close_configurations_are_not_dropped(make_invocations):
    rng = np.random.default_rng(99)
    inv = pd.concat(
        [
            make_invocations("a", rng.lognormal(np.log(100), 0.3, 60), memory_size=2048),
            make_invocations(
                "b", rng.lognormal(np.log(104), 0.3, 60), memory_size=2048, max_concurrency=2
            ),
        ],
        ignore_index=True,
    )
    summary = summarize(inv)
    costs = cost_table(summary, inv, PRICES, 1_000_000)
    for strategy in ("speed", "cost", "balanced"):
        assert dominated(summary, costs, strategy, 0.5, 0.95) == set(), strategy


def test_undefined_intervals_are_never_dropped_nor_used_to_drop(make_invocations):
    summary, costs = _race_frames(make_invocations)
    assert "new-4096" not in dominated(summary, costs, "speed", 0.5, 0.95)
    # Alone with an unmeasured configuration, even a slow one survives.
    pair = summary[summary["trial_id"].isin(["slow-1024", "new-4096"])]
    assert dominated(pair, costs, "speed", 0.5, 0.95) == set()
    # Without a cost row, the cost race cannot drop anyone.
    assert dominated(summary, None, "cost", 0.5, 0.95) == set()


def test_configurations_compete_only_within_their_phase(make_invocations):
    rng = np.random.default_rng(5)
    inv = pd.concat(
        [
            make_invocations("stab", rng.lognormal(np.log(100), 0.1, 100)),
            make_invocations(
                "conc",
                rng.lognormal(np.log(300), 0.1, 100),
                phase="concurrency",
                max_concurrency=4,
                clients=8,
            ),
        ],
        ignore_index=True,
    )
    assert dominated(summarize(inv), None, "speed", 0.5, 0.95) == set()


def test_bad_arguments_are_refused(make_invocations):
    summary, costs = _race_frames(make_invocations)
    with pytest.raises(ConfigError):
        dominated(summary, costs, "fastest", 0.5, 0.95)
    with pytest.raises(ConfigError):
        dominated(summary, costs, "balanced", 1.5, 0.95)
    with pytest.raises(ValueError, match="built at 0.95"):
        dominated(summary, costs, "speed", 0.5, 0.99)
    assert dominated(summary.iloc[0:0], costs, "speed", 0.5, 0.95) == set()


def _over_the_sla(make_invocations, medians: dict[str, tuple[int, float]]):
    rng = np.random.default_rng(31)
    inv = pd.concat(
        [
            make_invocations(name, rng.lognormal(np.log(median), 0.05, 200), memory_size=m)
            for name, (m, median) in medians.items()
        ],
        ignore_index=True,
    )
    summary = summarize(inv)
    return summary, cost_table(summary, inv, PRICES, 1_000_000)


def test_the_last_possibly_feasible_configuration_is_never_stopped_as_infeasible(
    make_invocations,
):
    # Both p90s (~315 and ~340 ms) lie surely above an SLA of 250 ms: racing stops the
    # farther one and lets the nearer run on to its precision or budget.
    summary, costs = _over_the_sla(make_invocations, {"a": (2048, 300), "b": (1024, 320)})
    sla = dict(sla_percentile=90, sla_ms=250.0)
    assert verdicts(summary, costs, "cost", 0.5, 0.95, **sla) == {"b": "infeasible"}
    # once b stopped, a is still the last one: it is not stopped either
    summary.loc[summary["trial_id"] == "b", "stop_reason"] = "infeasible"
    assert verdicts(summary, costs, "cost", 0.5, 0.95, **sla) == {}
    # a trial another reason stopped is not kept running in its place
    summary.loc[summary["trial_id"] == "b", "stop_reason"] = "precision"
    assert verdicts(summary, costs, "cost", 0.5, 0.95, **sla) == {}


def test_configurations_that_surely_fail_stop_while_another_may_qualify(make_invocations):
    medians = {"a": (2048, 300), "b": (1024, 320), "c": (4096, 150)}
    summary, costs = _over_the_sla(make_invocations, medians)
    found = verdicts(summary, costs, "speed", 0.5, 0.95, sla_percentile=90, sla_ms=250.0)
    assert found == {"a": "infeasible", "b": "infeasible"}
