"""The Processing job's entrypoint as a job host runs it: a process of its own, on the emulator."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sm_bench_widgets.aws.endpoints import find_leftovers
from sm_bench_widgets.engine.store import load_run
from sm_bench_widgets.payloads import write_jsonl
from sm_bench_widgets.result import BenchmarkResult
from tests.engine.helpers import CSV_EXAMPLES, small_config

ENTRYPOINT = [sys.executable, "-m", "sm_bench_widgets.jobs.entrypoint"]


@pytest.fixture
def job_env(emulator) -> dict[str, str]:
    """A job container's environment, its AWS calls going to the session emulator."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(
        AWS_ENDPOINT_URL=emulator.endpoint_url,
        AWS_ACCESS_KEY_ID="emulated",
        AWS_SECRET_ACCESS_KEY="emulated",
        AWS_DEFAULT_REGION="us-east-1",
    )
    return env


def job_input(tmp_path: Path, **changes) -> Path:
    """The input folder a launcher writes: config.json and payloads.jsonl."""
    folder = tmp_path / "input"
    folder.mkdir()
    config = small_config(tmp_path, **changes)
    (folder / "config.json").write_text(json.dumps(config.to_dict()))
    write_jsonl(
        [{**CSV_EXAMPLES[0], "Body": b"1,2,3,4"}, CSV_EXAMPLES[1]], folder / "payloads.jsonl"
    )
    return folder


def run_dir_of(output: Path) -> Path:
    (run_dir,) = list((output / "sm-bench-results").glob("*"))
    return run_dir


def test_the_job_runs_the_benchmark_and_leaves_its_run_store_in_the_output(
    job_env, tmp_path, emulator
):
    output = tmp_path / "output"
    proc = subprocess.run(
        [*ENTRYPOINT, "--input", str(job_input(tmp_path)), "--output", str(output)],
        env=job_env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    run_dir = run_dir_of(output)
    assert "trial stability-m2048 ended: " in proc.stderr
    # written in segment files, each final once closed, for a Continuous upload
    assert list((run_dir / "invocations").glob("part-*.jsonl"))
    assert not (run_dir / "invocations.jsonl").exists()
    stored = load_run(run_dir)
    assert stored.status["status"] == "completed" and stored.config["emulated"] is True
    result = BenchmarkResult.load(run_dir)
    assert len(result.invocations) > 0 and set(result.invocations["outcome"]) == {"ok"}
    assert set(result.invocations["payload_index"]) == {0, 1}
    assert find_leftovers(emulator.target(), run_id=stored.run_id) == []


def test_sigterm_stops_the_job_and_deletes_its_endpoints(job_env, tmp_path, emulator):
    output = tmp_path / "output"
    # not adaptive: the trial ends only when stopped, however fast its requests go
    config = job_input(tmp_path, stability_benchmark_invocations=100000, adaptive=False)
    args = ["--input", str(config)]
    proc = subprocess.Popen(
        [*ENTRYPOINT, *args, "--output", str(output), "--resource-config", "/nonexistent"],
        env={**job_env, "PYTHONUNBUFFERED": "1"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            parts = output.glob("sm-bench-results/*/invocations/part-*.jsonl")
            if sum(len(p.read_text().splitlines()) for p in parts) >= 20:
                break
            if proc.poll() is not None:
                pytest.fail(f"the job exited early: {proc.communicate()}")
            time.sleep(0.05)
        else:
            pytest.fail("the job wrote no 20 invocations within 120 s")
        proc.send_signal(signal.SIGTERM)  # what StopProcessingJob sends
        _, err = proc.communicate(timeout=120)
    finally:
        proc.kill()
    assert proc.returncode == 0, err
    stored = load_run(run_dir_of(output))
    assert stored.status["status"] == "stopped"
    assert stored.stop_reasons == {"stability-m2048": "stopped"}
    assert find_leftovers(emulator.target(), run_id=stored.run_id) == []


def test_bad_input_fails_with_one_line_naming_the_field_before_any_endpoint(job_env, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    proc = subprocess.run(
        [*ENTRYPOINT, "--input", str(empty), "--output", str(tmp_path / "out")],
        env=job_env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines()[-1].startswith("sm-bench job: error: input=")

    hosts = tmp_path / "resourceconfig.json"
    hosts.write_text(json.dumps({"current_host": "algo-2", "hosts": ["algo-1", "algo-2"]}))
    args = ["--input", str(job_input(tmp_path)), "--output", str(tmp_path / "out")]
    proc = subprocess.run(
        [*ENTRYPOINT, *args, "--resource-config", str(hosts)],
        env=job_env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2, proc.stderr
    assert "run_id=None" in proc.stderr  # hosts of one run must share its id
    assert not (tmp_path / "out").exists()


def test_two_hosts_share_the_trials_and_choose_the_same_memory_size(job_env, tmp_path, emulator):
    output = tmp_path / "output"
    folder = job_input(
        tmp_path,
        memory_sizes=[2048, 3072, 4096],
        stability_benchmark_invocations=30,
        include_concurrency_benchmark=True,
        concurrency_benchmark_max_conc=[2, 4],
        concurrency_num_clients_multiplier=[1],
        concurrency_benchmark_invocations=30,
        adaptive=False,
    )
    procs = []
    for name in ("algo-1", "algo-2"):
        config = tmp_path / f"{name}.json"
        config.write_text(json.dumps({"current_host": name, "hosts": ["algo-1", "algo-2"]}))
        args = ["--input", str(folder), "--output", str(output), "--resource-config", str(config)]
        procs.append(
            subprocess.Popen(
                # clients per host given: no trial is split (tests/jobs/test_split_trial.py)
                [*ENTRYPOINT, *args, "--run-id", "shared01", "--clients-per-host", "100"],
                env=job_env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
        )
    outputs = [p.communicate(timeout=300) for p in procs]
    for proc, (_, err) in zip(procs, outputs, strict=True):
        assert proc.returncode == 0, err
    run_folder = output / "sm-bench-results" / "shared01"
    hosts = {h: load_run(run_folder / h) for h in ("algo-1", "algo-2")}
    planned = {h: [t["trial_id"] for t in run.trials] for h, run in hosts.items()}
    # endpoints dealt round-robin: each trial planned and run on exactly one host
    assert planned["algo-1"][:2] == ["stability-m2048", "stability-m4096"]
    assert planned["algo-2"][:1] == ["stability-m3072"]
    everything = planned["algo-1"] + planned["algo-2"]
    assert len(everything) == len(set(everything)) == 5
    concurrency = [t for t in everything if t.startswith("concurrency-")]
    assert len(concurrency) == 2 and len({t.split("-c")[0] for t in concurrency}) == 1
    for run in hosts.values():
        assert set(run.invocations["trial_id"]) == set(t["trial_id"] for t in run.trials)
    merged = BenchmarkResult.load(run_folder)
    assert merged.status == "completed" and merged.run_id == "shared01"
    assert len(merged.invocations) == sum(len(r.invocations) for r in hosts.values())
    assert set(merged.stop_reasons) == set(everything)
    assert merged.recommendation is not None
    assert find_leftovers(emulator.target(), run_id="shared01") == []
