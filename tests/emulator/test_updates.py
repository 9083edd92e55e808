"""UpdateEndpoint and UpdateEndpointWeightsAndCapacities on the emulator, and config snapshots."""

from __future__ import annotations

import contextlib

import pytest
from botocore.exceptions import ClientError

from sm_bench_widgets.emulator import LocalServerless, ModelProfile
from sm_bench_widgets.emulator.clock import Clock, SeededRandom
from sm_bench_widgets.emulator.pool import EndpointPool, VariantSettings
from sm_bench_widgets.emulator.profiles import DEMO_PROFILES
from sm_bench_widgets.emulator.runtimes import ProfileSpec
from tests.emulator.awsutil import burst, deploy, error_code, invoke, setup_us, unique, wait
from tests.waiting import wait_until

# 40 s of emulated compute per request (0.4 s real at the test time scale): a burst overlaps
SLOW = ModelProfile(
    base_ms_at_1vcpu=40_000, cold_start_ms=1000, sigma=0.0, cold_start_sigma=0.0, footprint_mb=200
)


@pytest.fixture(scope="module")
def slow_model(emulator: LocalServerless) -> str:
    return emulator.register_profile_model("test-slow-updates", SLOW)


def _config(aws, name, memory=1024, max_concurrency=2, provisioned=0, model="demo-tabular"):
    serverless = {"MemorySizeInMB": memory, "MaxConcurrency": max_concurrency}
    if provisioned:
        serverless["ProvisionedConcurrency"] = provisioned
    aws.sm.create_endpoint_config(
        EndpointConfigName=name,
        ProductionVariants=[
            {"VariantName": "AllTraffic", "ModelName": model, "ServerlessConfig": serverless}
        ],
    )
    return name


def _cleanup(aws, endpoint, *configs):
    aws.sm.delete_endpoint(EndpointName=endpoint)
    for config in configs:
        with contextlib.suppress(ClientError):
            aws.sm.delete_endpoint_config(EndpointConfigName=config)


def _serverless_update(aws, name, **update):
    return aws.sm.update_endpoint_weights_and_capacities(
        EndpointName=name,
        DesiredWeightsAndCapacities=[
            {"VariantName": "AllTraffic", "ServerlessUpdateConfig": update}
        ],
    )


def test_update_endpoint_switches_config_with_cold_new_instances(aws, emulator):
    name = deploy(aws, "demo-tabular", provisioned=1, max_concurrency=2)
    first = name
    new = _config(aws, unique("upd-new"), memory=2048, max_concurrency=3)
    assert setup_us(invoke(aws, name)) is None  # served warm by the provisioned instance
    aws.sm.update_endpoint(EndpointName=name, EndpointConfigName=new)
    assert aws.sm.describe_endpoint(EndpointName=name)["EndpointStatus"] == "Updating"
    invoke(aws, name)  # the old instances serve while it updates
    wait(aws, name)
    described = aws.sm.describe_endpoint(EndpointName=name)
    assert described["EndpointStatus"] == "InService"
    assert described["EndpointConfigName"] == new
    assert described["ProductionVariants"][0]["CurrentServerlessConfig"] == {
        "MemorySizeInMB": 2048,
        "MaxConcurrency": 3,
    }
    assert emulator.dataplane.instance_count("us-east-1", name) == 0  # old ones drained
    assert setup_us(invoke(aws, name)) is not None  # a new instance: cold
    _cleanup(aws, name, first, new)


def test_update_to_a_missing_config_or_while_updating_is_refused(aws):
    name = deploy(aws, "demo-tabular")
    with pytest.raises(ClientError) as missing:
        aws.sm.update_endpoint(EndpointName=name, EndpointConfigName="no-such-config")
    assert error_code(missing.value) == "ValidationException"
    assert 'Could not find endpoint configuration "arn:aws:sagemaker:' in str(missing.value)
    new = _config(aws, unique("upd-busy"))
    aws.sm.update_endpoint(EndpointName=name, EndpointConfigName=new)
    with pytest.raises(ClientError) as busy:
        aws.sm.update_endpoint(EndpointName=name, EndpointConfigName=new)
    assert "Cannot update in-progress endpoint" in str(busy.value)
    with pytest.raises(ClientError) as unknown:
        aws.sm.update_endpoint(EndpointName="no-such-endpoint", EndpointConfigName=new)
    assert 'Could not find endpoint "arn:aws:sagemaker:' in str(unknown.value)
    wait(aws, name)
    _cleanup(aws, name, name, new)


def test_a_failed_update_rolls_back_and_keeps_serving(aws):
    name = deploy(aws, "demo-tabular")
    model = unique("unrunnable")
    aws.sm.create_model(
        ModelName=model,
        ExecutionRoleArn="arn:aws:iam::123456789012:role/r",
        PrimaryContainer={"Image": "example.com/not-runnable:latest"},
    )
    bad = _config(aws, unique("upd-bad"), model=model)
    aws.sm.update_endpoint(EndpointName=name, EndpointConfigName=bad)
    wait(aws, name)
    described = aws.sm.describe_endpoint(EndpointName=name)
    assert described["EndpointConfigName"] == name
    assert "cannot run model" in described["FailureReason"]
    invoke(aws, name)
    _cleanup(aws, name, name, bad)
    aws.sm.delete_model(ModelName=model)


