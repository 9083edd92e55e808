"""The sagemaker SDK v3 ``ModelBuilder`` (``sagemaker-serve``) on ``sm-bench emulator``.

A model directory (a tiny weights file and an ``inference.py``) is deployed the way the SDK
documents for a script-mode model: the weights as ``model.tar.gz`` in S3, the code as
``SourceCode``, a first-party framework image. ``build()`` repacks code and weights into one
artifact (code under ``code/``) and creates the Model; ``deploy()`` with a
``ServerlessInferenceConfig`` creates the endpoint config and the endpoint. The emulator runs
the user's ``inference.py`` in a worker process. The SDK's session comes from
``sagemaker_session(url)``: ``build()`` needs ``default_bucket()``, which asks STS for the
account at a fixed URL that ``AWS_ENDPOINT_URL`` does not change.
"""

from __future__ import annotations

import importlib.util
import json
import tarfile
from pathlib import Path

import boto3
import pytest

from sm_bench_widgets.emulator import sagemaker_session
from tests.emulator.leftovers import leftovers, nothing_left

SERVE_MISSING = importlib.util.find_spec("sagemaker") is None or (
    importlib.util.find_spec("sagemaker.serve") is None
)

ROLE = "arn:aws:iam::123456789012:role/sm-bench-modelbuilder"
# the execution role's trust policy: build() checks that SageMaker may assume it
TRUST = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "sagemaker.amazonaws.com"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
)

INFERENCE_PY = '''\
"""A linear model: the weights file in the model directory, JSON in and out."""

import json
import os


def model_fn(model_dir):
    with open(os.path.join(model_dir, "weights.json")) as fh:
        return json.load(fh)


def input_fn(body, content_type):
    if content_type != "application/json":
        raise ValueError(f"unsupported content type {content_type}")
    return json.loads(body)["x"]


def predict_fn(x, model):
    return sum(w * v for w, v in zip(model["w"], x)) + model["b"]


def output_fn(y, accept):
    return json.dumps({"y": y, "served_by": "inference.py"}), "application/json"
'''


def _model_dir(root: Path) -> Path:
    """A model directory: the weights file and the inference script beside it."""
    model_dir = root / "linear"
    model_dir.mkdir()
    (model_dir / "weights.json").write_text(json.dumps({"w": [1.0, 2.0, 3.0], "b": 0.5}))
    (model_dir / "inference.py").write_text(INFERENCE_PY)
    return model_dir


def _upload_weights(session, model_dir: Path, bucket: str) -> str:
    """The weights packed as ``model.tar.gz`` in the emulator's S3; the S3 URL."""
    archive = model_dir.parent / "model.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(model_dir / "weights.json", arcname="weights.json")
    return session.upload_data(str(archive), bucket=bucket, key_prefix="modelbuilder/input")


def _empty_bucket(bucket: str) -> None:
    s3 = boto3.client("s3")
    for obj in s3.list_objects_v2(Bucket=bucket).get("Contents", []):
        s3.delete_object(Bucket=bucket, Key=obj["Key"])
    s3.delete_bucket(Bucket=bucket)


def test_simulate_principal_policy_allows_an_existing_role_and_rejects_a_missing_one(served_env):
    iam = boto3.client("iam")
    name = ROLE.rsplit("/", 1)[1]
    iam.create_role(RoleName=name, AssumeRolePolicyDocument=TRUST)
    answer = iam.simulate_principal_policy(
        PolicySourceArn=ROLE, ActionNames=["ecr:GetAuthorizationToken", "s3:GetObject"]
    )
    assert [(r["EvalActionName"], r["EvalDecision"]) for r in answer["EvaluationResults"]] == [
        ("ecr:GetAuthorizationToken", "allowed"),
        ("s3:GetObject", "allowed"),
    ]
    assert answer["IsTruncated"] is False
    iam.delete_role(RoleName=name)
    with pytest.raises(iam.exceptions.NoSuchEntityException):
        iam.simulate_principal_policy(PolicySourceArn=ROLE, ActionNames=["s3:GetObject"])
    assert iam.list_roles()["Roles"] == []


@pytest.mark.skipif(
    SERVE_MISSING,
    reason="ModelBuilder needs sagemaker-serve, which the test extra does not install "
    "(its mlflow needs pyarrow<26, below the pinned 26.0.1)",
)
def test_modelbuilder_deploys_a_serverless_endpoint_from_a_model_directory(served_env, tmp_path):
    # imported here, with the environment at the emulator: importing sagemaker.serve
    # creates a boto3 sagemaker client at class definition (sagemaker.ai_registry.air_hub)
    from sagemaker.core import image_uris
    from sagemaker.core.inference_config import ServerlessInferenceConfig
    from sagemaker.core.resources import Endpoint, EndpointConfig, Model
    from sagemaker.core.training.configs import SourceCode
    from sagemaker.serve import ModelBuilder
    from sagemaker.serve.mode.function_pointers import Mode

    iam = boto3.client("iam")
    iam.create_role(RoleName=ROLE.rsplit("/", 1)[1], AssumeRolePolicyDocument=TRUST)
    session = sagemaker_session(served_env["AWS_ENDPOINT_URL"])
    bucket = session.default_bucket()
    model_dir = _model_dir(tmp_path)
    builder = ModelBuilder(
        s3_model_data_url=_upload_weights(session, model_dir, bucket),
        source_code=SourceCode(source_dir=str(model_dir), entry_script="inference.py"),
        image_uri=image_uris.retrieve(
            "sklearn", region="us-east-1", version="1.4-2-py312", image_scope="inference"
        ),
        role_arn=ROLE,
        sagemaker_session=session,
        mode=Mode.SAGEMAKER_ENDPOINT,
    )

    model = builder.build(model_name="mb-linear")
    described = boto3.client("sagemaker").describe_model(ModelName="mb-linear")
    env = described["PrimaryContainer"]["Environment"]
    assert env["SAGEMAKER_PROGRAM"] == "inference.py"
    assert env["SAGEMAKER_SUBMIT_DIRECTORY"] == "/opt/ml/model/code"

    endpoint = builder.deploy(
        endpoint_name="mb-linear",
        inference_config=ServerlessInferenceConfig(memory_size_in_mb=2048, max_concurrency=2),
    )
    assert isinstance(endpoint, Endpoint)
    assert endpoint.refresh().endpoint_status == "InService"
    config = EndpointConfig.get(endpoint_config_name=endpoint.endpoint_config_name)
    serverless = config.production_variants[0].serverless_config
    assert (serverless.memory_size_in_mb, serverless.max_concurrency) == (2048, 2)

    answer = endpoint.invoke(
        body=json.dumps({"x": [1, 1, 1]}),
        content_type="application/json",
        accept="application/json",
    )
    assert json.loads(answer.body.read()) == {"y": 6.5, "served_by": "inference.py"}

    endpoint.delete()
    endpoint.wait_for_delete(poll=1, timeout=60)
    config.delete()
    Model.get(model_name=model.model_name).delete()
    _empty_bucket(bucket)
    iam.delete_role(RoleName=ROLE.rsplit("/", 1)[1])
    assert leftovers() == nothing_left()
    assert boto3.client("s3").list_buckets()["Buckets"] == []
    assert iam.list_roles()["Roles"] == []
