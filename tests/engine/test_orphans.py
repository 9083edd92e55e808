"""Nothing orphaned: whatever fails, none of the run's endpoints or endpoint configs remain.

Faults are injected into the emulator (control-plane errors, failing endpoint creation,
quotas), into the engine's own steps (an exception in each phase), and into a real
process (SIGKILL), followed by ``sm-bench cleanup`` where the run could not finish.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading

import pytest

from sm_bench_widgets.api import RunFailed, run_benchmark, start_benchmark
from sm_bench_widgets.emulator import LocalServerless
from sm_bench_widgets.emulator.faults import Fault
from sm_bench_widgets.engine.deploy import QuotaError
from sm_bench_widgets.engine.events import InvocationBatch
from sm_bench_widgets.engine.steps import load as load_step
from tests.conftest import TEST_SEED, TEST_TIME_SCALE
from tests.waiting import wait_until

from .helpers import KILLABLE_RUN, endpoint_names, small_config


def inject(emulator: LocalServerless, operation: str, code: str, **more) -> Fault:
    """Set a fault on ``emulator``: ``operation`` answers ``code``."""
    return emulator.faults.add(Fault.parse({"operation": operation, "code": code, **more}))


def configured_attempts(target) -> int:
    """How many attempts botocore makes per control-plane call, as configured."""
    retries = target.client("sagemaker").meta.config.retries or {}
    mode = retries.get("mode", "legacy")
    return retries.get("total_max_attempts") or (5 if mode == "legacy" else 3)


def errors_of(handle) -> list[str]:
    return list(handle.errors)


def cleanup_cli(url: str, *args: str) -> subprocess.CompletedProcess:
    """``sm-bench cleanup ARGS`` in a process of its own, pointed at ``url``."""
    env = {
        **os.environ,
        "AWS_ENDPOINT_URL": url,
        "AWS_ACCESS_KEY_ID": "emulated",
        "AWS_SECRET_ACCESS_KEY": "emulated",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    for key in ("AWS_PROFILE", "AWS_SESSION_TOKEN"):
        env.pop(key, None)
    return subprocess.run(
        [sys.executable, "-m", "sm_bench_widgets.cli", "cleanup", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def foreign_endpoints(target) -> list[str]:
    """An untagged endpoint and one tagged by another tool, as a real account holds."""
    sm = target.client("sagemaker")
    variant = {
        "VariantName": "AllTraffic",
        "ModelName": "demo-tabular",
        "ServerlessConfig": {"MemorySizeInMB": 1024, "MaxConcurrency": 1},
    }
    sm.create_endpoint_config(EndpointConfigName="untagged", ProductionVariants=[variant])
    sm.create_endpoint(EndpointName="untagged", EndpointConfigName="untagged")
    tags = [
        {"Key": "sm-bench-widgets:tool", "Value": "someone-else"},
        {"Key": "sm-bench-widgets:run-id", "Value": "x"},
    ]
    sm.create_endpoint_config(EndpointConfigName="foreign", ProductionVariants=[variant], Tags=tags)
    sm.create_endpoint(EndpointName="foreign", EndpointConfigName="foreign", Tags=tags)
    return ["foreign", "foreign", "untagged", "untagged"]


# -- an exception in every phase ---------------------------------------------------------
def _raise(*args, **kwargs):
    raise RuntimeError("injected failure")


def _raise_once(real):
    calls = []

    def once(*args, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("injected failure")
        return real(*args, **kwargs)

    return once


# the function of the load step that sends a trial's load
_LOAD = (
    "sm_bench_widgets.engine.steps.load.send_load"
    if hasattr(load_step, "send_load")
    else "sm_bench_widgets.engine.steps.load.sequential"
)

PHASES = {
    # deploy: the endpoint exists, then waiting for it breaks
    "deploy": ("sm_bench_widgets.aws.endpoints.wait_endpoints", lambda real: _raise),
    "probe": ("sm_bench_widgets.engine.steps.load.probe_cold_starts", lambda real: _raise),
    "load": (_LOAD, lambda real: _raise),
    "metrics": ("sm_bench_widgets.aws.cloudwatch.fetch_endpoint_metrics", lambda real: _raise),
    # teardown: the first deletion breaks, the run's final sweep deletes it
    "teardown": ("sm_bench_widgets.aws.endpoints.delete_endpoint", _raise_once),
}


@pytest.mark.parametrize("phase", list(PHASES))
def test_an_exception_in_any_phase_leaves_nothing(fresh_emulator, tmp_path, monkeypatch, phase):
    from pydoc import locate

    target = fresh_emulator.target()
    path, make = PHASES[phase]
    monkeypatch.setattr(path, make(locate(path)))
    handle = start_benchmark(small_config(tmp_path, stability_benchmark_invocations=20), target)
    handle.wait(120)
    assert handle.done
    assert any("injected failure" in e for e in errors_of(handle)), errors_of(handle)
    assert endpoint_names(target) == []


# -- control-plane errors, retried ---------------------------------------------------------
def test_throttling_and_5xx_are_retried_and_the_run_completes(fresh_emulator, tmp_path):
    target = fresh_emulator.target()
    faults = [
        inject(fresh_emulator, "CreateEndpointConfig", "ThrottlingException", count=2),
        inject(fresh_emulator, "CreateEndpoint", "InternalFailure", count=2),
        inject(fresh_emulator, "DescribeEndpoint", "ServiceUnavailable", count=2),
        inject(fresh_emulator, "DeleteEndpoint", "ThrottlingException", count=2),
        inject(fresh_emulator, "DeleteEndpointConfig", "InternalFailure", count=2),
    ]
    result = run_benchmark(
        small_config(tmp_path, stability_benchmark_invocations=10), target, progress=False
    )
    assert result.status == "completed"
    assert len(result.invocations) == 10
    assert [f.fired for f in faults] == [2, 2, 2, 2, 2]
    assert endpoint_names(target) == []


def test_an_error_that_outlasts_the_retries_is_reported_and_nothing_is_left(
    fresh_emulator, tmp_path
):
    target = fresh_emulator.target()
    fault = inject(fresh_emulator, "CreateEndpoint", "InternalFailure", count=None)
    config = small_config(tmp_path, memory_sizes=[2048, 3072])
    handle = start_benchmark(config, target)
    handle.wait(120)
    assert handle.status == "failed"
    # each endpoint was tried as many times as botocore's retries are configured, no more
    assert fault.fired == 2 * configured_attempts(target)
    assert all("InternalFailure" in e for e in errors_of(handle)[:2])
    assert set(handle.result.stop_reasons.values()) == {"endpoint_failed"}
    assert endpoint_names(target) == []  # the configs made for them were deleted too


# -- expired credentials -------------------------------------------------------------------
def test_expired_credentials_stop_the_run_and_cleanup_finishes_later(fresh_emulator, tmp_path):
    target = fresh_emulator.target()
    config = small_config(tmp_path, adaptive=False, stability_benchmark_invocations=100_000)
    handle = start_benchmark(config, target)
    seen = threading.Event()
    handle.subscribe(lambda e: seen.set() if isinstance(e, InvocationBatch) else None)
    assert seen.wait(60)
    # the session token expires: every call, data plane included, is refused from now on
    inject(fresh_emulator, "*", "ExpiredTokenException", count=None)
    inject(fresh_emulator, "InvokeEndpoint", "ExpiredTokenException", count=None)
    handle.wait(120)
    assert handle.status == "stopped"
    told = [e for e in errors_of(handle) if "credentials have expired" in e]
    assert len(told) == 1
    assert "aws sso login" in told[0]
    assert f"sm-bench cleanup --run-id {handle.run_id}" in told[0]
    status = json.loads((handle.run_dir / "status.json").read_text())
    assert status["status"] == "stopped"

    refused = cleanup_cli(fresh_emulator.endpoint_url, "--run-id", handle.run_id)
    assert refused.returncode == 1 and "refresh them" in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1
    fresh_emulator.faults.clear()  # credentials refreshed
    assert endpoint_names(target), "the run could not delete its endpoint while expired"
    done = cleanup_cli(fresh_emulator.endpoint_url, "--run-id", handle.run_id)
    assert done.returncode == 0, done.stderr
    assert "deleted endpoint" in done.stdout
    assert endpoint_names(target) == []


# -- endpoint creation failing -------------------------------------------------------------
def test_a_failed_endpoint_is_deleted_and_the_others_go_on(fresh_emulator, tmp_path):
    target = fresh_emulator.target()
    inject(fresh_emulator, "CreateEndpoint", "EndpointFailed", message="no capacity here", count=1)
    config = small_config(tmp_path, memory_sizes=[2048, 3072], stability_benchmark_invocations=10)
    handle = start_benchmark(config, target)
    result = handle.wait(120)
    assert handle.status == "completed"
    reasons = sorted(result.stop_reasons.values())
    assert reasons[0] == "endpoint_failed" and reasons[1] != "endpoint_failed"
    assert any("no capacity here" in e for e in errors_of(handle))
    assert endpoint_names(target) == []


# -- quotas --------------------------------------------------------------------------------
@pytest.fixture
def quota_emulator(request):
    """An emulator with a small total-concurrency quota (``request.param``)."""
    with LocalServerless(
        time_scale=TEST_TIME_SCALE, seed=TEST_SEED, account_max_concurrency=request.param
    ) as emu:
        yield emu


@pytest.mark.parametrize("quota_emulator", [10], indirect=True)
def test_a_grid_that_cannot_fit_is_refused_before_anything_is_created(quota_emulator, tmp_path):
    target = quota_emulator.target()
    config = small_config(
        tmp_path, include_concurrency_benchmark=True, concurrency_benchmark_max_conc=[2, 200]
    )
    with pytest.raises(QuotaError) as err:
        start_benchmark(config, target)
    assert err.value.field == "concurrency_benchmark_max_conc"
    assert "L-96300102" in str(err.value) and "is 10" in str(err.value)
    assert "--desired-value 200" in str(err.value)
    assert endpoint_names(target) == []
    assert not (tmp_path / "sm-bench-results").exists()


@pytest.mark.parametrize("quota_emulator", [6], indirect=True)
def test_deployments_come_in_waves_that_fit_what_is_free(quota_emulator, tmp_path):
    target = quota_emulator.target()
    foreign = foreign_endpoints(target)  # two endpoints of MaxConcurrency 1: 4 of 6 free
    created: list[str] = []
    target.client("sagemaker").meta.events.register(
        "before-parameter-build.sagemaker.CreateEndpoint",
        lambda params, **kw: created.append(params["EndpointName"]),
    )
    config = small_config(
        tmp_path,
        include_concurrency_benchmark=True,
        concurrency_benchmark_max_conc=[2, 4],
        concurrency_num_clients_multiplier=[1],
        concurrency_benchmark_invocations=10,
    )
    result = run_benchmark(config, target, progress=False)
    assert result.status == "completed"
    assert "endpoint_failed" not in result.stop_reasons.values()
    assert [n.rsplit("-", 1)[-1] for n in created] == ["c1", "c2", "c4"]
    assert sorted(endpoint_names(target)) == foreign  # the foreign ones are untouched


def test_a_quota_hit_that_arrives_anyway_is_waited_out(fresh_emulator, tmp_path):
    target = fresh_emulator.target()
    inject(fresh_emulator, "CreateEndpoint", "ResourceLimitExceeded", count=2)
    handle = start_benchmark(small_config(tmp_path, stability_benchmark_invocations=10), target)
    result = handle.wait(120)
    assert result.status == "completed" and len(result.invocations) == 10
    assert any("retrying" in e and "ResourceLimitExceeded" in e for e in errors_of(handle))
    assert endpoint_names(target) == []


def test_a_quota_hit_that_lasts_is_reported_not_fatal_halfway(fresh_emulator, tmp_path):
    target = fresh_emulator.target()
    inject(fresh_emulator, "CreateEndpoint", "ResourceLimitExceeded", count=None)
    handle = start_benchmark(small_config(tmp_path, endpoint_wait_timeout=2.0), target)
    handle.wait(120)
    assert handle.status == "failed" and isinstance(handle.error, RunFailed)
    assert any("could not be created within 2 s" in e for e in errors_of(handle))
    assert set(handle.result.stop_reasons.values()) == {"endpoint_failed"}
    assert endpoint_names(target) == []


# -- a real SIGKILL, then sm-bench cleanup -------------------------------------------------
def test_sigkill_then_cleanup_deletes_only_this_tools_resources(fresh_emulator, tmp_path):
    target = fresh_emulator.target()
    foreign = foreign_endpoints(target)
    proc = subprocess.Popen(
        [sys.executable, "-c", KILLABLE_RUN, fresh_emulator.endpoint_url, str(tmp_path), "100000"]
    )
    try:
        wait_until(
            lambda: any(
                (d / "invocations.jsonl").exists() and (d / "invocations.jsonl").stat().st_size > 0
                for d in (tmp_path / "sm-bench-results").glob("*")
            ),
            90,
            "the run to kill made no invocation",
        )
    finally:
        proc.kill()  # SIGKILL: no cleanup code runs
        proc.wait(10)
    (run_dir,) = (tmp_path / "sm-bench-results").glob("*")
    run_id = json.loads((run_dir / "config.json").read_text())["run_id"]
    assert len(endpoint_names(target)) == len(foreign) + 2  # its endpoint and config remain

    dry = cleanup_cli(fresh_emulator.endpoint_url, "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert f"run {run_id}" in dry.stdout
    assert "foreign" not in dry.stdout and "untagged" not in dry.stdout
    done = cleanup_cli(fresh_emulator.endpoint_url)
    assert done.returncode == 0, done.stderr
    assert sorted(endpoint_names(target)) == foreign


def test_the_endpoint_quota_splits_the_stability_phase_into_waves(tmp_path):
    with LocalServerless(
        time_scale=TEST_TIME_SCALE, seed=TEST_SEED, account_max_endpoints=1
    ) as emulator:
        target = emulator.target()
        live: list[int] = []
        sm = target.client("sagemaker")
        sm.meta.events.register(
            "before-parameter-build.sagemaker.CreateEndpoint",
            lambda **kw: live.append(len(sm.list_endpoints()["Endpoints"])),
        )
        config = small_config(tmp_path, memory_sizes=[2048, 3072], adaptive=False)
        result = run_benchmark(config, target, progress=False)
        assert result.status == "completed"
        assert "endpoint_failed" not in result.stop_reasons.values()
        assert len(result.invocations) == 2 * config.stability_benchmark_invocations
        assert live == [0, 0]  # one endpoint at a time: each made once the other was gone
        assert endpoint_names(target) == []
