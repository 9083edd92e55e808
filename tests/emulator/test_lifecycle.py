"""Endpoint lifecycle over HTTP: create, wait, invoke, delete, and the errors around it."""

from __future__ import annotations

import boto3
import pytest
from botocore.exceptions import ClientError, WaiterError

from sm_bench_widgets.emulator import LocalServerless
from tests.conftest import TEST_TIME_SCALE
from tests.emulator.awsutil import (
    clients,
    create,
    deploy,
    error_code,
    invoke,
    unique,
    wait,
)
from tests.waiting import wait_until


def test_create_wait_invoke_delete(aws):
    name = unique("life")
    create(aws, name, "demo-tabular", memory=1024, max_concurrency=2)
    first = aws.sm.describe_endpoint(EndpointName=name)
    assert first["EndpointStatus"] == "Creating"
    variant = first["ProductionVariants"][0]
    assert variant["CurrentServerlessConfig"] == {"MemorySizeInMB": 1024, "MaxConcurrency": 2}

    wait(aws, name)
    assert aws.sm.describe_endpoint(EndpointName=name)["EndpointStatus"] == "InService"

    resp = invoke(aws, name, b"1,2,3,4\n")
    assert resp["ContentType"] == "text/csv"
    assert resp["InvokedProductionVariant"] == "AllTraffic"
    assert 0.0 < float(resp["Body"].decode().strip()) < 1.0

    aws.sm.delete_endpoint(EndpointName=name)
    aws.sm.delete_endpoint_config(EndpointConfigName=name)
    with pytest.raises(ClientError) as gone:
        aws.sm.describe_endpoint(EndpointName=name)
    assert error_code(gone.value) == "ValidationException"
    with pytest.raises(ClientError) as after:
        invoke(aws, name)
    assert error_code(after.value) == "ValidationError"


def test_unknown_endpoint_is_a_validation_error(aws, emulator):
    with pytest.raises(ClientError) as err:
        invoke(aws, "no-such-endpoint")
    assert error_code(err.value) == "ValidationError"
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    message = err.value.response["Error"]["Message"]
    assert message == f"Endpoint no-such-endpoint of account {emulator.account} not found."


def test_endpoint_not_in_service_cannot_be_invoked():
    # creation takes 10 s of wall time here, so the invocation surely meets it Creating
    with LocalServerless(time_scale=TEST_TIME_SCALE, creation_delay=1000) as slow:
        _creating_endpoint_refuses_invocations(clients(slow))


def _creating_endpoint_refuses_invocations(aws) -> None:
    name = unique("creating")
    create(aws, name, "demo-tabular")
    assert aws.sm.describe_endpoint(EndpointName=name)["EndpointStatus"] == "Creating"
    with pytest.raises(ClientError) as err:
        invoke(aws, name)
    assert error_code(err.value) == "ValidationError"
    assert "not found" in err.value.response["Error"]["Message"]
    wait(aws, name)
    assert invoke(aws, name)["Body"]


def test_model_the_emulator_cannot_run_fails_creation(aws):
    model = unique("image-only")
    aws.sm.create_model(
        ModelName=model,
        ExecutionRoleArn="arn:aws:iam::123456789012:role/x",
        PrimaryContainer={"Image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/mine:1"},
    )
    name = unique("fails")
    create(aws, name, model)
    with pytest.raises(WaiterError):
        wait(aws, name)
    desc = aws.sm.describe_endpoint(EndpointName=name)
    assert desc["EndpointStatus"] == "Failed"
    assert "cannot run model" in desc["FailureReason"]
    with pytest.raises(ClientError) as err:
        invoke(aws, name)
    assert error_code(err.value) == "ValidationError"


def test_demo_models_exist_in_any_region(emulator):
    aws = clients(emulator, region="ap-southeast-2")
    names = {m["ModelName"] for m in aws.sm.list_models()["Models"]}
    assert {"demo-tabular", "demo-nlp"} <= names
    name = deploy(aws, "demo-tabular")
    arn = aws.sm.describe_endpoint(EndpointName=name)["EndpointArn"]
    assert arn.startswith(f"arn:aws:sagemaker:ap-southeast-2:{emulator.account}:endpoint/")
    assert invoke(aws, name)["Body"]


