"""A resumed run recommends what an uninterrupted run of the same seeded scenario does.

Scenario 4 of ``tests/scenarios.py`` (cost rule over 3072, 4096 and 5120 MB; the model's
time is lognormal with sigma 0.06) has a clear optimum: 3072 MB is 25% cheaper than the
next size, far beyond noise and the 2% indifference zone. One run goes uninterrupted; one
is stopped and one fails (an exception in the run's own thread) a third of the way through
the stability phase, and each is resumed. All three must recommend the true optimum, the
same max concurrency or one in a tie they declare, and key figures within noise.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from statistics import NormalDist

import pandas as pd
import pytest

from sm_bench_widgets.analysis.pricing import get_prices
from sm_bench_widgets.api import resume_benchmark, run_benchmark, start_benchmark
from sm_bench_widgets.config import BenchmarkConfig
from sm_bench_widgets.emulator import LocalServerless
from sm_bench_widgets.engine.store import load_run
from tests import scenarios
from tests.conftest import TEST_SEED, TEST_TIME_SCALE
from tests.waiting import wait_until

from .helpers import endpoint_names
from .test_resume_failed import assert_kept_once, fail_while_loading

SEED = 4
STABILITY = 120  # invocations per memory size
CONCURRENCY = 80  # invocations per concurrency trial
# A figure of two runs differs by more than this many standard errors of the difference
# with probability 6e-5 (normal tails): a failure means a real difference, not noise.
Z_BOUND = 4.0


def scenario_config(sc: scenarios.Scenario, tmp_path) -> BenchmarkConfig:
    """The scenario's question with the concurrency benchmark at MaxConcurrency 1 and 2.

    Fixed budgets (no adaptive stopping), so each configuration's billed mean rests on
    hundreds of invocations; MaxConcurrency 1 and 2 then cost the same within about 0.5%
    (one standard error of their difference), so the tie between them is declared.
    """
    fields = sc.config_fields()
    fields.update(
        adaptive=False,
        stability_benchmark_invocations=STABILITY,
        include_concurrency_benchmark=True,
        concurrency_benchmark_max_conc=[1, 2],
        concurrency_benchmark_invocations=CONCURRENCY,
        result_save_path=str(tmp_path),
    )
    return BenchmarkConfig(**fields)


def stored_rows(run_dir) -> int:
    path = run_dir / "invocations.jsonl"
    return len(path.read_text().splitlines()) if path.exists() else 0


def declared(rec) -> set[tuple[int, int]]:
    """(memory, max concurrency) of the recommendation and of every tie it declares."""
    picks = {(rec.memory_size, rec.max_concurrency)}
    for reason in rec.reasons:
        if reason.startswith("Tie:"):
            found = re.findall(r"(\d+) MB, max concurrency (\d+)", reason.split(" are within")[0])
            picks |= {(int(m), int(c)) for m, c in found}
    return picks


def standard_error(row: pd.Series, q: int, confidence: float) -> float:
    """The standard error of a percentile, read from the tool's own interval of it."""
    z = NormalDist().inv_cdf((1 + confidence) / 2)
    return (row[f"p{q}_ci_high"] - row[f"p{q}_ci_low"]) / (2 * z)


