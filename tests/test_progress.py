"""The shell's progress bars, fed a run's events: truthful per phase, outcomes named."""

from __future__ import annotations

import io

from sm_bench_widgets import api
from sm_bench_widgets.config import BenchmarkConfig
from sm_bench_widgets.engine.plan import plan_stability
from sm_bench_widgets.progress import ProgressBars
from tests.rows import invocation_row

TRIALS = plan_stability(
    BenchmarkConfig(memory_sizes=[1024, 2048], stability_benchmark_invocations=100)
)


def rows(trial_id: str, outcomes: list[str]) -> list[dict]:
    return [
        invocation_row(trial_id, 10.0, start=1000.0 + i, outcome=outcome)
        for i, outcome in enumerate(outcomes)
    ]


def test_the_bar_starts_with_the_load_and_names_running_trials_and_outcomes():
    out = io.StringIO()
    bars = ProgressBars(file=out, mininterval=0)
    bars(api.RunStarted("r1", "/runs/r1", [t.to_dict() for t in TRIALS], emulated=True))
    bars(api.PhaseStarted("stability", trials=2, max_invocations=200))
    # while endpoints deploy there is no bar yet, so its rate and ETA are the load's
    assert out.getvalue().splitlines()[-1] == "stability: deploying the endpoints of 2 trials..."
    for trial in TRIALS:
        bars(api.TrialStarted.of(trial, f"ep-{trial.memory_size}"))
    bars(api.InvocationBatch("stability-m1024", rows("stability-m1024", ["ok"] * 28)))
    batch = ["insufficient_memory", "throttled", "throttled", "ok"]
    bars(api.InvocationBatch("stability-m2048", rows("stability-m2048", batch)))
    text = out.getvalue()
    assert "run r1 started on the local emulator (results are emulated)" in text
    assert "2 running: m1024, m2048; insufficient_memory 1; throttled 2" in text

    bars(api.TrialEnded("stability-m1024", "precision"))
    text = out.getvalue()
    assert (
        "stability-m1024 ended after 28 of 100 invocations (precision); "
        "the stability total drops by 72" in text
    )
    bars(api.InvocationBatch("stability-m2048", rows("stability-m2048", ["ok"] * 96)))
    bars(api.TrialEnded("stability-m2048", "max_invocations"))
    bars(api.RunEnded("completed", "/runs/r1"))
    assert "128/128" in out.getvalue()  # the bar ends full


def test_a_trial_that_never_started_takes_its_budget_off_the_total():
    out = io.StringIO()
    bars = ProgressBars(file=out, mininterval=0)
    bars(api.PhaseStarted("stability", trials=2, max_invocations=200))
    bars(api.TrialEnded("stability-m1024", "endpoint_failed"))
    bars(api.TrialStarted.of(TRIALS[1], "ep-2048"))
    bars(api.InvocationBatch("stability-m2048", rows("stability-m2048", ["ok"] * 100)))
    bars(api.TrialEnded("stability-m2048", "max_invocations"))
    bars(api.RunEnded("completed", "/runs/r1"))
    text = out.getvalue()
    assert "stability-m1024 ended after 0 of 100 invocations (endpoint_failed)" in text
    assert "100/100" in text