def test_serverless_update_changes_concurrency_in_place(aws, emulator, slow_model):
    name = deploy(aws, slow_model, max_concurrency=1)
    _serverless_update(aws, name, MaxConcurrency=3, ProvisionedConcurrency=2)
    assert aws.sm.describe_endpoint(EndpointName=name)["EndpointStatus"] == "Updating"
    wait(aws, name)
    variant = aws.sm.describe_endpoint(EndpointName=name)["ProductionVariants"][0]
    assert variant["CurrentServerlessConfig"]["MaxConcurrency"] == 3
    assert variant["CurrentServerlessConfig"]["ProvisionedConcurrency"] == 2
    assert emulator.dataplane.instance_count("us-east-1", name) >= 2  # provisioned, warm
    outcomes = [code for code, _ in burst(aws, name, 3)]
    assert outcomes.count("ok") == 3, outcomes
    # the endpoint changed, not its endpoint config
    config = aws.sm.describe_endpoint_config(EndpointConfigName=name)
    assert config["ProductionVariants"][0]["ServerlessConfig"]["MaxConcurrency"] == 1
    _serverless_update(aws, name, ProvisionedConcurrency=1)
    wait(aws, name)
    outcomes = [code for code, _ in burst(aws, name, 5)]
    assert outcomes.count("ThrottlingException") >= 2, outcomes
    _cleanup(aws, name, name)


@pytest.mark.parametrize(
    ("update", "message"),
    [
        (
            {"MaxConcurrency": 201},
            "Value '201' at 'desiredWeightsAndCapacities.1.member.serverlessUpdateConfig."
            "maxConcurrency' failed to satisfy constraint: Member must have value less than "
            "or equal to 200",
        ),
        (
            {"MaxConcurrency": 200, "ProvisionedConcurrency": 201},
            "Value '201' at 'desiredWeightsAndCapacities.1.member.serverlessUpdateConfig."
            "provisionedConcurrency' failed to satisfy constraint: Member must have value "
            "less than or equal to 200",
        ),
        (
            {"ProvisionedConcurrency": 3},
            "ProvisionedConcurrency (3) of variant AllTraffic must be less than or equal to "
            "MaxConcurrency (2).",
        ),
    ],
)
def test_serverless_update_is_validated_as_aws_does(aws, update, message):
    name = deploy(aws, "demo-tabular", max_concurrency=2)
    with pytest.raises(ClientError) as err:
        _serverless_update(aws, name, **update)
    assert error_code(err.value) == "ValidationException"
    assert message in str(err.value)
    assert aws.sm.describe_endpoint(EndpointName=name)["EndpointStatus"] == "InService"
    _cleanup(aws, name, name)


def test_serverless_update_of_an_unknown_variant_is_refused(aws):
    name = deploy(aws, "demo-tabular")
    with pytest.raises(ClientError) as err:
        aws.sm.update_endpoint_weights_and_capacities(
            EndpointName=name,
            DesiredWeightsAndCapacities=[
                {"VariantName": "Other", "ServerlessUpdateConfig": {"MaxConcurrency": 2}}
            ],
        )
    assert error_code(err.value) == "ValidationException"
    _cleanup(aws, name, name)


def test_deleting_the_config_of_an_in_service_endpoint_keeps_it_serving(aws):
    name = deploy(aws, "demo-tabular", provisioned=1)
    aws.sm.delete_endpoint_config(EndpointConfigName=name)
    assert 0 < float(invoke(aws, name)["Body"]) < 1
    described = aws.sm.describe_endpoint(EndpointName=name)
    assert described["EndpointStatus"] == "InService"
    assert described["ProductionVariants"][0]["CurrentServerlessConfig"]["MemorySizeInMB"]
    aws.sm.delete_endpoint(EndpointName=name)


def test_a_drained_pool_lets_a_running_request_finish():
    clock = Clock(0.01)
    settings = VariantSettings("AllTraffic", 1024, max_concurrency=2)
    spec = ProfileSpec(name="m", profile=DEMO_PROFILES["demo-tabular"])
    pool = EndpointPool(spec, settings, clock, SeededRandom(1, "drain"), idle_timeout_s=300)
    busy = pool.acquire()
    idle = pool.acquire()
    pool.release(idle)
    assert pool.instance_count == 2
    pool.drain()
    assert pool.instance_count == 1  # the idle one stopped, the busy one still running
    answer = busy.instance.runtime.invoke(b"1,2,3,4", "text/csv", "")
    assert answer.body
    pool.release(busy)
    assert pool.instance_count == 0


def test_list_metrics_lists_each_metric_once(aws):
    name = deploy(aws, "demo-tabular")
    for _ in range(5):
        invoke(aws, name)
    dims = [{"Name": "EndpointName", "Value": name}]

    def listed():
        pages = aws.cw.get_paginator("list_metrics").paginate(
            Namespace="AWS/SageMaker", Dimensions=dims
        )
        return [m["MetricName"] for page in pages for m in page["Metrics"]]

    wait_until(lambda: "Invocations" in listed(), 20, "the Invocations metric to be listed")
    names = listed()
    assert names.count("Invocations") == 1
    assert len(names) == len(set(names))
    aws.sm.delete_endpoint(EndpointName=name)
    aws.sm.delete_endpoint_config(EndpointConfigName=name)
