"""Resuming a traffic-aware run: the open-loop checks and the idle probe that did not
finish run again, those that did are kept as they are, and a check or probe measured in
two stretches (before and after the resume) is read stretch by stretch."""

from __future__ import annotations

import pandas as pd
import pytest

from sm_bench_widgets.analysis import traffic as model
from sm_bench_widgets.api import resume_benchmark, start_benchmark
from sm_bench_widgets.emulator import LocalServerless
from sm_bench_widgets.engine.events import TrialEnded
from sm_bench_widgets.engine.store import load_run
from sm_bench_widgets.traffic import Traffic
from tests.waiting import wait_until

from .helpers import endpoint_names, small_config
from .test_resume_failed import assert_kept_once, watched


def _row(trial_id: str, phase: str, start: float, latency_ms: float = 100.0, **more) -> dict:
    row = dict(
        trial_id=trial_id,
        phase=phase,
        memory_size=2048,
        max_concurrency=2,
        start=start,
        end=start + latency_ms / 1000,
        latency_ms=latency_ms,
        outcome="ok",
        cold=phase == "cold_start",
        endpoint_name="demo-nlp-abc-m2048-c2",  # the same name again after a resume
    )
    return {**row, **more}


def test_an_open_loop_check_measured_in_two_stretches_keeps_its_rate():
    # 3 req/s after each cold-start burst, the second stretch 100 s after the first
    rows = []
    for t0, arrivals in ((1000.0, 12), (1114.0, 9)):
        rows += [_row("open-m2048-c2", "cold_start", t0 + i * 0.001, 7000.0) for i in range(2)]
        rows += [_row("open-m2048-c2", "open_loop", t0 + 8 + i / 3) for i in range(arrivals)]
    check = model.throttle_check(pd.DataFrame(rows))
    assert check["rate_rps"].tolist() == [pytest.approx(3.0)]
    assert check["requests"].tolist() == [21]
    # the trace's slices are counted from each stretch's start: one 4 s slice each
    sliced = model.throttle_check(pd.DataFrame(rows), slice_s=4.0)
    share = [model.erlang_b(model.offered_load(n / 4.0, 100.0), 2) for n in (12, 9)]
    expected = (12 * share[0] + 9 * share[1]) / 21
    assert sliced["predicted_throttle_share"].iloc[0] == pytest.approx(expected)


def test_an_idle_probe_run_again_after_a_resume_is_read_probe_by_probe():
    def probe(t0: float, gaps: list[float], last_cold: bool) -> list[dict]:
        rows = [_row("idle-m2048", "idle_probe", t0, 7000.0, cold=True)]
        rows.append(_row("idle-m2048", "idle_probe", rows[-1]["end"], 100.0))
        for i, gap in enumerate(gaps):
            cold = last_cold and i == len(gaps) - 1
            rows.append(
                _row("idle-m2048", "idle_probe", rows[-1]["end"] + gap, 7000 if cold else 100)
            )
            rows[-1]["cold"] = cold
        return rows

    # interrupted after the 60 s gap; 20 s later probed again from a fresh cold start
    first = probe(0.0, [60.0], last_cold=False)
    second = probe(first[-1]["end"] + 20.0, [60.0, 120.0], last_cold=True)
    assert model.measured_idle_window(pd.DataFrame(first + second)) == pytest.approx((60, 120))
    # a probe that ended on its cold gap, then another: each read on its own
    third = probe(second[-1]["end"] + 5.0, [60.0], last_cold=True)
    assert model.measured_idle_window(pd.DataFrame(second + third)) == pytest.approx((60, 60))


def _stop_when(handle, ready) -> None:
    """Stop ``handle``'s run as soon as ``ready(invocations)`` holds."""
    wait_until(lambda: ready(handle.result.invocations), 120, "the run never got there")
    handle.stop()
    assert handle.wait(120) is not None and handle.status == "stopped"


