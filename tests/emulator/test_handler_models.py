"""User inference scripts behind endpoints over HTTP: real cold starts, real processes."""

from __future__ import annotations

import io
import json
import tarfile
import textwrap
import time

import boto3
import psutil
import pytest
from botocore.exceptions import ClientError, WaiterError

from sm_bench_widgets.emulator import LocalServerless
from tests.emulator.awsutil import (
    clients,
    create,
    deploy,
    error_code,
    invoke,
    setup_us,
    unique,
    wait,
)
from tests.waiting import wait_until

SCRIPT = """
import json
import time

import numpy as np

def model_fn(model_dir):
    time.sleep(0.4)  # a slow model load: the cold start must include it
    return {"scale": 2.0}

def input_fn(body, content_type):
    if content_type != "application/json":
        raise ValueError("only application/json, please")
    return np.asarray(json.loads(body)["instances"], dtype=float)

def predict_fn(data, model):
    if data.size and data[0, 0] < 0:
        raise RuntimeError("negative first feature")
    return data.sum(axis=1) * model["scale"]

def output_fn(prediction, accept):
    return json.dumps({"predictions": prediction.tolist()}), "application/json"
"""


@pytest.fixture(scope="module")
def script_dir(tmp_path_factory) -> str:
    path = tmp_path_factory.mktemp("handler")
    (path / "serve.py").write_text(textwrap.dedent(SCRIPT))
    return str(path)


def workers_of(pid: int) -> set[int]:
    return {p.pid for p in psutil.Process(pid).children(recursive=True)}


def test_registered_handler_has_a_real_cold_start_then_warm(aws, emulator, script_dir):
    model = emulator.register_handler_model(unique("handler"), script_dir, program="serve.py")
    name = deploy(aws, model, memory=2048, max_concurrency=1)
    body = json.dumps({"instances": [[1, 2], [3, 4]]}).encode()
    started = time.perf_counter()
    cold = invoke(aws, name, body, "application/json")
    assert time.perf_counter() - started >= 0.4
    assert json.loads(cold["Body"]) == {"predictions": [6.0, 14.0]}
    assert setup_us(cold) >= 400_000  # process start + imports + model_fn, not time-scaled
    warm = invoke(aws, name, body, "application/json")
    assert setup_us(warm) is None
    assert json.loads(warm["Body"]) == {"predictions": [6.0, 14.0]}


def test_model_created_through_boto3_with_sagemaker_env(aws, emulator, script_dir):
    before = workers_of(psutil.Process().pid)
    for location in (f"file://{script_dir}", script_dir):
        model = unique("byo")
        aws.sm.create_model(
            ModelName=model,
            ExecutionRoleArn="arn:aws:iam::123456789012:role/x",
            PrimaryContainer={
                "Image": "763104351884.dkr.ecr.us-east-1.amazonaws.com/sklearn-inference:1.2",
                "Environment": {
                    "SAGEMAKER_PROGRAM": "serve.py",
                    "SAGEMAKER_SUBMIT_DIRECTORY": location,
                },
            },
        )
        name = deploy(aws, model, memory=1024, max_concurrency=1)
        resp = invoke(aws, name, b'{"instances": [[0.5, 0.5]]}', "application/json")
        assert json.loads(resp["Body"]) == {"predictions": [2.0]}
        started = workers_of(psutil.Process().pid) - before
        assert started  # a worker process serves the endpoint
        aws.sm.delete_endpoint(EndpointName=name)
        wait_until(  # deleting stops it
            lambda started=started: not workers_of(psutil.Process().pid) & started,
            30,
            f"the workers {sorted(started)} still run after their endpoint was deleted",
        )


def test_handler_errors_become_model_errors(aws, emulator, script_dir):
    model = emulator.register_handler_model(unique("handler"), script_dir, program="serve.py")
    name = deploy(aws, model, memory=2048, max_concurrency=1)
    with pytest.raises(ClientError) as err:
        invoke(aws, name, b'{"instances": [[-1, 2]]}', "application/json")
    assert error_code(err.value) == "ModelError"
    assert err.value.response["OriginalStatusCode"] == 500
    assert "negative first feature" in err.value.response["OriginalMessage"]
    # the instance survives its handler's exception and serves the next request warm
    ok = invoke(aws, name, b'{"instances": [[1, 2]]}', "application/json")
    assert setup_us(ok) is None


