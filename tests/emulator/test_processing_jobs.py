"""Processing jobs really run on the emulator: processes, S3, CloudWatch Logs, statuses, stop.

Every test talks to the emulator over HTTP with boto3 (or the sagemaker SDK) and runs the
small job in ``processing_job_script.py``, uploaded to the emulator's S3 as the job's code.
"""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import psutil
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from sm_bench_widgets.emulator import LocalServerless
from tests.conftest import TEST_SEED, TEST_TIME_SCALE
from tests.waiting import wait_until

SCRIPT = Path(__file__).with_name("processing_job_script.py")
LOG_GROUP = "/aws/sagemaker/ProcessingJobs"
ROLE = "arn:aws:iam::123456789012:role/processing"
CODE_PATH = "/opt/ml/processing/input/code"
DATA_PATH = "/opt/ml/processing/input/data"
OUTPUT_PATH = "/opt/ml/processing/output/results"
JOB_TIMEOUT_S = 60
_names = itertools.count()


@dataclass
class Jobs:
    """Clients at one emulator and the bucket holding the test job's code and data."""

    sm: Any
    s3: Any
    logs: Any
    bucket: str
    url: str

    def uri(self, key: str) -> str:
        return f"s3://{self.bucket}/{key}"

    def create(
        self,
        mode: str = "done",
        hosts: int = 1,
        upload: str = "EndOfJob",
        distribution: str = "FullyReplicated",
        max_runtime: int = 600,
        **env: str,
    ) -> str:
        """Start the test job; its name (also its S3 prefix)."""
        name = f"job-{mode}-{next(_names)}"
        request = job_request(self, name, mode, hosts, upload, distribution, env)
        request["StoppingCondition"]["MaxRuntimeInSeconds"] = max_runtime
        self.sm.create_processing_job(**request)
        return name

    def describe(self, name: str) -> dict:
        return self.sm.describe_processing_job(ProcessingJobName=name)

    def status(self, name: str) -> str:
        return self.describe(name)["ProcessingJobStatus"]

    def wait_done(self, name: str) -> dict:
        """The description once the job reached a terminal status."""
        return wait_until(
            lambda: (
                (d := self.describe(name))["ProcessingJobStatus"]
                in ("Completed", "Failed", "Stopped")
                and d
            ),
            JOB_TIMEOUT_S,
            f"processing job {name} did not end",
        )

    def keys(self, prefix: str) -> list[str]:
        pages = self.s3.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix)
        return sorted(item["Key"] for page in pages for item in page.get("Contents", []))

    def read(self, key: str) -> str:
        return self.s3.get_object(Bucket=self.bucket, Key=key)["Body"].read().decode()

    def put(self, key: str, body: bytes = b"") -> None:
        self.s3.put_object(Bucket=self.bucket, Key=key, Body=body)

    def log_messages(self, stream_prefix: str) -> dict[str, list[str]]:
        """Every log line of the job's streams, by stream name."""
        streams = self.logs.describe_log_streams(
            logGroupName=LOG_GROUP, logStreamNamePrefix=stream_prefix
        )["logStreams"]
        return {
            s["logStreamName"]: [
                e["message"]
                for e in self.logs.get_log_events(
                    logGroupName=LOG_GROUP, logStreamName=s["logStreamName"]
                )["events"]
            ]
            for s in streams
        }


def job_request(
    jobs: Jobs, name: str, mode: str, hosts: int, upload: str, distribution: str, env: dict
) -> dict:
    """A CreateProcessingJob request running the test script."""
    return {
        "ProcessingJobName": name,
        "RoleArn": ROLE,
        "ProcessingResources": {
            "ClusterConfig": {
                "InstanceCount": hosts,
                "InstanceType": "ml.m5.large",
                "VolumeSizeInGB": 5,
            }
        },
        "AppSpecification": {
            "ImageUri": "123456789012.dkr.ecr.us-east-1.amazonaws.com/any:latest",
            "ContainerEntrypoint": ["python3", f"{CODE_PATH}/{SCRIPT.name}"],
            "ContainerArguments": ["--input", DATA_PATH, "--output", OUTPUT_PATH],
        },
        "Environment": {
            "MODE": mode,
            "JOB_SETTING": "from-the-job",
            "GO": jobs.uri(f"{name}/go"),
            "RELEASE": jobs.uri(f"{name}/release"),
            **env,
        },
        "ProcessingInputs": [
            {
                "InputName": "code",
                "S3Input": {
                    "S3Uri": jobs.uri(f"code/{SCRIPT.name}"),
                    "LocalPath": CODE_PATH,
                    "S3DataType": "S3Prefix",
                },
            },
            {
                "InputName": "data",
                "S3Input": {
                    "S3Uri": jobs.uri("data/"),
                    "LocalPath": DATA_PATH,
                    "S3DataType": "S3Prefix",
                    "S3DataDistributionType": distribution,
                },
            },
        ],
        "ProcessingOutputConfig": {
            "Outputs": [
                {
                    "OutputName": "results",
                    "S3Output": {
                        "S3Uri": jobs.uri(f"{name}/results"),
                        "LocalPath": OUTPUT_PATH,
                        "S3UploadMode": upload,
                    },
                }
            ]
        },
        "StoppingCondition": {"MaxRuntimeInSeconds": 600},
        "Tags": [{"Key": "sm-bench-widgets:tool", "Value": "sm-bench-widgets"}],
    }