def test_two_emulators_keep_separate_state(emulator, fresh_emulator):
    a, b = clients(emulator), clients(fresh_emulator)
    name = deploy(a, "demo-tabular")
    assert name not in {e["EndpointName"] for e in b.sm.list_endpoints()["Endpoints"]}
    with pytest.raises(ClientError):
        invoke(b, name)
    assert invoke(a, name)["Body"]
    sts = boto3.client(
        "sts",
        endpoint_url=fresh_emulator.endpoint_url,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    assert sts.get_caller_identity()["Account"] == fresh_emulator.account != emulator.account


def test_reset_forgets_endpoints_but_keeps_registered_models(fresh_emulator):
    aws = clients(fresh_emulator)
    name = deploy(aws, "demo-tabular")
    fresh_emulator.reset()
    assert aws.sm.list_endpoints()["Endpoints"] == []
    with pytest.raises(ClientError):
        invoke(aws, name)
    assert "demo-tabular" in {m["ModelName"] for m in aws.sm.list_models()["Models"]}


def test_tags_and_listing_come_from_moto(aws):
    name = unique("tagged")
    aws.sm.create_endpoint_config(
        EndpointConfigName=name,
        ProductionVariants=[
            {
                "VariantName": "AllTraffic",
                "ModelName": "demo-tabular",
                "ServerlessConfig": {"MemorySizeInMB": 2048, "MaxConcurrency": 1},
            }
        ],
        Tags=[{"Key": "sm-bench-widgets:tool", "Value": "sm-bench-widgets"}],
    )
    aws.sm.create_endpoint(
        EndpointName=name,
        EndpointConfigName=name,
        Tags=[{"Key": "sm-bench-widgets:tool", "Value": "sm-bench-widgets"}],
    )
    arn = aws.sm.describe_endpoint(EndpointName=name)["EndpointArn"]
    assert aws.sm.list_tags(ResourceArn=arn)["Tags"] == [
        {"Key": "sm-bench-widgets:tool", "Value": "sm-bench-widgets"}
    ]
    assert name in {e["EndpointName"] for e in aws.sm.list_endpoints()["Endpoints"]}


@pytest.mark.parametrize(
    ("serverless", "fragment"),
    [
        ({"MemorySizeInMB": 2048, "MaxConcurrency": 201}, "less than or equal to 200"),
        (
            {"MemorySizeInMB": 2048, "MaxConcurrency": 2, "ProvisionedConcurrency": 3},
            "must be less than or equal to MaxConcurrency",
        ),
        ({"MemorySizeInMB": 1500, "MaxConcurrency": 2}, "MemorySizeInMB"),
    ],
)
def test_invalid_serverless_config_is_refused(aws, serverless, fragment):
    name = unique("invalid")
    with pytest.raises(ClientError) as err:
        aws.sm.create_endpoint_config(
            EndpointConfigName=name,
            ProductionVariants=[
                {
                    "VariantName": "AllTraffic",
                    "ModelName": "demo-tabular",
                    "ServerlessConfig": serverless,
                }
            ],
        )
    assert error_code(err.value) == "ValidationException"
    assert fragment in err.value.response["Error"]["Message"]
    names = {c["EndpointConfigName"] for c in aws.sm.list_endpoint_configs()["EndpointConfigs"]}
    assert name not in names


def test_endpoint_deleted_while_creating_stays_deleted(aws, emulator):
    name = unique("short-lived")
    create(aws, name, "demo-tabular")
    aws.sm.delete_endpoint(EndpointName=name)
    wait_until(
        lambda: not emulator.lifecycle.creating(name),
        30,
        f"the emulator did not finish bringing up {name}",
    )
    assert name not in {e["EndpointName"] for e in aws.sm.list_endpoints()["Endpoints"]}
    aws.sm.create_endpoint(EndpointName=name, EndpointConfigName=name)
    wait(aws, name)
    assert invoke(aws, name)["Body"]


def test_reset_while_creating_leaves_no_instances(fresh_emulator):
    aws = clients(fresh_emulator)
    name = unique("reset-creating")
    create(aws, name, "demo-tabular", provisioned=1)
    fresh_emulator.reset()
    wait_until(
        lambda: not fresh_emulator.lifecycle.creating(name),
        30,
        f"the emulator did not finish bringing up {name}",
    )
    assert aws.sm.list_endpoints()["Endpoints"] == []
    # the endpoint being brought up when moto forgot it must not keep its warm instance
    assert fresh_emulator.dataplane._pools == {}