def test_a_run_stopped_in_its_open_loop_check_resumes_only_the_unfinished_check(tmp_path):
    # a request holds its instance ~35 ms of wall time: long enough for the check to run
    config = small_config(
        tmp_path,
        adaptive=False,
        stability_benchmark_invocations=30,
        include_concurrency_benchmark=True,
        concurrency_benchmark_max_conc=[2],
        concurrency_num_clients_multiplier=[1],
        concurrency_benchmark_invocations=24,
        traffic=Traffic.rates(average_rps=1, peak_rps=3.0),
    )
    with LocalServerless(time_scale=0.15, seed=11) as emulator:
        handle = start_benchmark(config, emulator.target())
        checked: list[str] = []
        handle.subscribe(
            lambda e: (
                checked.append(e.trial_id)
                if isinstance(e, TrialEnded) and e.trial_id.startswith("open-")
                else None
            )
        )

        def in_second_check(inv: pd.DataFrame) -> bool:
            arrivals = inv[(inv["phase"] == "open_loop") & ~inv["trial_id"].isin(checked)]
            return bool(checked) and len(arrivals) >= 5

        _stop_when(handle, in_second_check)
        stored = load_run(handle.run_dir)
        plan = {t["trial_id"]: t for t in stored.trials if t["phase"] == "open_loop"}
        assert len(plan) == 2 and stored.stop_reasons[checked[0]] == "max_invocations"
        (unfinished,) = set(plan) - {checked[0]}
        assert stored.stop_reasons[unfinished] == "stopped"
        earlier = stored.invocations

        target = emulator.target()
        created = watched(target)
        resumed = resume_benchmark(handle.run_dir, target)
        result = resumed.wait(120)
        assert result is not None and result.status == "completed", resumed.errors
        assert endpoint_names(target) == []

    # only the unfinished check was deployed again; the finished one kept its rows alone
    assert [n.split("-")[-1] for n in created] == [f"c{plan[unfinished]['max_concurrency']}"]
    final = load_run(handle.run_dir)
    assert_kept_once(earlier, final.invocations)
    assert set(final.stop_reasons.values()) == {"max_invocations"}
    per_trial = final.invocations.groupby("trial_id").size()
    assert {t: per_trial[t] for t in plan} == {t: p["max_invocations"] for t, p in plan.items()}
    before = earlier[earlier["trial_id"] == checked[0]]
    assert len(before) == per_trial[checked[0]]
    # the resumed check sent at the peak rate in each stretch (not over the gap between,
    # which would read below 1 req/s). Its 18 Poisson arrivals in two stretches give 16
    # gaps: the rate read from them lies within 1.5-7.5 req/s of a true 3 with 99.8%
    # probability (16 / Gamma(16, 3), its 0.1% and 99.9% quantiles)
    check = result.throttle_check.set_index("trial_id")
    assert set(check.index) == set(plan)
    assert 1.5 <= check.loc[unfinished, "rate_rps"] <= 7.5, check
    assert result.recommendation.traffic is not None
    answer = result.traffic_answer
    assert answer is not None
    assert any(r.startswith("Open-loop check at MaxConcurrency") for r in answer.evidence)


def test_a_run_stopped_in_its_idle_probe_probes_again_on_resume(tmp_path):
    # the emulator reclaims an instance idle 100 s; gaps of 60 s and 120 s find it warm,
    # then cold. The run is stopped after the 60 s gap and resumed.
    config = small_config(
        tmp_path,
        stability_benchmark_invocations=20,
        include_concurrency_benchmark=True,
        concurrency_benchmark_max_conc=[2],
        concurrency_num_clients_multiplier=[1],
        concurrency_benchmark_invocations=10,
        traffic=Traffic.rates(1, 3, idle_window_s=30, probe_idle_window=True),
    )
    with LocalServerless(time_scale=0.01, idle_timeout=100, seed=3) as emulator:
        handle = start_benchmark(config, emulator.target())
        _stop_when(handle, lambda inv: (inv["phase"] == "idle_probe").sum() >= 3)
        stored = load_run(handle.run_dir)
        assert stored.stop_reasons["idle-m2048"] == "stopped"
        earlier = stored.invocations
        assert (earlier["phase"] == "idle_probe").sum() == 3

        target = emulator.target()
        created = watched(target)
        resumed = resume_benchmark(handle.run_dir, target)
        result = resumed.wait(120)
        assert result is not None and result.status == "completed", resumed.errors
        assert endpoint_names(target) == []

    assert [n.split("-")[-2:] for n in created] == [["m2048", "c1"]]  # the probe's alone
    final = load_run(handle.run_dir)
    assert_kept_once(earlier, final.invocations)
    probe = final.invocations[final.invocations["phase"] == "idle_probe"]
    assert len(probe) == 3 + 4  # the stopped probe's rows, then a whole new probe
    warm, cold = model.measured_idle_window(final.invocations)
    assert 60 <= warm < 100 <= 120 <= cold < 140
    assert any(r.startswith("Idle-reclaim window measured") for r in result.traffic_answer.evidence)
