"""``sm-bench iam-policy`` allows every AWS operation the tool calls, and little else.

The operations are found by recording the calls of full runs on the emulator with
botocore's ``before-call`` event: in this process on the run's session, and in the
processes a run starts (its load worker, a Processing job's hosts) through a
``sitecustomize`` that registers the same hook (``tests/botocore_calls.py``).
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from sm_bench_widgets.api import run_benchmark
from sm_bench_widgets.aws.cleanup import sweep
from sm_bench_widgets.aws.endpoints import EndpointSpec, create_endpoint
from sm_bench_widgets.cli.iam_policy import build_policy, iam_action, policy_actions
from sm_bench_widgets.config import BenchmarkConfig
from sm_bench_widgets.payloads import write_jsonl
from tests.botocore_calls import CallRecorder
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
    "servicequotas:ListAWSDefaultServiceQuotas",
    # the panel's model list
    "sagemaker:ListModels",
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


@pytest.fixture
def target(fresh_emulator):
    return fresh_emulator.target()


def actions_of(recorder: CallRecorder) -> set[str]:
    return {a for s, o in recorder.counts() if (a := iam_action(s, o)) is not None}


def test_the_local_policy_allows_every_call_of_a_full_run_and_cleanup(
    target, tmp_path, monkeypatch
):
    recorder = CallRecorder(tmp_path, monkeypatch)
    recorder.watch(target.session)
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

    actions = actions_of(recorder)
    allowed = policy_actions(build_policy("local"))
    assert actions <= allowed, sorted(actions - allowed)
    assert {"sagemaker:CreateEndpoint", "sagemaker:InvokeEndpoint"} <= actions
    # least privilege: nothing beyond what is called or named above with its reason
    assert allowed - actions <= NOT_RECORDED, sorted(allowed - actions)


def test_the_job_policy_allows_every_call_of_launching_following_and_hosting_a_job(
    target, tmp_path, monkeypatch
):
    from sm_bench_widgets.sagemaker_runner import run_as_sagemaker_job

    recorder = CallRecorder(tmp_path, monkeypatch)
    recorder.watch(target.session)
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

    host = {tuple(line.split()) for line in recorder.log.read_text().splitlines()}
    assert ("sagemaker-runtime", "InvokeEndpoint") in host  # the hook saw the job's host
    actions = actions_of(recorder)
    allowed = policy_actions(build_policy("processing-job"))
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


def test_the_policy_scopes_by_the_tag_and_prefix_the_code_uses():
    from sm_bench_widgets.aws.endpoints import TOOL_TAG_KEY, TOOL_TAG_VALUE, resource_tags
    from sm_bench_widgets.cli import iam_policy
    from sm_bench_widgets.jobs.launcher import job_name_for

    assert (iam_policy.TOOL_TAG_KEY, iam_policy.TOOL_TAG_VALUE) == (TOOL_TAG_KEY, TOOL_TAG_VALUE)
    assert {"Key": TOOL_TAG_KEY, "Value": TOOL_TAG_VALUE} in resource_tags("run1")
    assert job_name_for("any model").startswith(iam_policy.JOB_PREFIX)