def make_jobs(emu: LocalServerless, bucket: str) -> Jobs:
    kw = dict(
        endpoint_url=emu.endpoint_url,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(retries={"total_max_attempts": 1}),
    )
    jobs = Jobs(
        boto3.client("sagemaker", **kw),
        boto3.client("s3", **kw),
        boto3.client("logs", **kw),
        bucket,
        emu.endpoint_url,
    )
    jobs.s3.create_bucket(Bucket=bucket)
    jobs.put(f"code/{SCRIPT.name}", SCRIPT.read_bytes())
    jobs.put("data/a.txt", b"alpha")
    jobs.put("data/sub/b.txt", b"beta")
    return jobs


@pytest.fixture
def jobs(emulator: LocalServerless) -> Jobs:
    """The session emulator with the job's code and data in a bucket of its own."""
    return make_jobs(emulator, f"processing-{next(_names)}")


def record(jobs: Jobs, name: str, host: str = "algo-1") -> dict:
    return json.loads(jobs.read(f"{name}/results/{host}.json"))


def gone(pid: int) -> bool:
    """Whether the process no longer runs (reaped, or a zombie awaiting its reaper)."""
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def test_one_host_runs_with_its_inputs_and_outputs_and_logs(jobs: Jobs) -> None:
    name = jobs.create()
    assert jobs.status(name) == "InProgress"
    done = jobs.wait_done(name)
    assert done["ProcessingJobStatus"] == "Completed", done.get("FailureReason")
    assert done["ProcessingStartTime"] <= done["ProcessingEndTime"]
    assert done["CreationTime"] <= done["ProcessingStartTime"]
    assert "FailureReason" not in done
    assert done["ProcessingResources"]["ClusterConfig"]["InstanceCount"] == 1
    assert done["ProcessingOutputConfig"]["Outputs"][0]["S3Output"]["S3UploadMode"] == "EndOfJob"
    assert "Tags" not in done
    assert jobs.keys(f"{name}/results/") == [f"{name}/results/algo-1.json"]
    seen = record(jobs, name)
    assert seen["config"] == {"current_host": "algo-1", "hosts": ["algo-1"]}
    assert seen["inputs"] == ["a.txt", "sub/b.txt"]
    assert seen["input_text"] == {"a.txt": "alpha", "sub/b.txt": "beta"}
    assert seen["region"] == "us-east-1"
    assert seen["env"] == "from-the-job"
    root = seen["opt_ml"]
    assert seen["argv"] == [
        f"{root}/processing/input/code/{SCRIPT.name}",
        "--input",
        f"{root}/processing/input/data",
        "--output",
        f"{root}/processing/output/results",
    ]
    wait_until(lambda: not Path(root).exists(), 10, "the job's temporary folder was not removed")
    messages = wait_until(lambda: jobs.log_messages(f"{name}/"), 10, "no log stream for the job")
    [(stream, lines)] = messages.items()
    assert stream.startswith(f"{name}/algo-1-")
    assert "job on algo-1 read 2 input files" in lines
    assert lines[-1] == "job on algo-1 done"
    listed = jobs.sm.list_processing_jobs(NameContains=name)["ProcessingJobSummaries"]
    assert [(j["ProcessingJobName"], j["ProcessingJobStatus"]) for j in listed] == [
        (name, "Completed")
    ]
    tags = jobs.sm.list_tags(ResourceArn=done["ProcessingJobArn"])["Tags"]
    assert {"Key": "sm-bench-widgets:tool", "Value": "sm-bench-widgets"} in tags


