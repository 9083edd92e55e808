"""Launching a benchmark as a Processing job through the sagemaker SDK, on the emulator."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from sm_bench_widgets.api import start_benchmark
from sm_bench_widgets.aws.endpoints import TOOL_TAG_KEY, TOOL_TAG_VALUE
from sm_bench_widgets.cli import main
from sm_bench_widgets.config import BenchmarkConfig, ConfigError
from sm_bench_widgets.jobs import sdk
from sm_bench_widgets.jobs.options import JobOptions
from sm_bench_widgets.payloads import write_jsonl
from sm_bench_widgets.sagemaker_runner import run_as_sagemaker_job
from tests.engine.helpers import CSV_EXAMPLES

ROLE = "arn:aws:iam::123456789012:role/bench"


@pytest.fixture
def payload_file(tmp_path: Path) -> Path:
    return write_jsonl(CSV_EXAMPLES, tmp_path / "payloads.jsonl")


@pytest.fixture
def target(emulator):
    """A target of its own (its clients, and the hooks on them, are not shared)."""
    return emulator.target()


def captured_requests(target) -> list[dict]:
    """CreateProcessingJob requests as sent, recorded with botocore's event hooks."""
    sent: list[dict] = []

    def record(params, **_):
        sent.append(json.loads(json.dumps(params)))

    target.client("sagemaker").meta.events.register(
        "provide-client-params.sagemaker.CreateProcessingJob", record
    )
    return sent


def s3_keys(target, bucket: str, prefix: str = "") -> list[str]:
    s3 = target.client("s3")
    try:
        answer = s3.list_objects_v2(Bucket=bucket, Prefix=prefix)
    except s3.exceptions.NoSuchBucket:
        return []
    return sorted(o["Key"] for o in answer.get("Contents", []))


def job_names(target) -> set[str]:
    jobs = target.client("sagemaker").list_processing_jobs(MaxResults=100)
    return {j["ProcessingJobName"] for j in jobs["ProcessingJobSummaries"]}


def test_the_job_request_carries_image_command_inputs_outputs_tags_keys_and_network(
    target, payload_file, tmp_path
):
    sent = captured_requests(target)
    target.client("s3").create_bucket(Bucket="shape-bucket")
    handle = run_as_sagemaker_job(
        ROLE,
        "demo-nlp",
        payload_file,
        "s3://shape-bucket/bench",
        instance_type="ml.c5.xlarge",
        volume_kms_key="volume-key-1",
        output_kms_key="output-key-1",
        tags={"team": "ml"},
        network_config={"subnets": ["subnet-0abc"], "security_group_ids": ["sg-0abc"]},
        max_runtime_in_seconds=3600,
        target=target,
        memory_sizes=[2048],
        stability_benchmark_invocations=20,
        include_concurrency_benchmark=False,
    )
    (request,) = sent
    name = handle.name
    base = f"s3://shape-bucket/bench/{name}"
    assert request["ProcessingJobName"] == name and request["RoleArn"] == ROLE
    app = request["AppSpecification"]
    assert app["ImageUri"] == sdk.image_uri("us-east-1", "ml.c5.xlarge")
    assert "sagemaker-scikit-learn" in app["ImageUri"]
    assert app["ContainerEntrypoint"] == ["python3", "/opt/ml/processing/input/code/bootstrap.py"]
    arguments = app["ContainerArguments"]
    assert arguments[:4] == [
        "--input",
        "/opt/ml/processing/input/benchmark",
        "--output",
        "/opt/ml/processing/output/results",
    ]
    # one run id for every host, and where hosts read each other's results
    assert arguments[4] == "--run-id" and re.fullmatch(r"[0-9a-f]{8}", arguments[5])
    assert arguments[6:] == ["--results-s3", f"{base}/results/"]
    inputs = {i["InputName"]: i["S3Input"] for i in request["ProcessingInputs"]}
    assert inputs["code"]["S3Uri"] == f"{base}/code/"
    assert inputs["code"]["LocalPath"] == "/opt/ml/processing/input/code"
    assert inputs["benchmark"]["S3Uri"] == f"{base}/benchmark/"
    assert inputs["benchmark"]["LocalPath"] == "/opt/ml/processing/input/benchmark"
    for s3_input in inputs.values():
        assert s3_input["S3DataType"] == "S3Prefix"
        assert s3_input["S3DataDistributionType"] == "FullyReplicated"
    (output,) = request["ProcessingOutputConfig"]["Outputs"]
    assert output["OutputName"] == "results"
    assert output["S3Output"] == {
        "S3Uri": f"{base}/results/",
        "LocalPath": "/opt/ml/processing/output/results",
        "S3UploadMode": "Continuous",
    }
    assert request["ProcessingOutputConfig"]["KmsKeyId"] == "output-key-1"
    cluster = request["ProcessingResources"]["ClusterConfig"]
    assert cluster["InstanceType"] == "ml.c5.xlarge" and cluster["InstanceCount"] == 1
    assert cluster["VolumeKmsKeyId"] == "volume-key-1"
    assert request["NetworkConfig"]["VpcConfig"] == {
        "Subnets": ["subnet-0abc"],
        "SecurityGroupIds": ["sg-0abc"],
    }
    assert request["StoppingCondition"] == {"MaxRuntimeInSeconds": 3600}
    tags = {t["Key"]: t["Value"] for t in request["Tags"]}
    assert tags[TOOL_TAG_KEY] == TOOL_TAG_VALUE and tags["team"] == "ml"

    described = target.client("sagemaker").describe_processing_job(ProcessingJobName=name)
    assert described["AppSpecification"] == app
    (described_output,) = described["ProcessingOutputConfig"]["Outputs"]
    assert described_output["S3Output"] == output["S3Output"]

    keys = s3_keys(target, "shape-bucket", f"bench/{name}/")
    prefix = f"bench/{name}/"
    assert f"{prefix}code/bootstrap.py" in keys
    wheels = [k for k in keys if k.startswith(f"{prefix}code/wheels/")]
    assert any("sm_bench_widgets-" in k and k.endswith("-py3-none-any.whl") for k in wheels)
    s3 = target.client("s3")
    head = s3.head_object(Bucket="shape-bucket", Key=f"{prefix}code/bootstrap.py")
    assert head.get("ServerSideEncryption") == "aws:kms"
    config = json.loads(
        s3.get_object(Bucket="shape-bucket", Key=f"{prefix}benchmark/config.json")["Body"].read()
    )
    assert config["model_name"] == "demo-nlp" and config["memory_sizes"] == [2048]
    assert config["stability_benchmark_invocations"] == 20
    payloads = s3.get_object(Bucket="shape-bucket", Key=f"{prefix}benchmark/payloads.jsonl")
    lines = payloads["Body"].read().decode().splitlines()
    assert [json.loads(line)["Body"] for line in lines] == [e["Body"] for e in CSV_EXAMPLES]
    handle.stop()


