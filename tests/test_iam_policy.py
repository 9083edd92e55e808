"""``sm-bench iam-policy`` allows every AWS operation the tool calls, and little else.

The operations are found by recording the calls of full runs on the emulator with
botocore's ``before-call`` event: in this process on the run's session, and in a
Processing job's host processes through a ``sitecustomize`` that registers the same hook.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from sm_bench_widgets.api import run_benchmark
from sm_bench_widgets.aws.cleanup import sweep
from sm_bench_widgets.aws.endpoints import EndpointSpec, create_endpoint
from sm_bench_widgets.cli.iam_policy import build_policy, iam_action, policy_actions
from sm_bench_widgets.config import BenchmarkConfig
from sm_bench_widgets.payloads import write_jsonl
from tests.engine.helpers import CSV_EXAMPLES

CLI = [sys.executable, "-m", "sm_bench_widgets.cli"]
ROLE = "arn:aws:iam::123456789012:role/bench"

# In the policy though no emulated run calls them, each for a reason:
NOT_RECORDED = {
    # SageMaker authorizes tags given to CreateEndpoint/CreateEndpointConfig as AddTags
    "sagemaker:AddTags",
    # read when the endpoint or its config is looked at again (resume, cleanup of a config)
    "sagemaker:DescribeEndpointConfig",
    "sagemaker:ListTags",
    "tag:GetResources",
    # older metric reads and the quota fallback when no applied quota is set
    "cloudwatch:GetMetricStatistics",
    "servicequotas:GetAWSDefaultServiceQuota",
    # job mode: stopping, listing, bucket setup and the job's own log writes
    "sagemaker:StopProcessingJob",
    "sagemaker:ListProcessingJobs",
    "iam:PassRole",
    "s3:CreateBucket",
    "s3:GetBucketLocation",
    "s3:AbortMultipartUpload",
    "logs:DescribeLogStreams",
    "logs:CreateLogGroup",
    "logs:CreateLogStream",
    "logs:PutLogEvents",
}

SITECUSTOMIZE = """
import os

if os.environ.get("SM_BENCH_CALL_LOG"):
    import botocore.session

    _init = botocore.session.Session.__init__

    def _record(model, **kwargs):
        with open(os.environ["SM_BENCH_CALL_LOG"], "a") as log:
            log.write(f"{model.service_model.service_name} {model.name}\\n")

    def __init__(self, *args, **kwargs):
        _init(self, *args, **kwargs)
        self.register("before-call", _record)

    botocore.session.Session.__init__ = __init__