def test_continuous_output_is_in_s3_while_the_job_runs(jobs: Jobs) -> None:
    name = jobs.create("wait", upload="Continuous")
    first = f"{name}/results/algo-1.json"
    wait_until(lambda: first in jobs.keys(f"{name}/"), 20, "the first file was not uploaded")
    assert jobs.status(name) == "InProgress"
    assert f"{name}/results/algo-1-after.txt" not in jobs.keys(f"{name}/")
    jobs.put(f"{name}/go")
    done = jobs.wait_done(name)
    assert done["ProcessingJobStatus"] == "Completed", done.get("FailureReason")
    assert jobs.read(f"{name}/results/algo-1-after.txt") == "after GO"


def test_two_hosts_run_as_two_processes_into_one_prefix(jobs: Jobs) -> None:
    name = jobs.create(hosts=2, distribution="ShardedByS3Key")
    done = jobs.wait_done(name)
    assert done["ProcessingJobStatus"] == "Completed", done.get("FailureReason")
    assert jobs.keys(f"{name}/results/") == [
        f"{name}/results/algo-1.json",
        f"{name}/results/algo-2.json",
    ]
    one, two = record(jobs, name, "algo-1"), record(jobs, name, "algo-2")
    assert one["config"] == {"current_host": "algo-1", "hosts": ["algo-1", "algo-2"]}
    assert two["config"] == {"current_host": "algo-2", "hosts": ["algo-1", "algo-2"]}
    assert one["pid"] != two["pid"]
    assert one["opt_ml"] != two["opt_ml"]
    assert (one["inputs"], two["inputs"]) == (["a.txt"], ["sub/b.txt"])  # sharded by key
    streams = wait_until(
        lambda: len(m := jobs.log_messages(f"{name}/")) == 2 and m, 10, "not two log streams"
    )
    assert sorted(s.split("/")[1].rsplit("-", 1)[0] for s in streams) == ["algo-1", "algo-2"]


def test_a_failing_job_is_failed_with_its_exit_code_and_last_error_line(jobs: Jobs) -> None:
    name = jobs.create("fail")
    done = jobs.wait_done(name)
    assert done["ProcessingJobStatus"] == "Failed"
    reason = done["FailureReason"]
    assert reason.startswith("AlgorithmError:")
    assert "exited with code 3" in reason
    assert reason.endswith("ValueError: the last error line")
    [summary] = jobs.sm.list_processing_jobs(NameContains=name, StatusEquals="Failed")[
        "ProcessingJobSummaries"
    ]
    assert summary["FailureReason"] == reason


def test_stop_sends_sigterm_then_the_job_is_stopped_with_no_process_left(jobs: Jobs) -> None:
    name = jobs.create("hang", upload="Continuous")
    pids_key = f"{name}/results/algo-1-pids.json"
    wait_until(lambda: pids_key in jobs.keys(f"{name}/"), 20, "the job did not start its child")
    pids = json.loads(jobs.read(pids_key))
    jobs.sm.stop_processing_job(ProcessingJobName=name)
    assert jobs.status(name) == "Stopping"  # the job waits for RELEASE in its SIGTERM handler
    jobs.put(f"{name}/release")
    done = jobs.wait_done(name)
    assert done["ProcessingJobStatus"] == "Stopped"
    assert jobs.read(f"{name}/results/algo-1-sigterm.txt") == "SIGTERM"
    for pid in pids:  # the job's process and the child it left behind
        wait_until(lambda pid=pid: gone(pid), 10, f"process {pid} of the job still runs")


def test_a_job_past_its_max_runtime_is_stopped(jobs: Jobs) -> None:
    name = jobs.create("hang", upload="Continuous", max_runtime=1)
    done = jobs.wait_done(name)
    assert done["ProcessingJobStatus"] == "Stopped"
    assert "MaxRuntimeInSeconds" in done["FailureReason"]
    assert jobs.read(f"{name}/results/algo-1-sigterm.txt") == "SIGTERM"
    pids = json.loads(jobs.read(f"{name}/results/algo-1-pids.json"))
    for pid in pids:
        wait_until(lambda pid=pid: gone(pid), 10, f"process {pid} of the job still runs")