def test_defaults_take_the_sdk_default_bucket_and_a_small_general_purpose_instance(
    target, payload_file
):
    sent = captured_requests(target)
    config = BenchmarkConfig(
        model_name="demo-nlp",
        invoke_args_examples_file=str(payload_file),
        memory_sizes=[2048],
        stability_benchmark_invocations=10,
        include_concurrency_benchmark=False,
    )
    handle = start_benchmark(config, target, launch="processing-job", job=JobOptions(role=ROLE))
    (request,) = sent
    assert handle.results_uri.startswith(
        f"s3://sagemaker-us-east-1-123456789012/sm-bench-widgets/{handle.name}/"
    )
    assert request["ProcessingResources"]["ClusterConfig"]["InstanceType"] == "ml.m5.large"
    assert "StoppingCondition" not in request and "NetworkConfig" not in request
    handle.stop()


def test_every_way_to_launch_takes_the_clients_one_host_drives(
    target, payload_file, emulator, capsys
):
    sent = captured_requests(target)
    small = dict(memory_sizes=[2048], stability_benchmark_invocations=10)
    handle = run_as_sagemaker_job(
        ROLE, "demo-nlp", payload_file, instance_count=2, clients_per_host=4, target=target, **small
    )
    handle.stop()
    config = BenchmarkConfig(
        model_name="demo-nlp", invoke_args_examples_file=str(payload_file), **small
    )
    job = JobOptions(role=ROLE, instance_count=2, clients_per_host=200)
    start_benchmark(config, target, launch="processing-job", job=job).stop()
    measured = start_benchmark(
        config, target, launch="processing-job", job=JobOptions(role=ROLE, instance_count=2)
    )
    measured.stop()
    per_host = [r["AppSpecification"]["ContainerArguments"] for r in sent]
    assert [a[a.index("--clients-per-host") + 1] for a in per_host[:2]] == ["4", "200"]
    assert "--clients-per-host" not in per_host[2]  # None: the first host measures it

    at = ["--endpoint-url", emulator.endpoint_url, "--emulated"]
    start = ["job", "start", "demo-nlp", str(payload_file), "--role", ROLE, *at]
    start += ["--memory-sizes", "2048", "--job-instance-count", "2"]
    capsys.readouterr()
    assert main([*start, "--clients-per-host", "6"]) == 0
    name = capsys.readouterr().out.strip().splitlines()[-1]
    sagemaker = target.client("sagemaker")
    arguments = sagemaker.describe_processing_job(ProcessingJobName=name)["AppSpecification"]
    assert arguments["ContainerArguments"][-2:] == ["--clients-per-host", "6"]
    sagemaker.stop_processing_job(ProcessingJobName=name)
    before = job_names(target)
    assert main([*start, "--clients-per-host", "0"]) == 2
    assert "clients_per_host" in capsys.readouterr().err
    assert job_names(target) == before


