"""Resuming a run that failed: while its trials load, between the phases, and on a fault
the emulator injects; through ``resume_benchmark`` and through ``sm-bench resume``."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from sm_bench_widgets.api import RunFailed, resume_benchmark, start_benchmark
from sm_bench_widgets.aws.clients import Target
from sm_bench_widgets.emulator.faults import Fault
from sm_bench_widgets.engine.store import load_run
from tests.waiting import wait_until

from .helpers import endpoint_names, small_config

# what identifies one invocation: a row stored twice has the same values in all of these
ROW_KEY = ["trial_id", "endpoint_name", "client_id", "start", "end"]


def fail_while_loading(monkeypatch: pytest.MonkeyPatch, rows: int) -> None:
    """Make the run fail (an exception in its own thread) once its stability trials have
    measured ``rows`` invocations between them, while their load is still going."""

    def failing_race(ctx, threads, states) -> None:
        wait_until(
            lambda: sum(s.count for s in states.values()) >= rows,
            60,
            f"the stability trials never measured {rows} invocations",
        )
        raise RuntimeError("injected failure while the trials load")

    monkeypatch.setattr("sm_bench_widgets.engine.orchestrator.race", failing_race)


def fail_between_phases(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the run fail after its stability phase, choosing the concurrency memory size."""

    def failing_choice(*args, **kwargs) -> int:
        raise RuntimeError("injected failure between the phases")

    monkeypatch.setattr("sm_bench_widgets.engine.orchestrator.choose_memory", failing_choice)


def watched(target: Target) -> list[str]:
    """The names of the endpoints created through ``target`` from now on (filled in)."""
    created: list[str] = []

    def record(params, **kwargs) -> None:
        created.append(params["EndpointName"])

    target.session.events.register("provide-client-params.sagemaker.CreateEndpoint", record)
    return created


def assert_kept_once(earlier: pd.DataFrame, final: pd.DataFrame) -> None:
    """Every row stored before the resume is in ``final`` once, and no row is there twice."""
    assert not final.duplicated(ROW_KEY).any(), "an invocation was stored twice"
    kept = earlier[ROW_KEY].merge(final[ROW_KEY], on=ROW_KEY, how="left", indicator=True)
    assert (kept["_merge"] == "both").all(), "an earlier invocation was lost"


def failed_run(target: Target, config) -> tuple[Path, pd.DataFrame]:
    """Run ``config`` until it fails; its directory and the rows it stored."""
    handle = start_benchmark(config, target)
    assert handle.wait(120) is not None and handle.done
    assert handle.status == "failed" and "injected failure" in str(handle.error)
    stored = load_run(handle.run_dir)
    assert stored.status["status"] == "failed"
    assert any("injected failure" in e for e in stored.status["errors"])
    assert endpoint_names(target) == []  # the failure deleted what it had deployed
    return handle.run_dir, stored.invocations


def trial_config(tmp_path: Path, **changes):
    """Two stability trials of 100 invocations, then MaxConcurrency 2 at the chosen size."""
    fields = dict(
        memory_sizes=[2048, 3072],
        adaptive=False,
        stability_benchmark_invocations=100,
        include_concurrency_benchmark=True,
        concurrency_benchmark_max_conc=[2],
        concurrency_benchmark_invocations=30,
    )
    return small_config(tmp_path, **{**fields, **changes})


def test_a_run_that_fails_while_its_trials_load_resumes_them_and_the_rest(
    fresh_emulator, tmp_path, monkeypatch
):
    fail_while_loading(monkeypatch, 30)
    run_dir, earlier = failed_run(fresh_emulator.target(), trial_config(tmp_path))
    stored = load_run(run_dir)
    assert set(stored.stop_reasons.values()) == {"failed"}
    assert not any(t["phase"] == "concurrency" for t in stored.trials)
    assert 30 <= len(earlier) < 200
    # the trials were stopped before their endpoints were deleted: no request met a
    # deleted endpoint or a closed load, so every stored row is a real measurement
    assert set(earlier["outcome"]) == {"ok"}

    monkeypatch.undo()
    target = fresh_emulator.target()
    created = watched(target)
    handle = resume_benchmark(run_dir, target)
    result = handle.wait(120)
    assert result is not None and result.status == "completed", handle.errors
    final = load_run(run_dir)
    assert final.status["status"] == "completed"
    assert_kept_once(earlier, final.invocations)
    per_trial = final.invocations.groupby("trial_id").size().to_dict()
    # the budget counts the failed process's rows: exactly 100 per stability trial in all
    assert {t: n for t, n in per_trial.items() if t.startswith("stability")} == {
        "stability-m2048": 100,
        "stability-m3072": 100,
    }
    memory = result.recommendation.memory_size
    assert len(result.invocations) == len(final.invocations) == 200 + 3 * 30
    assert set(result.stop_reasons.values()) == {"max_invocations"}
    # both unfinished trials and the concurrency phase, each deployed once
    assert sorted(n.split("-")[-2:] for n in created) == sorted(
        [["m2048", "c1"], ["m3072", "c1"], [f"m{memory}", "c2"]]
    )
    assert endpoint_names(target) == []