def test_stopping_a_finished_job_is_a_validation_error(jobs: Jobs) -> None:
    name = jobs.create()
    assert jobs.wait_done(name)["ProcessingJobStatus"] == "Completed"
    with pytest.raises(ClientError) as caught:
        jobs.sm.stop_processing_job(ProcessingJobName=name)
    error = caught.value.response["Error"]
    assert error["Code"] == "ValidationException"
    assert "Completed" in error["Message"]
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    with pytest.raises(ClientError) as caught:
        jobs.sm.stop_processing_job(ProcessingJobName="no-such-job")
    assert "Could not find processing job" in caught.value.response["Error"]["Message"]


def test_malformed_and_duplicate_requests_are_refused_as_aws_refuses_them(jobs: Jobs) -> None:
    raw = boto3.client(
        "sagemaker",
        endpoint_url=jobs.url,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(parameter_validation=False, retries={"total_max_attempts": 1}),
    )
    request = job_request(jobs, "bad_name!", "done", 0, "EndOfJob", "FullyReplicated", {})
    del request["RoleArn"]
    with pytest.raises(ClientError) as caught:
        raw.create_processing_job(**request)
    error = caught.value.response["Error"]
    assert error["Code"] == "ValidationException"
    assert error["Message"].startswith("3 validation errors detected: ")
    assert (
        "Value 'bad_name!' at 'processingJobName' failed to satisfy constraint" in error["Message"]
    )
    assert "at 'processingResources.clusterConfig.instanceCount'" in error["Message"]
    assert "Value null at 'roleArn' failed to satisfy constraint" in error["Message"]
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400

    no_command = job_request(jobs, "no-command", "done", 1, "EndOfJob", "FullyReplicated", {})
    del no_command["AppSpecification"]["ContainerEntrypoint"]
    with pytest.raises(ClientError) as caught:
        jobs.sm.create_processing_job(**no_command)
    assert caught.value.response["Error"]["Code"] == "ValidationException"
    assert "not supported by the local emulator" in caught.value.response["Error"]["Message"]

    name = jobs.create()
    with pytest.raises(ClientError) as caught:
        jobs.sm.create_processing_job(
            **job_request(jobs, name, "done", 1, "EndOfJob", "FullyReplicated", {})
        )
    assert caught.value.response["Error"]["Code"] == "ResourceInUse"
    with pytest.raises(ClientError) as caught:
        jobs.describe("no-such-job")
    assert caught.value.response["Error"]["Code"] == "ValidationException"
    jobs.wait_done(name)


def test_stopping_the_emulator_ends_its_jobs_and_removes_their_folders() -> None:
    with LocalServerless(time_scale=TEST_TIME_SCALE, seed=TEST_SEED) as emu:
        jobs = make_jobs(emu, "processing-own")
        name = jobs.create("hang", upload="Continuous")
        pids_key = f"{name}/results/algo-1-pids.json"
        wait_until(lambda: pids_key in jobs.keys(f"{name}/"), 20, "the job did not start")
        pids = json.loads(jobs.read(pids_key))
        root = record(jobs, name)["opt_ml"]
    for pid in pids:
        assert gone(pid), f"process {pid} outlived the emulator"
    assert not Path(root).exists()


EMULATOR_WITH_A_JOB = """
import json, sys
from sm_bench_widgets.emulator import LocalServerless
from tests.emulator.test_processing_jobs import make_jobs
from tests.waiting import wait_until

emu = LocalServerless(time_scale=0.01).start()
jobs = make_jobs(emu, "processing-killed")
name = jobs.create("hang", upload="Continuous")
key = f"{name}/results/algo-1-pids.json"
wait_until(lambda: key in jobs.keys(f"{name}/"), 20, "the job did not start")
print(json.dumps([json.loads(jobs.read(key)), json.loads(jobs.read(
    f"{name}/results/algo-1.json"))["opt_ml"]]), flush=True)
sys.stdin.read()
"""