BAD_OPTIONS = [
    ("role", {"role": "bench-role"}),
    ("role", {"role": "arn:aws:iam::12345:role/x"}),
    ("s3_output_path", {"s3_output_path": "/local/folder"}),
    ("s3_output_path", {"s3_output_path": "https://bucket.s3.amazonaws.com/x"}),
    ("instance_type", {"instance_type": "m5.large"}),
    ("instance_count", {"instance_count": 0}),
    ("instance_count", {"instance_count": 101}),
    ("volume_kms_key", {"volume_kms_key": "not a key"}),
    ("output_kms_key", {"output_kms_key": ""}),
    ("tags", {"tags": {"aws:reserved": "x"}}),
    ("tags", {"tags": "team=ml"}),
    ("network_config.subnets", {"network_config": {"subnets": [], "security_group_ids": ["sg-1"]}}),
    (
        "network_config.security_group_ids",
        {"network_config": {"subnets": ["subnet-1"], "security_group_ids": ["group"]}},
    ),
    ("network_config", {"network_config": {"vpc": "x"}}),
    ("max_runtime_in_seconds", {"max_runtime_in_seconds": 0}),
    ("max_runtime_in_seconds", {"max_runtime_in_seconds": 777601}),
    ("image_uri", {"image_uri": "an image"}),
    ("clients_per_host", {"clients_per_host": 0}),
    ("clients_per_host", {"clients_per_host": 201}),
    ("clients_per_host", {"clients_per_host": "4"}),
    ("clients_per_host", {"clients_per_host": True}),
]


@pytest.mark.parametrize(("field", "options"), BAD_OPTIONS, ids=[f for f, _ in BAD_OPTIONS])
def test_a_bad_job_option_names_its_field_before_anything_is_created(
    field, options, target, payload_file
):
    with pytest.raises(ConfigError) as caught:
        JobOptions(**{"role": ROLE, **options})
    assert caught.value.field == field

    before_jobs, before_keys = job_names(target), s3_keys(target, "nothing-here")
    kwargs = {"role": ROLE, "s3_output_path": "s3://nothing-here/x", **options}
    role = kwargs.pop("role")
    with pytest.raises(ConfigError) as caught:
        run_as_sagemaker_job(role, "demo-nlp", payload_file, target=target, **kwargs)
    assert caught.value.field == field
    assert job_names(target) == before_jobs and s3_keys(target, "nothing-here") == before_keys
    assert "nothing-here" not in {b["Name"] for b in target.client("s3").list_buckets()["Buckets"]}


@pytest.mark.parametrize(
    ("field", "model", "payloads"),
    [
        ("invoke_args_examples_file", "demo-nlp", "missing.jsonl"),
        ("model_name", "no-such-model", None),
        ("role", "demo-nlp", None),
    ],
)
def test_benchmark_and_role_errors_come_before_any_upload_or_job(
    field, model, payloads, target, payload_file, tmp_path
):
    before = job_names(target)
    path = tmp_path / payloads if payloads else payload_file
    role = None if field == "role" else ROLE
    with pytest.raises(ConfigError) as caught:
        run_as_sagemaker_job(
            role, model, path, "s3://nothing-here/x", target=target, memory_sizes=[2048]
        )
    assert caught.value.field == field
    assert job_names(target) == before and s3_keys(target, "nothing-here") == []


def test_a_grid_that_never_fits_the_quota_is_refused_before_any_upload_or_job(target, payload_file):
    before = job_names(target)
    with pytest.raises(ConfigError) as caught:
        run_as_sagemaker_job(
            ROLE, "demo-tabular", payload_file, "s3://never-made/x", target=target,
            memory_sizes=[2048], concurrency_benchmark_max_conc=[4], account_max_concurrency=2,
        )  # fmt: skip
    assert caught.value.field == "concurrency_benchmark_max_conc"
    assert "MaxConcurrency 4 can never be deployed" in str(caught.value)
    assert job_names(target) == before and s3_keys(target, "never-made") == []


def test_without_the_sdk_the_error_names_the_install_command(monkeypatch, target, payload_file):
    import sys

    monkeypatch.setitem(sys.modules, "sagemaker.core.processing", None)
    with pytest.raises(sdk.SdkMissing, match=r"pip install 'sm-bench-widgets\[jobs\]'"):
        run_as_sagemaker_job(ROLE, "demo-nlp", payload_file, target=target)


def test_launch_modes_are_checked(payload_file):
    config = BenchmarkConfig(model_name="demo-nlp", invoke_args_examples_file=str(payload_file))
    with pytest.raises(ConfigError) as caught:
        start_benchmark(config, launch="lambda")
    assert caught.value.field == "launch"