def assert_same_within_noise(full, resumed, sc: scenarios.Scenario) -> None:
    """The two results recommend alike, and their figures differ by noise alone."""
    a, b = full.recommendation, resumed.recommendation
    assert a is not None and b is not None
    assert a.memory_size == b.memory_size
    assert (b.memory_size, b.max_concurrency) in declared(a) | declared(b), (
        a.reasons,
        b.reasons,
    )
    # percentiles: both runs' estimates are independent samples of the same distribution
    # (the emulator's instances do not contend), so their difference has the standard
    # error sqrt(se_a^2 + se_b^2), each se read from the interval the result states
    for kind, (row_a, row_b) in {
        "recommended trial": (_row(full, a.trial_id), _row(resumed, b.trial_id)),
        "stability trial": (
            _row(full, f"stability-m{a.memory_size}"),
            _row(resumed, f"stability-m{b.memory_size}"),
        ),
    }.items():
        for q in (50, 90):
            se = math.hypot(
                standard_error(row_a, q, full.config.confidence),
                standard_error(row_b, q, resumed.config.confidence),
            )
            diff = abs(row_a[f"p{q}_ms"] - row_b[f"p{q}_ms"])
            assert diff <= Z_BOUND * se, f"{kind} p{q}: {diff:.1f} ms apart, se {se:.1f} ms"
    # cost: billed on the mean ModelLatency of the configuration's invocations; the model's
    # time is LogNormal(0, sigma), whose relative standard deviation is
    # sqrt(exp(sigma^2) - 1), so a mean over n invocations has that over sqrt(n)
    rel_sd = math.sqrt(math.exp(sc.profile.sigma**2) - 1)
    n_a = _billed_count(full, a.memory_size, a.max_concurrency)
    n_b = _billed_count(resumed, b.memory_size, b.max_concurrency)
    rel_se = rel_sd * math.sqrt(1 / n_a + 1 / n_b)
    rel_diff = abs(a.cost_per_1m_usd - b.cost_per_1m_usd) / a.cost_per_1m_usd
    assert rel_diff <= Z_BOUND * rel_se, f"cost {rel_diff:.2%} apart, se {rel_se:.2%}"
    assert a.billed_from == b.billed_from


def _row(result, trial_id: str) -> pd.Series:
    summary = result.summary
    return summary[summary["trial_id"] == trial_id].iloc[0]


def _billed_count(result, memory: int, max_conc: int) -> int:
    rows = result.invocations
    same = (rows["memory_size"] == memory) & (rows["max_concurrency"] == max_conc)
    return int((same & (rows["outcome"] == "ok")).sum())


@pytest.fixture(scope="module")
def scenario_emulator() -> Iterator[tuple[LocalServerless, scenarios.Scenario]]:
    """An emulator of this module's own serving the scenario's model."""
    sc = scenarios.make_scenario(SEED)
    with LocalServerless(time_scale=TEST_TIME_SCALE, seed=TEST_SEED) as emu:
        emu.register_profile_model(sc.model_name, sc.profile)
        yield emu, sc


@pytest.fixture(scope="module")
def uninterrupted(scenario_emulator, tmp_path_factory):
    """The scenario run once from start to end: what a resumed run is compared with."""
    emu, sc = scenario_emulator
    out = tmp_path_factory.mktemp("uninterrupted")
    return run_benchmark(scenario_config(sc, out), emu.target(), progress=False)


def test_the_scenario_has_a_clear_optimum_that_an_uninterrupted_run_finds(
    scenario_emulator, uninterrupted
):
    emu, sc = scenario_emulator
    prices = get_prices(emu.target().region_name)
    truth, hits = scenarios.optimum(scenarios.truths(sc, prices), sc.strategy, sc.weight)
    assert truth is not None and hits == {truth.memory_size}  # no true tie
    assert uninterrupted.status == "completed"
    assert uninterrupted.recommendation.memory_size == truth.memory_size
    assert endpoint_names(emu.target()) == []


@pytest.mark.parametrize("interruption", ["stopped", "failed"])
def test_a_resumed_run_recommends_as_an_uninterrupted_run(
    scenario_emulator, uninterrupted, tmp_path, monkeypatch, interruption
):
    emu, sc = scenario_emulator
    target = emu.target()
    third = len(sc.memory_sizes) * STABILITY // 3
    if interruption == "failed":
        fail_while_loading(monkeypatch, third)
    handle = start_benchmark(scenario_config(sc, tmp_path), target)
    if interruption == "stopped":
        wait_until(lambda: stored_rows(handle.run_dir) >= third, 60, f"{third} rows stored")
        handle.stop()
    first = handle.wait(120)
    assert first is not None and first.status == interruption
    assert load_run(handle.run_dir).status["status"] == interruption
    earlier = load_run(handle.run_dir).invocations
    assert third <= len(earlier) < len(sc.memory_sizes) * STABILITY
    assert endpoint_names(target) == []
    monkeypatch.undo()

    resumed = resume_benchmark(handle.run_dir, target).wait(120)
    assert resumed is not None and resumed.status == "completed", resumed.errors
    assert_kept_once(earlier, load_run(handle.run_dir).invocations)
    assert len(resumed.invocations) == len(uninterrupted.invocations)
    assert endpoint_names(target) == []
    assert_same_within_noise(uninterrupted, resumed, sc)