def test_a_killed_emulator_leaves_no_job_process_behind() -> None:
    repo = Path(__file__).parents[2]
    emulator = subprocess.Popen(
        [sys.executable, "-c", EMULATOR_WITH_A_JOB],
        cwd=repo,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert emulator.stdout is not None
        reported = json.loads(emulator.stdout.readline() or "null")
        assert reported, "the emulator process did not report its job's processes"
        pids, opt_ml = reported
        emulator.kill()
        emulator.wait(10)
        for pid in pids:  # the job's process and its child
            wait_until(lambda pid=pid: gone(pid), 10, f"process {pid} outlived a killed emulator")
        job_folder = Path(opt_ml).parents[2]  # <folder>/algo-1/opt/ml
        wait_until(lambda: not job_folder.exists(), 10, "a killed emulator's job folder is left")
    finally:
        if emulator.poll() is None:
            emulator.kill()
            emulator.wait(10)


@pytest.fixture
def sdk_session(emulator_env: str) -> Iterator[Any]:
    """A sagemaker-core Session whose clients reach the emulator (through AWS_ENDPOINT_URL)."""
    helper = pytest.importorskip("sagemaker.core.helper.session_helper")
    boto_session = boto3.Session(region_name="us-east-1")
    yield helper.Session(
        boto_session=boto_session,
        sagemaker_config={
            "SchemaVersion": "1.0",
            "SageMaker": {"PythonSDK": {"Modules": {"TelemetryOptOut": True}}},
        },
    )


def test_the_sagemaker_sdk_runs_gets_refreshes_and_waits_for_a_job(
    jobs: Jobs, sdk_session: Any
) -> None:
    processing = pytest.importorskip("sagemaker.core.processing")
    from sagemaker.core.resources import ProcessingJob
    from sagemaker.core.shapes import (
        ProcessingInput,
        ProcessingOutput,
        ProcessingS3Input,
        ProcessingS3Output,
    )

    processor = processing.Processor(
        role=ROLE,
        image_uri="123456789012.dkr.ecr.us-east-1.amazonaws.com/any:latest",
        instance_count=1,
        instance_type="ml.m5.large",
        entrypoint=["python3", f"{CODE_PATH}/{SCRIPT.name}"],
        env={"MODE": "done"},
        sagemaker_session=sdk_session,
    )
    name = f"sdk-job-{next(_names)}"
    processor.run(
        inputs=[
            ProcessingInput(
                input_name="code",
                s3_input=ProcessingS3Input(
                    s3_uri=jobs.uri(f"code/{SCRIPT.name}"),
                    local_path=CODE_PATH,
                    s3_data_type="S3Prefix",
                ),
            ),
            ProcessingInput(
                input_name="data",
                s3_input=ProcessingS3Input(
                    s3_uri=jobs.uri("data/"), local_path=DATA_PATH, s3_data_type="S3Prefix"
                ),
            ),
        ],
        outputs=[
            ProcessingOutput(
                output_name="results",
                s3_output=ProcessingS3Output(
                    s3_uri=jobs.uri(f"{name}/results"),
                    local_path=OUTPUT_PATH,
                    s3_upload_mode="Continuous",
                ),
            )
        ],
        arguments=["--input", DATA_PATH, "--output", OUTPUT_PATH],
        job_name=name,
        wait=False,
        logs=False,
    )
    job = ProcessingJob.get(name, session=sdk_session.boto_session, region="us-east-1")
    assert job.processing_job_name == name
    assert job.processing_job_status in ("InProgress", "Completed")
    job.wait(poll=1, timeout=JOB_TIMEOUT_S)
    job.refresh()
    assert job.processing_job_status == "Completed"
    assert job.processing_end_time is not None
    assert jobs.keys(f"{name}/results/") == [f"{name}/results/algo-1.json"]


def test_sdk_resource_classes_read_endpoints_configs_and_models(
    jobs: Jobs, sdk_session: Any
) -> None:
    from sagemaker.core.resources import Endpoint, EndpointConfig, Model

    name = f"sdk-config-{next(_names)}"
    jobs.sm.create_endpoint_config(
        EndpointConfigName=name,
        ProductionVariants=[
            {
                "VariantName": "AllTraffic",
                "ModelName": "demo-mlp",
                "ServerlessConfig": {"MemorySizeInMB": 2048, "MaxConcurrency": 1},
            }
        ],
    )
    jobs.sm.create_endpoint(EndpointName=name, EndpointConfigName=name)
    session = sdk_session.boto_session
    try:
        config = EndpointConfig.get(name, session=session, region="us-east-1")
        assert config.production_variants[0].serverless_config.memory_size_in_mb == 2048
        model = Model.get("demo-mlp", session=session, region="us-east-1")
        assert model.model_name == "demo-mlp"
        endpoint = Endpoint.get(name, session=session, region="us-east-1")
        endpoint.wait_for_status("InService", poll=1, timeout=JOB_TIMEOUT_S)
        assert endpoint.endpoint_status == "InService"
    finally:
        jobs.sm.delete_endpoint(EndpointName=name)
        jobs.sm.delete_endpoint_config(EndpointConfigName=name)
