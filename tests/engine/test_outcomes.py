"""Each outcome class, measured against the emulator over HTTP, and the events of a run."""

from __future__ import annotations

import threading

from botocore.exceptions import ClientError

from sm_bench_widgets.api import run_benchmark, start_benchmark
from sm_bench_widgets.engine.events import (
    InvocationBatch,
    PhaseStarted,
    RunEnded,
    RunStarted,
    TrialEnded,
    TrialStarted,
)
from sm_bench_widgets.engine.loads import Invoker, classify_error
from sm_bench_widgets.payloads import PayloadSampler

from .helpers import small_config


def test_insufficient_memory_stops_after_the_error_threshold_and_others_go_on(
    emulator_target, tmp_path
):
    config = small_config(
        tmp_path,
        memory_sizes=[1024, 2048],
        stability_benchmark_invocations=40,
        stability_benchmark_error_thresh=3,
        adaptive=False,
    )
    result = run_benchmark(config, emulator_target, progress=False)
    inv = result.invocations
    small = inv[inv["memory_size"] == 1024]
    assert len(small) == 3
    assert set(small["outcome"]) == {"insufficient_memory"}
    assert set(small["error_code"]) == {"ModelError"}
    assert result.stop_reasons["stability-m1024"] == "errors"
    big = inv[inv["memory_size"] == 2048]
    assert len(big) == 40 and set(big["outcome"]) == {"ok"}
    assert result.stop_reasons["stability-m2048"] == "max_invocations"
    assert result.recommendation is not None and result.recommendation.memory_size == 2048
    # each endpoint's CloudWatch metrics were fetched after its trial
    cw = result.cloudwatch
    assert set(cw["endpoint_name"]) == set(inv["endpoint_name"])
    assert {"Invocations", "ModelLatency"} <= set(cw["metric"])
    assert set(cw.loc[cw["memory_size"] == 1024, "endpoint_name"]) == set(small["endpoint_name"])


def test_unreadable_payloads_are_model_errors(emulator_target, tmp_path):
    config = small_config(
        tmp_path,
        invoke_args_examples=[{"Body": "not,numbers,at,all", "ContentType": "text/csv"}],
        stability_benchmark_error_thresh=4,
    )
    handle = start_benchmark(config, emulator_target)
    result = handle.wait(60)
    assert result is not None and result.status == "completed"
    assert result.recommendation is None
    inv = result.invocations
    assert len(inv) == 4
    assert set(inv["outcome"]) == {"model_error"}
    assert set(inv["error_code"]) == {"ModelError"}
    assert result.stop_reasons["stability-m2048"] == "errors"


def test_clients_beyond_max_concurrency_are_throttled(emulator_target, tmp_path):
    config = small_config(
        tmp_path,
        include_concurrency_benchmark=True,
        concurrency_benchmark_max_conc=[1],
        concurrency_num_clients_multiplier=[4],
        concurrency_benchmark_invocations=60,
        adaptive=False,
        stability_benchmark_invocations=10,
    )
    result = run_benchmark(config, emulator_target, progress=False)
    conc = result.invocations[result.invocations["trial_id"] == "concurrency-m2048-c1-n4"]
    assert len(conc) == 60
    outcomes = conc["outcome"].value_counts()
    assert outcomes.get("throttled", 0) > 0
    assert outcomes.get("ok", 0) > 0
    assert set(conc.loc[conc["outcome"] == "throttled", "error_code"]) == {"ThrottlingException"}
    assert set(conc["client_id"]) == {0, 1, 2, 3}
    row = result.concurrency.set_index("trial_id").loc["concurrency-m2048-c1-n4"]
    assert row["throttle_count"] == outcomes["throttled"]


def test_other_errors_keep_their_aws_error_code(emulator_target):
    sampler = PayloadSampler([{"Body": "1,2,3", "ContentType": "text/csv"}], seed=1)
    invoker = Invoker(
        emulator_target.client("sagemaker-runtime"), "no-such-endpoint", sampler, {"trial_id": "t"}
    )
    row = invoker.invoke()
    assert row["outcome"] == "error"
    assert row["error_code"] == "ValidationError"
    assert row["bytes_in"] == 5 and row["latency_ms"] > 0


def test_events_arrive_in_order_batched_and_a_failing_subscriber_is_harmless(
    emulator_target, tmp_path
):
    config = small_config(
        tmp_path, memory_sizes=[2048, 3072], stability_benchmark_invocations=60, adaptive=False
    )
    events = []
    lock = threading.Lock()

    def record(event):
        with lock:
            events.append(event)

    def broken(event):
        raise RuntimeError("subscriber bug")

    handle = start_benchmark(config, emulator_target)
    handle.subscribe(broken)
    handle.subscribe(record)  # replays what happened before it subscribed
    result = handle.wait(120)
    assert result.status == "completed" and len(result.invocations) == 120
    kinds = [type(e) for e in events]
    assert kinds[0] is RunStarted and kinds[1] is PhaseStarted and kinds[-1] is RunEnded
    assert kinds.count(TrialStarted) == 2 and kinds.count(TrialEnded) == 2
    batches = [e for e in events if isinstance(e, InvocationBatch)]
    rows = sum(len(b.rows) for b in batches)
    assert rows <= 120  # a late subscriber misses early batches; the result holds every row
    assert len(batches) < rows / 2  # batched, not one event per invocation
    ended = [e for e in events if isinstance(e, TrialEnded)]
    assert {e.stop_reason for e in ended} == {"max_invocations"}
    assert all(e.summary["count"] == 60 for e in ended)


def _client_error(code: str, message: str, **fields: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": message}, **fields}, "InvokeEndpoint")


def test_classification_reads_the_containers_own_words():
    log_url = "See .../aws/sagemaker/Endpoints/memory-hog-model-m2048 for more information."
    assert classify_error(_client_error("ThrottlingException", "Rate exceeded")) == (
        "throttled",
        "ThrottlingException",
    )
    assert classify_error(
        _client_error(
            "ModelError",
            f"Received server error (507) ... {log_url}",
            OriginalMessage="Insufficient memory: the model needs 1700 MB",
        )
    ) == ("insufficient_memory", "ModelError")
    # the endpoint name in the log URL says "memory"; the container did not
    assert classify_error(
        _client_error(
            "ModelError",
            f"Received client error (400) ... {log_url}",
            OriginalMessage="could not parse the body",
        )
    ) == ("model_error", "ModelError")
    assert classify_error(_client_error("ModelError", "out of memory")) == (
        "insufficient_memory",
        "ModelError",
    )
    assert classify_error(_client_error("ServiceUnavailable", "try later")) == (
        "error",
        "ServiceUnavailable",
    )
    assert classify_error(TimeoutError("read timed out")) == ("error", "TimeoutError")