def test_a_run_that_fails_between_the_phases_redeploys_only_the_concurrency_endpoint(
    fresh_emulator, tmp_path, monkeypatch
):
    fail_between_phases(monkeypatch)
    run_dir, earlier = failed_run(fresh_emulator.target(), trial_config(tmp_path))
    assert load_run(run_dir).stop_reasons == {
        "stability-m2048": "max_invocations",
        "stability-m3072": "max_invocations",
    }
    assert len(earlier) == 200

    monkeypatch.undo()
    target = fresh_emulator.target()
    created = watched(target)
    handle = resume_benchmark(run_dir, target)
    result = handle.wait(120)
    assert result is not None and result.status == "completed", handle.errors
    memory = result.recommendation.memory_size
    # the stability trials had their answer: only the concurrency endpoint is deployed
    assert [n.split("-")[-2:] for n in created] == [[f"m{memory}", "c2"]]
    final = load_run(run_dir).invocations
    assert_kept_once(earlier, final)
    assert len(final) == len(result.invocations) == 200 + 3 * 30
    assert endpoint_names(target) == []


def test_a_run_failed_by_a_lasting_quota_hit_resumes_once_capacity_is_free(
    fresh_emulator, tmp_path
):
    target = fresh_emulator.target()
    fault = Fault.parse(
        {"operation": "CreateEndpoint", "code": "ResourceLimitExceeded", "count": None}
    )
    fresh_emulator.faults.add(fault)
    config = small_config(tmp_path, memory_sizes=[2048, 3072], endpoint_wait_timeout=2.0)
    handle = start_benchmark(config, target)
    handle.wait(120)
    assert handle.status == "failed" and isinstance(handle.error, RunFailed)
    assert load_run(handle.run_dir).status["status"] == "failed"
    assert set(load_run(handle.run_dir).stop_reasons.values()) == {"endpoint_failed"}
    assert endpoint_names(target) == []

    fresh_emulator.faults.clear()  # another tool released the capacity
    resumed = resume_benchmark(handle.run_dir, target)
    result = resumed.wait(120)
    assert result is not None and result.status == "completed", resumed.errors
    assert result.invocations.groupby("trial_id").size().to_dict() == {
        "stability-m2048": 40,
        "stability-m3072": 40,
    }
    assert result.recommendation is not None
    assert endpoint_names(target) == []


def test_sm_bench_resume_finishes_a_failed_run_and_prints_no_traceback(
    fresh_emulator, tmp_path, monkeypatch
):
    fail_while_loading(monkeypatch, 20)
    config = small_config(tmp_path, adaptive=False, stability_benchmark_invocations=60)
    run_dir, earlier = failed_run(fresh_emulator.target(), config)
    monkeypatch.undo()

    env = {
        **os.environ,
        "AWS_ENDPOINT_URL": fresh_emulator.endpoint_url,
        "AWS_ACCESS_KEY_ID": "emulated",
        "AWS_SECRET_ACCESS_KEY": "emulated",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    for key in ("AWS_PROFILE", "AWS_SESSION_TOKEN"):
        env.pop(key, None)
    done = subprocess.run(
        [sys.executable, "-m", "sm_bench_widgets.cli", "resume", str(run_dir), "--no-progress"],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    assert "Deploy 2048 MB" in done.stdout and str(run_dir) in done.stdout
    final = load_run(run_dir)
    assert final.status["status"] == "completed"
    assert_kept_once(earlier, final.invocations)
    assert final.invocations.groupby("trial_id").size().to_dict() == {"stability-m2048": 60}
    assert endpoint_names(fresh_emulator.target()) == []
