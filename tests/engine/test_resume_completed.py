"""Resuming a run that completed with failed trials: only those a retry may cure run again
(an endpoint that failed to be created, a trial that raised); a model that does not fit
its memory size stays failed, and a completed run with nothing to retry is refused."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from sm_bench_widgets.api import interrupted_runs, resume_benchmark, runs_again, start_benchmark
from sm_bench_widgets.config import ConfigError
from sm_bench_widgets.emulator.faults import Fault
from sm_bench_widgets.engine.resume import retryable
from sm_bench_widgets.engine.store import load_run
from sm_bench_widgets.widgets.resume import describe_run

from .helpers import endpoint_names, small_config
from .test_resume_failed import assert_kept_once, watched


def completed_run(target, config):
    """Run ``config`` to its end; its directory and the rows it stored."""
    handle = start_benchmark(config, target)
    assert handle.wait(120) is not None and handle.status == "completed", handle.errors
    assert endpoint_names(target) == []
    stored = load_run(handle.run_dir)
    assert stored.status["status"] == "completed"
    return handle.run_dir, stored


def cli(emulator, *args: str) -> subprocess.CompletedProcess:
    """``sm-bench ARGS`` against ``emulator``, its output captured."""
    env = {
        **os.environ,
        "AWS_ENDPOINT_URL": emulator.endpoint_url,
        "AWS_ACCESS_KEY_ID": "emulated",
        "AWS_SECRET_ACCESS_KEY": "emulated",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    for key in ("AWS_PROFILE", "AWS_SESSION_TOKEN"):
        env.pop(key, None)
    return subprocess.run(
        [sys.executable, "-m", "sm_bench_widgets.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )


def test_which_failures_a_retry_may_cure():
    assert retryable("failed")
    assert retryable("endpoint_failed", "could not be created: ResourceLimitExceeded")
    assert retryable("endpoint_failed", "is Failed: injected fault")
    assert retryable("endpoint_failed", "no room under the account's serverless quotas")
    assert not retryable(
        "endpoint_failed",
        "is Failed: Insufficient memory: the model does not fit in MemorySizeInMB=1024",
    )
    for final in ("max_invocations", "precision", "dominated", "infeasible", "errors"):
        assert not retryable(final)
    assert not retryable("stopped")


def test_a_completed_run_retries_its_failed_endpoint_through_sm_bench_resume(
    fresh_emulator, tmp_path
):
    # 1024 MB cannot hold demo-nlp (1.7 GB): that trial ends on its errors for good. The
    # third CreateEndpoint (the concurrency endpoint, after both stability ones) fails once.
    fresh_emulator.faults.add(
        Fault.parse({"operation": "CreateEndpoint", "code": "EndpointFailed", "skip": 2})
    )
    target = fresh_emulator.target()
    config = small_config(
        tmp_path,
        memory_sizes=[1024, 2048],
        adaptive=False,
        stability_benchmark_invocations=30,
        include_concurrency_benchmark=True,
        concurrency_benchmark_max_conc=[2],
        concurrency_num_clients_multiplier=[1],
        concurrency_benchmark_invocations=30,
    )
    run_dir, stored = completed_run(target, config)
    concurrency = [t["trial_id"] for t in stored.trials if t["phase"] == "concurrency"]
    assert len(concurrency) == 1
    assert stored.stop_reasons == {
        "stability-m1024": "errors",
        "stability-m2048": "max_invocations",
        concurrency[0]: "endpoint_failed",
    }
    # the panel's offer finds it, with the one trial a resume would retry
    assert interrupted_runs(tmp_path) == [run_dir]
    assert runs_again(run_dir) == {concurrency[0]: "endpoint_failed"}
    assert "completed, 1 failed trial(s) to retry" in describe_run(run_dir)
    earlier = stored.invocations
    no_fit = earlier[earlier["trial_id"] == "stability-m1024"]
    assert set(no_fit["outcome"]) == {"insufficient_memory"}
    done = cli(fresh_emulator, "resume", str(run_dir), "--no-progress")
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    assert f"completed; retrying its 1 failed trial(s): {concurrency[0]} (endpoint_failed)" in (
        done.stderr
    )
    final = load_run(run_dir)
    assert final.status["status"] == "completed"
    assert fresh_emulator.faults.listed()[0]["fired"] == 1
    assert final.stop_reasons == {**stored.stop_reasons, concurrency[0]: "max_invocations"}
    assert_kept_once(earlier, final.invocations)
    # 1024 MB was not deployed again: no row of it came after the first process's
    assert final.invocations.groupby("trial_id").size().to_dict() == {
        "stability-m1024": len(no_fit),
        "stability-m2048": 30,
        concurrency[0]: 30,
    }
    assert endpoint_names(target) == []

    # nothing is left to retry: not offered, and refused, saying so, without a traceback
    assert interrupted_runs(tmp_path) == [] and runs_again(run_dir) == {}
    again = cli(fresh_emulator, "resume", str(run_dir), "--no-progress")
    assert again.returncode == 2
    assert "Traceback" not in again.stdout + again.stderr
    assert "this run completed with none, so its results are final" in again.stderr
    assert endpoint_names(target) == []


def test_a_completed_run_retries_the_trial_that_raised_and_nothing_else(
    fresh_emulator, tmp_path, monkeypatch
):
    from sm_bench_widgets.engine.steps import load

    calls = []

    def raise_once(ctx, group, *args):
        calls.append(group[0].trial_id)
        if len(calls) == 1:
            raise RuntimeError("injected failure in one endpoint's trials")
        return load.concurrency_endpoint(ctx, group, *args)

    monkeypatch.setattr("sm_bench_widgets.engine.orchestrator.concurrency_endpoint", raise_once)
    target = fresh_emulator.target()
    config = small_config(
        tmp_path,
        adaptive=False,
        stability_benchmark_invocations=20,
        include_concurrency_benchmark=True,
        concurrency_benchmark_max_conc=[1, 2],
        concurrency_num_clients_multiplier=[1],
        concurrency_benchmark_invocations=20,
    )
    run_dir, stored = completed_run(target, config)
    failed = [t for t, r in stored.stop_reasons.items() if r == "failed"]
    assert failed == [calls[0]]
    assert any("injected failure" in e for e in stored.status["errors"])
    earlier = stored.invocations

    target = fresh_emulator.target()  # its clients see the watch from the start
    created = watched(target)
    handle = resume_benchmark(run_dir, target)
    assert handle.resumed == (
        f"run {handle.run_id} completed; retrying its 1 failed trial(s): {failed[0]} (failed)"
    )
    result = handle.wait(120)
    assert result is not None and result.status == "completed", handle.errors
    assert calls[-1] == failed[0] and len(calls) == 3  # the retry ran only that endpoint
    max_conc = {t["trial_id"]: t["max_concurrency"] for t in stored.trials}[failed[0]]
    assert [n.split("-")[-1] for n in created] == [f"c{max_conc}"]
    final = load_run(run_dir)
    assert_kept_once(earlier, final.invocations)
    assert set(final.stop_reasons.values()) == {"max_invocations"}
    assert set(final.invocations.groupby("trial_id").size()) == {20}
    assert result.recommendation is not None
    assert endpoint_names(target) == []

    with pytest.raises(ConfigError, match="its results are final"):
        resume_benchmark(run_dir, target)