"""


class Recorder:
    """The (service, operation) of every call made through a boto3 session."""

    def __init__(self) -> None:
        self.calls: set[tuple[str, str]] = set()
        self._lock = threading.Lock()

    def __call__(self, model, **kwargs) -> None:
        with self._lock:
            self.calls.add((model.service_model.service_name, model.name))

    def actions(self) -> set[str]:
        return {a for s, o in self.calls if (a := iam_action(s, o)) is not None}


@pytest.fixture
def target(fresh_emulator):
    return fresh_emulator.target()


def recorded_local_run(target, tmp_path: Path) -> Recorder:
    recorder = Recorder()
    target.session.events.register("before-call", recorder)
    config = BenchmarkConfig(
        model_name="demo-nlp",
        invoke_args_examples=CSV_EXAMPLES,
        memory_sizes=[2048, 3072],
        stability_benchmark_invocations=20,
        concurrency_benchmark_max_conc=[2, 4],
        concurrency_benchmark_invocations=20,
        provisioned_concurrency=[2],
        result_save_path=str(tmp_path),
    )
    assert run_benchmark(config, target, progress=False).status == "completed"
    # what `sm-bench cleanup` does with a leftover of a killed run
    spec = EndpointSpec("demo-nlp", 2048, 1)
    create_endpoint(target, spec, "demo-nlp-leftover-m2048-c1", "killedrun")
    assert sweep(target, out=lambda _line: None) == ["demo-nlp-leftover-m2048-c1"]
    return recorder


def test_the_local_policy_allows_every_call_of_a_full_run_and_cleanup(target, tmp_path):
    recorder = recorded_local_run(target, tmp_path)
    allowed = policy_actions(build_policy("local"))
    print("recorded in local mode:", sorted(recorder.actions()))
    assert recorder.actions() <= allowed, sorted(recorder.actions() - allowed)
    assert {"sagemaker:CreateEndpoint", "sagemaker:InvokeEndpoint"} <= recorder.actions()
    # least privilege: nothing beyond what is called or named above with its reason
    assert allowed - recorder.actions() <= NOT_RECORDED, sorted(allowed - recorder.actions())


def test_the_job_policy_allows_every_call_of_launching_following_and_hosting_a_job(
    target, tmp_path, monkeypatch
):
    hook = tmp_path / "hook"
    hook.mkdir()
    (hook / "sitecustomize.py").write_text(SITECUSTOMIZE)
    log = tmp_path / "host-calls.txt"
    monkeypatch.setenv("SM_BENCH_CALL_LOG", str(log))
    monkeypatch.setenv(
        "PYTHONPATH", os.pathsep.join(filter(None, [str(hook), os.environ.get("PYTHONPATH")]))
    )
    from sm_bench_widgets.sagemaker_runner import run_as_sagemaker_job

    recorder = Recorder()
    target.session.events.register("before-call", recorder)
    payloads = write_jsonl(CSV_EXAMPLES, tmp_path / "payloads.jsonl")
    handle = run_as_sagemaker_job(
        ROLE,
        "demo-nlp",
        payloads,
        memory_sizes=[2048],
        include_concurrency_benchmark=False,
        stability_benchmark_invocations=20,
        target=target,
    )
    handle.cache_dir = tmp_path / "cache"
    result = handle.wait(timeout=300)
    assert result is not None and handle.status() == "Completed", handle.failure_reason
    handle.logs()

    host = {tuple(line.split()) for line in log.read_text().splitlines()}
    assert ("sagemaker-runtime", "InvokeEndpoint") in host  # the hook saw the job's host
    actions = recorder.actions() | {a for s, o in host if (a := iam_action(s, o))}
    allowed = policy_actions(build_policy("processing-job"))
    print("recorded in job mode:", sorted(actions))
    assert actions <= allowed, sorted(actions - allowed)
    assert "sagemaker:CreateProcessingJob" in actions
    assert allowed - actions <= NOT_RECORDED | policy_actions(build_policy("local")), sorted(
        allowed - actions
    )


def test_the_cli_prints_a_policy_scoped_by_tag_prefix_and_service():
    out = subprocess.run(
        [*CLI, "iam-policy", "--mode", "processing-job", "--region", "eu-west-1",
         "--account", "111122223333", "--role-arn", "arn:aws:iam::111122223333:role/job"],
        capture_output=True, text=True, timeout=60, check=True,
    ).stdout  # fmt: skip
    policy = json.loads(out)
    by_sid = {s["Sid"]: s for s in policy["Statement"]}
    create = by_sid["CreateOnlyTaggedEndpoints"]
    assert create["Condition"] == {
        "StringEquals": {"aws:RequestTag/sm-bench-widgets:tool": "sm-bench-widgets"}
    }
    assert create["Resource"] == [
        "arn:aws:sagemaker:eu-west-1:111122223333:endpoint/*",
        "arn:aws:sagemaker:eu-west-1:111122223333:endpoint-config/*",
    ]
    use = by_sid["UseAndDeleteOnlyTheToolsEndpoints"]
    assert "aws:ResourceTag/sm-bench-widgets:tool" in use["Condition"]["StringEquals"]
    assert by_sid["RunTheBenchmarkAsAProcessingJob"]["Resource"] == [
        "arn:aws:sagemaker:eu-west-1:111122223333:processing-job/sm-bench-*"
    ]
    assert by_sid["PassTheJobRoleToSageMakerOnly"]["Resource"] == [
        "arn:aws:iam::111122223333:role/job"
    ]
    # "*" only for what AWS cannot scope to a resource
    for statement in policy["Statement"]:
        if statement["Resource"] == ["*"]:
            assert all(a.split(":")[1].startswith(("List", "Get")) for a in statement["Action"]), (
                statement
            )


def test_an_unknown_mode_is_one_line():
    proc = subprocess.run(
        [*CLI, "iam-policy", "--mode", "cluster"], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "--mode" in proc.stderr and "processing-job" in proc.stderr
