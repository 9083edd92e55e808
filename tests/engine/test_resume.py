"""Resuming a run from its directory: after a stop, and after a real SIGKILL."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from sm_bench_widgets.api import resume_benchmark, start_benchmark
from sm_bench_widgets.config import ConfigError
from sm_bench_widgets.engine.store import RunInUse, RunStore, load_run

from .helpers import KILLABLE_RUN, endpoint_names, small_config


def _wait_for_rows(run_dir_glob, at_least: int, timeout: float = 120.0) -> Path:
    """The run directory once its invocations file holds ``at_least`` rows."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for run_dir in run_dir_glob():
            path = run_dir / "invocations.jsonl"
            if path.exists() and len(path.read_text().splitlines()) >= at_least:
                return run_dir
        time.sleep(0.05)
    pytest.fail(f"no run wrote {at_least} invocations within {timeout:g} s")


def _per_trial(run_dir: Path) -> dict[str, int]:
    return load_run(run_dir).invocations.groupby("trial_id").size().to_dict()


def test_a_stopped_run_resumes_where_it_stopped_and_keeps_its_rows(fresh_emulator, tmp_path):
    target = fresh_emulator.target()
    config = small_config(
        tmp_path, memory_sizes=[2048, 3072], adaptive=False, stability_benchmark_invocations=120
    )
    handle = start_benchmark(config, target)
    _wait_for_rows(lambda: [handle.run_dir], 30)
    handle.stop()
    first = handle.wait(60)
    assert first is not None and first.status == "stopped"
    before = len(first.invocations)
    assert 30 <= before < 240
    assert set(first.stop_reasons.values()) == {"stopped"}

    resumed = resume_benchmark(handle.run_dir, target)
    assert resumed.run_id == handle.run_id and resumed.run_dir == handle.run_dir
    result = resumed.wait(120)
    assert result is not None and result.status == "completed", resumed.errors
    # the budget counts what the first process measured: exactly 120 per trial in all
    assert _per_trial(handle.run_dir) == {"stability-m2048": 120, "stability-m3072": 120}
    assert len(result.invocations) == 240
    assert set(result.stop_reasons.values()) == {"max_invocations"}
    # each trial ran on a fresh endpoint the second time: one more cold start each
    assert result.invocations.groupby("trial_id")["cold"].sum().to_dict() == {
        "stability-m2048": 2,
        "stability-m3072": 2,
    }
    assert load_run(handle.run_dir).status["status"] == "completed"
    assert endpoint_names(target) == []


def test_a_completed_run_or_a_missing_directory_is_refused(fresh_emulator, tmp_path):
    target = fresh_emulator.target()
    handle = start_benchmark(small_config(tmp_path, stability_benchmark_invocations=5), target)
    assert handle.wait(60) is not None and handle.status == "completed"
    with pytest.raises(ConfigError, match="did not complete"):
        resume_benchmark(handle.run_dir, target)
    with pytest.raises(ConfigError, match="run_dir"):
        resume_benchmark(tmp_path / "nowhere", target)
    assert endpoint_names(target) == []


def test_a_run_directory_in_use_cannot_be_written_by_a_second_store(tmp_path):
    store = RunStore(tmp_path / "run")
    with pytest.raises(RunInUse, match="still running"):
        RunStore(tmp_path / "run")
    with pytest.raises(RunInUse, match="still running"):
        resume_benchmark(tmp_path / "run")
    store.close("stopped")
    RunStore(tmp_path / "run").close("stopped")  # free again once closed


def test_a_killed_run_resumes_deleting_what_the_dead_process_left(fresh_emulator, tmp_path):
    target = fresh_emulator.target()
    proc = subprocess.Popen(
        [sys.executable, "-c", KILLABLE_RUN, fresh_emulator.endpoint_url, str(tmp_path), "400"]
    )
    try:
        run_dir = _wait_for_rows(lambda: list((tmp_path / "sm-bench-results").glob("*")), 40)
    finally:
        proc.kill()  # SIGKILL: no cleanup code runs, the endpoint stays
        proc.wait(10)
    left = endpoint_names(target)
    assert left, "the killed run should have left its endpoint"
    before = len(load_run(run_dir).invocations)

    handle = resume_benchmark(run_dir, target)
    result = handle.wait(120)
    assert result is not None and result.status == "completed", handle.errors
    assert not set(left) & set(endpoint_names(target))  # the dead process's endpoint is gone
    assert endpoint_names(target) == []
    assert _per_trial(run_dir) == {"stability-m2048": 400}
    assert len(result.invocations) == 400 > before
    # the binary body came back from the run directory, not from the dead process
    assert (run_dir / "payloads.jsonl").exists()
    assert set(result.invocations["outcome"]) == {"ok"}