@pytest.mark.parametrize(
    ("location", "reason"),
    [
        ("s3://no-such-bucket/code.tar.gz", "emulator's S3"),
        ("https://example.com/code.tar.gz", "local directory"),
        ("/nonexistent/code", "does not exist"),
    ],
)
def test_code_the_emulator_cannot_reach_fails_the_endpoint(aws, location, reason):
    model = unique("unreachable")
    aws.sm.create_model(
        ModelName=model,
        ExecutionRoleArn="arn:aws:iam::123456789012:role/x",
        PrimaryContainer={
            "Image": "x",
            "Environment": {
                "SAGEMAKER_PROGRAM": "inference.py",
                "SAGEMAKER_SUBMIT_DIRECTORY": location,
            },
        },
    )
    name = unique("unreachable")
    create(aws, name, model)
    with pytest.raises(WaiterError):
        wait(aws, name)
    desc = aws.sm.describe_endpoint(EndpointName=name)
    assert desc["EndpointStatus"] == "Failed"
    assert reason in desc["FailureReason"]


def test_provisioned_handler_instances_start_during_creation(aws, emulator, script_dir):
    model = emulator.register_handler_model(unique("handler"), script_dir, program="serve.py")
    name = deploy(aws, model, memory=2048, max_concurrency=2, provisioned=1)
    resp = invoke(aws, name, b'{"instances": [[1, 1]]}', "application/json")
    assert setup_us(resp) is None
    assert json.loads(resp["Body"]) == {"predictions": [4.0]}


ARTIFACT_SCRIPT = """
import json
import os

def model_fn(model_dir):
    with open(os.path.join(model_dir, "scale.txt")) as fh:
        return float(fh.read())

def predict_fn(data, model):  # the default input_fn gives a numpy array
    return [model * float(sum(row)) for row in data]
"""


def tarball(files: dict[str, str]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as archive:
        for path, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(path)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def test_code_and_model_from_the_emulators_s3(aws, emulator):
    s3 = boto3.client(
        "s3",
        endpoint_url=emulator.endpoint_url,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    bucket = unique("artifacts")
    s3.create_bucket(Bucket=bucket)
    script = textwrap.dedent(ARTIFACT_SCRIPT)
    s3.put_object(
        Bucket=bucket,
        Key="model.tar.gz",
        Body=tarball({"scale.txt": "3", "code/inference.py": script}),
    )
    s3.put_object(Bucket=bucket, Key="sourcedir.tar.gz", Body=tarball({"inference.py": script}))
    layouts = {
        # the SageMaker SDK's framework models: code inside model.tar.gz
        "in-model": {"SAGEMAKER_SUBMIT_DIRECTORY": "/opt/ml/model/code"},
        # code uploaded on its own as sourcedir.tar.gz
        "sourcedir": {"SAGEMAKER_SUBMIT_DIRECTORY": f"s3://{bucket}/sourcedir.tar.gz"},
    }
    for layout, env in layouts.items():
        model = unique(layout)
        aws.sm.create_model(
            ModelName=model,
            ExecutionRoleArn="arn:aws:iam::123456789012:role/x",
            PrimaryContainer={
                "Image": "x",
                "ModelDataUrl": f"s3://{bucket}/model.tar.gz",
                "Environment": {"SAGEMAKER_PROGRAM": "inference.py", **env},
            },
        )
        name = deploy(aws, model, memory=1024, max_concurrency=1)
        resp = invoke(aws, name, b"[[1, 1]]", "application/json")
        assert json.loads(resp["Body"]) == [6.0], layout


def test_stopping_the_emulator_stops_its_workers(script_dir):
    me = psutil.Process().pid
    before = workers_of(me)
    with LocalServerless(time_scale=0.01) as emu:
        aws = clients(emu)
        model = emu.register_handler_model("mine", script_dir, program="serve.py")
        name = deploy(aws, model, memory=1024, max_concurrency=1)
        invoke(aws, name, b'{"instances": [[1]]}', "application/json")
        started = workers_of(me) - before
        assert started
    wait_until(
        lambda: not workers_of(me) & started,
        30,
        f"the workers {sorted(started)} still run after the emulator stopped",
    )
