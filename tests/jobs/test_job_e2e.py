"""A benchmark as a Processing job on the emulator, end to end: launch, follow, stop, attach."""

from __future__ import annotations

import pytest

from sm_bench_widgets import api
from sm_bench_widgets.aws.endpoints import find_leftovers
from sm_bench_widgets.cli import main
from sm_bench_widgets.config import BenchmarkConfig
from sm_bench_widgets.engine.store import load_run
from sm_bench_widgets.jobs.handle import ProcessingJobHandle
from sm_bench_widgets.payloads import write_jsonl
from sm_bench_widgets.sagemaker_runner import run_as_sagemaker_job
from tests.engine.helpers import CSV_EXAMPLES
from tests.waiting import wait_until

ROLE = "arn:aws:iam::123456789012:role/bench"
OPTIONS = dict(memory_sizes=[2048], include_concurrency_benchmark=False)


@pytest.fixture
def payload_file(tmp_path):
    return write_jsonl(CSV_EXAMPLES, tmp_path / "payloads.jsonl")


def test_a_job_completes_and_its_result_is_shaped_like_a_thread_run(
    emulator, payload_file, tmp_path, capsys
):
    target = emulator.target()
    handle = run_as_sagemaker_job(
        ROLE,
        "demo-nlp",
        payload_file,
        stability_benchmark_invocations=40,
        target=target,
        **OPTIONS,
    )
    handle.cache_dir = tmp_path / "cache"
    result = handle.wait(timeout=300)
    assert result is not None, f"the job did not end within 300 s: {handle.status()}"
    assert handle.status() == "Completed", handle.failure_reason
    assert result.status == "completed" and result.run_id == handle.run_id
    assert handle.run_dir.is_relative_to(tmp_path / "cache" / handle.name)
    assert handle.progress() == {"stability-m2048": len(result.invocations)}

    config = BenchmarkConfig(
        model_name="demo-nlp",
        invoke_args_examples_file=str(payload_file),
        stability_benchmark_invocations=40,
        result_save_path=str(tmp_path / "thread"),
        **OPTIONS,
    )
    thread = api.run_benchmark(config, target, progress=False)
    assert list(result.invocations.columns) == list(thread.invocations.columns)
    assert list(result.summary.columns) == list(thread.summary.columns)
    assert set(result.invocations["trial_id"]) == set(thread.invocations["trial_id"])
    assert result.stop_reasons.keys() == thread.stop_reasons.keys()
    assert set(result.invocations["outcome"]) == {"ok"}
    assert find_leftovers(target, run_id=handle.run_id) == []

    again = ProcessingJobHandle.attach(handle.name, target, cache_dir=tmp_path / "other")
    attached = again.result()
    assert again.run_dir != handle.run_dir
    assert attached.invocations.equals(result.invocations)
    assert attached.stop_reasons == result.stop_reasons

    at = ["--endpoint-url", emulator.endpoint_url, "--emulated"]
    capsys.readouterr()
    assert main(["job", "status", handle.name, *at, "--cache-dir", str(tmp_path / "c")]) == 0
    out = capsys.readouterr().out
    assert f"{handle.name}: Completed" in out and "stability-m2048: 40 invocations" in out
    assert main(["job", "logs", handle.name, "--tail", "5", *at]) == 0
    assert f"run {handle.run_id} completed" in capsys.readouterr().out
    assert main(["job", "result", handle.name, *at, "--cache-dir", str(tmp_path / "c")]) == 0
    assert "Run directory:" in capsys.readouterr().out


def test_partial_results_stream_while_the_job_runs_and_stop_deletes_its_endpoints(
    emulator, payload_file, tmp_path
):
    target = emulator.target()
    handle = run_as_sagemaker_job(
        ROLE,
        "demo-nlp",
        payload_file,
        stability_benchmark_invocations=100000,
        adaptive=False,
        target=target,
        **OPTIONS,
    )
    handle.cache_dir, handle.poll_seconds = tmp_path / "cache", 0.5
    events: list = []
    unsubscribe = handle.subscribe(events.append)
    try:
        counts = wait_until(
            lambda: handle.progress().get("stability-m2048", 0) >= 20 and handle.progress(),
            240,
            "no 20 invocations reached S3 while the job ran",
            poll=0.5,
        )
        assert handle.status() == "InProgress" and counts["stability-m2048"] < 100000
        partial = handle.result()
        assert partial.status == "running" and len(partial.invocations) >= 20
        wait_until(
            lambda: any(isinstance(e, api.InvocationBatch) for e in events),
            60,
            "subscribers saw no invocation batch while the job ran",
            poll=0.2,
        )
        assert isinstance(events[0], api.RunStarted) and events[0].run_id == handle.run_id

        handle.stop()
        wait_until(lambda: handle.done, 120, "the job did not stop", poll=0.5)
        assert handle.status() == "Stopped"
        ended = wait_until(
            lambda: [e for e in events if isinstance(e, api.RunEnded)],
            60,
            "subscribers saw no RunEnded",
            poll=0.2,
        )
    finally:
        unsubscribe()
    assert ended[0].status == "stopped"
    result = handle.result()
    assert result.status == "stopped" and result.stop_reasons == {"stability-m2048": "stopped"}
    streamed = sum(len(e.rows) for e in events if isinstance(e, api.InvocationBatch))
    assert streamed == len(result.invocations)
    assert find_leftovers(target, run_id=handle.run_id) == []


def test_two_hosts_share_one_run_and_its_result_holds_each_trial_once(
    emulator, payload_file, tmp_path
):
    target = emulator.target()
    options = dict(
        memory_sizes=[2048, 3072],
        stability_benchmark_invocations=30,
        include_concurrency_benchmark=True,
        concurrency_benchmark_max_conc=[2, 4],
        concurrency_num_clients_multiplier=[1],
        concurrency_benchmark_invocations=30,
        adaptive=False,
    )
    handle = run_as_sagemaker_job(
        ROLE, "demo-nlp", payload_file, instance_count=2, target=target, **options
    )
    handle.cache_dir = tmp_path / "cache"
    result = handle.wait(timeout=300)
    assert result is not None, f"the job did not end within 300 s: {handle.status()}"
    assert handle.status() == "Completed", handle.failure_reason
    hosts = sorted(p.name for p in handle.run_dir.iterdir() if p.is_dir())
    assert hosts == ["algo-1", "algo-2"]
    # the clients one host drives, measured by algo-1 and used by both to split alike
    capacity = {load_run(handle.run_dir / h).config.get("host_capacity") for h in hosts}
    assert len(capacity) == 1 and capacity.pop() >= 1
    # every planned trial ran on exactly one host, the concurrency phase at one memory size
    trials = result.invocations.groupby("trial_id")["endpoint_name"].nunique()
    assert set(trials) == {1} and len(trials) == 4
    assert result.invocations.groupby("trial_id").size().min() == 30
    assert result.concurrency["memory_size"].nunique() == 1
    assert set(result.stop_reasons.values()) == {"max_invocations"}
    assert result.status == "completed" and result.recommendation is not None
    assert handle.progress() == result.invocations.groupby("trial_id").size().to_dict()
    assert find_leftovers(target, run_id=handle.run_id) == []
