"""Nothing is left behind: endpoints go on stop, on Ctrl-C, on failure; bad input fails first."""

from __future__ import annotations

import json
import os
import signal
import sys
import threading

import pytest

from sm_bench_widgets.api import RunFailed, follow, run_benchmark, start_benchmark
from sm_bench_widgets.config import ConfigError
from sm_bench_widgets.engine.deploy import Deployments
from sm_bench_widgets.engine.events import InvocationBatch, RunError
from tests.signals import needs_sigint

from .helpers import endpoint_names, small_config


def _first_batch(handle) -> threading.Event:
    seen = threading.Event()
    handle.subscribe(lambda e: seen.set() if isinstance(e, InvocationBatch) else None)
    return seen


def test_stop_ends_load_quickly_deletes_endpoints_and_keeps_results(fresh_emulator, tmp_path):
    target = fresh_emulator.target()
    config = small_config(
        tmp_path, memory_sizes=[2048, 3072], adaptive=False, stability_benchmark_invocations=100_000
    )
    handle = start_benchmark(config, target)
    assert _first_batch(handle).wait(30)
    assert handle.status == "running" and endpoint_names(target)
    partial = handle.result
    assert partial.status == "running" and len(partial.invocations) > 0
    handle.stop()
    result = handle.wait(30)
    assert handle.status == "stopped" and result.status == "stopped"
    assert 0 < len(result.invocations) < 200_000
    assert set(result.stop_reasons.values()) == {"stopped"}
    assert endpoint_names(target) == []
    status = json.loads((handle.run_dir / "status.json").read_text())
    assert status["status"] == "stopped"
    assert status["invocations"] == len(result.invocations)


def _in_follow(thread: threading.Thread) -> bool:
    """Whether ``thread`` is inside ``api.follow`` (run_benchmark waiting for its run)."""
    frame = sys._current_frames().get(thread.ident)
    while frame is not None:
        if frame.f_code is follow.__code__:
            return True
        frame = frame.f_back
    return False


@needs_sigint
def test_ctrl_c_in_run_benchmark_deletes_endpoints_then_raises(fresh_emulator, tmp_path):
    target = fresh_emulator.target()
    sagemaker = target.client("sagemaker")
    config = small_config(tmp_path, adaptive=False, stability_benchmark_invocations=100_000)
    main = threading.current_thread()
    done = threading.Event()

    def ctrl_c_once_the_run_has_an_endpoint() -> None:
        # a real SIGINT, as Ctrl-C sends, while run_benchmark waits for a run that has
        # created an endpoint (not at a fixed time: its checks may take longer than that)
        while not done.wait(0.05):
            live = sagemaker.list_endpoints(MaxResults=10)["Endpoints"]
            if live and _in_follow(main):
                os.kill(os.getpid(), signal.SIGINT)
                return

    sender = threading.Thread(target=ctrl_c_once_the_run_has_an_endpoint, daemon=True)
    sender.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            run_benchmark(config, target, progress=False)
    finally:
        done.set()
        sender.join(30)
    assert endpoint_names(target) == []
    (run_dir,) = (tmp_path / "sm-bench-results").iterdir()
    assert json.loads((run_dir / "status.json").read_text())["status"] == "stopped"


@needs_sigint
def test_ctrl_c_during_the_checks_raises_before_anything_exists(fresh_emulator, tmp_path):
    target = fresh_emulator.target()

    def ctrl_c(**_) -> None:  # Ctrl-C while run_benchmark asks whether the model exists
        os.kill(os.getpid(), signal.SIGINT)

    target.session.events.register("before-call.sagemaker.DescribeModel", ctrl_c)
    with pytest.raises(KeyboardInterrupt):
        run_benchmark(small_config(tmp_path), target, progress=False)
    target.session.events.unregister("before-call.sagemaker.DescribeModel", ctrl_c)
    assert endpoint_names(target) == []
    assert not (tmp_path / "sm-bench-results").exists()


def test_endpoints_that_fail_are_reported_with_their_reason_and_deleted(fresh_emulator, tmp_path):
    target = fresh_emulator.target()
    target.client("sagemaker").create_model(
        ModelName="not-runnable-here",
        ExecutionRoleArn="arn:aws:iam::123456789012:role/test",
        PrimaryContainer={"Image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/x:1"},
    )
    config = small_config(tmp_path, model_name="not-runnable-here", memory_sizes=[2048, 3072])
    errors = []
    handle = start_benchmark(config, target)
    handle.subscribe(lambda e: errors.append(e) if isinstance(e, RunError) else None)
    handle.wait(60)
    assert handle.status == "failed"
    reported = [e.message for e in errors if not e.fatal]
    assert len(reported) == 2
    assert all("Failed" in m and "cannot run model not-runnable-here" in m for m in reported)
    assert set(handle.result.stop_reasons.values()) == {"endpoint_failed"}
    assert endpoint_names(target) == []
    with pytest.raises(RunFailed, match="no invocation could be made"):
        run_benchmark(config, target, progress=False)
    assert endpoint_names(target) == []


def test_a_failed_endpoint_does_not_stop_the_others(fresh_emulator):
    target = fresh_emulator.target()
    reports = []
    deployments = Deployments(
        target, "t1", "demo-nlp", threading.Event(), reports.append, wait_timeout=60, poll=0.1
    )
    # provisioned instances start at creation: demo-nlp does not fit in 1024 MB
    done = deployments.deploy({"fits": (2048, 1, 0), "too-small": (1024, 1, 1)})
    assert done["fits"].ok and not done["too-small"].ok
    assert "Insufficient memory" in done["too-small"].reason
    assert len(reports) == 1 and "Insufficient memory" in reports[0]
    assert deployments.live == [done["fits"].name]
    assert deployments.delete_all() == []
    assert endpoint_names(target) == []


def test_bad_input_fails_before_any_aws_resource(fresh_emulator, tmp_path):
    target = fresh_emulator.target()
    with pytest.raises(ConfigError) as err:
        start_benchmark(small_config(tmp_path, model_name="no-such-model"), target)
    assert err.value.field == "model_name"
    with pytest.raises(ConfigError) as err:
        start_benchmark(
            small_config(
                tmp_path,
                invoke_args_examples=None,
                invoke_args_examples_file=str(tmp_path / "missing.jsonl"),
            ),
            target,
        )
    assert err.value.field == "invoke_args_examples_file"
    with pytest.raises(ConfigError) as err:
        start_benchmark(
            small_config(
                tmp_path, provisioned_concurrency=[9], concurrency_benchmark_max_conc=[2, 4]
            ),
            target,
        )
    assert err.value.field == "provisioned_concurrency"
    assert endpoint_names(target) == []
    assert not (tmp_path / "sm-bench-results").exists()


def test_a_stop_before_the_run_starts_creates_no_endpoint(fresh_emulator, tmp_path):
    from sm_bench_widgets.engine.orchestrator import Orchestrator

    target = fresh_emulator.target()
    created = []
    target.client("sagemaker").meta.events.register(
        "before-call.sagemaker.CreateEndpoint", lambda **kw: created.append(kw)
    )
    runner = Orchestrator(small_config(tmp_path), target)
    runner.stop()
    runner.start()
    assert runner.wait(30)
    assert runner.status == "stopped" and created == []
    assert set(runner.stop_reasons.values()) == {"stopped"}
