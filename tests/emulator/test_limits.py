"""Memory, payload and time limits over HTTP, and compute that scales with memory."""

from __future__ import annotations

import statistics

import pytest
from botocore.exceptions import ClientError

from sm_bench_widgets.emulator import ModelProfile
from tests.emulator.awsutil import deploy, error_code, invoke

FOUR_MB = 4 * 1024 * 1024


def model_ms(resp: dict) -> float:
    return int(resp["ResponseMetadata"]["HTTPHeaders"]["x-sm-bench-model-latency-us"]) / 1000


def test_model_that_does_not_fit_fails_with_insufficient_memory(aws):
    name = deploy(aws, "demo-nlp", memory=1024, max_concurrency=1)
    with pytest.raises(ClientError) as err:
        invoke(aws, name)
    assert error_code(err.value) == "ModelError"
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 424
    assert "insufficient memory" in err.value.response["Error"]["Message"].lower()
    assert "MemorySizeInMB=1024" in err.value.response["OriginalMessage"]
    assert err.value.response["LogStreamArn"].endswith(f"/aws/sagemaker/Endpoints/{name}")

    bigger = deploy(aws, "demo-nlp", memory=2048, max_concurrency=1)
    assert invoke(aws, bigger)["Body"]


def test_request_over_4_mb_is_a_validation_error(aws):
    name = deploy(aws, "demo-tabular")
    row = b",".join([b"1"] * 64) + b"\n"  # 128 bytes in, 9 bytes out per row
    body = row * (FOUR_MB // len(row) + 1)
    with pytest.raises(ClientError) as err:
        invoke(aws, name, body)
    assert error_code(err.value) == "ValidationError"
    assert "4 MB" in err.value.response["Error"]["Message"]
    just_under = row * (FOUR_MB // len(row))
    assert len(just_under) <= FOUR_MB
    ok = invoke(aws, name, just_under)
    assert ok["Body"].count(b"\n") == len(just_under) // len(row)


def test_response_over_4_mb_is_a_validation_error(aws, emulator):
    emulator.register_profile_model(
        "test-rows", ModelProfile(base_ms_at_1vcpu=1, sigma=0, footprint_mb=100)
    )
    name = deploy(aws, "test-rows")
    rows = 600_000  # 1.2 MB of "1\n" in, 600k lines of "0.xxxxxx\n" (5.4 MB) out
    with pytest.raises(ClientError) as err:
        invoke(aws, name, b"1\n" * rows)
    assert error_code(err.value) == "ValidationError"
    assert "Response payload" in err.value.response["Error"]["Message"]


def test_model_slower_than_60_s_times_out_as_aws(aws, emulator):
    emulator.register_profile_model(
        "test-61s", ModelProfile(base_ms_at_1vcpu=61_000, sigma=0, cold_start_ms=0)
    )
    name = deploy(aws, "test-61s", memory=2048)
    with pytest.raises(ClientError) as err:
        invoke(aws, name)
    assert error_code(err.value) == "ModelError"
    assert err.value.response["OriginalStatusCode"] == 0
    assert "timed out" in err.value.response["Error"]["Message"]


def test_compute_scales_with_memory_up_to_what_the_model_uses(aws):
    def median_ms(model: str, memory: int) -> float:
        name = deploy(aws, model, memory=memory, max_concurrency=1)
        return statistics.median(model_ms(invoke(aws, name)) for _ in range(7))

    nlp = {m: median_ms("demo-nlp", m) for m in (2048, 4096, 6144)}
    # multi-threaded: faster with more memory (vCPUs), gaining less each step
    assert nlp[2048] > nlp[4096] > nlp[6144]
    assert nlp[2048] - nlp[4096] > nlp[4096] - nlp[6144]
    assert 200 < nlp[2048] < 450
    tab = {m: median_ms("demo-tabular", m) for m in (1024, 2048, 6144)}
    # single-threaded: below one vCPU it slows down, above it stops gaining
    assert tab[1024] > 1.4 * tab[2048]
    assert abs(tab[2048] - tab[6144]) < 0.25 * tab[2048]


# -- account quotas ------------------------------------------------------------------------
@pytest.fixture
def small_account():
    """An emulator whose account holds 10 total MaxConcurrency and 3 serverless endpoints."""
    from sm_bench_widgets.emulator import LocalServerless
    from tests.conftest import TEST_SEED, TEST_TIME_SCALE

    with LocalServerless(
        time_scale=TEST_TIME_SCALE,
        seed=TEST_SEED,
        account_max_concurrency=10,
        account_max_endpoints=3,
    ) as emu:
        yield emu


def test_total_concurrency_quota_counts_every_endpoint_of_the_account(small_account):
    from tests.emulator.awsutil import clients, create

    aws = clients(small_account)
    create(aws, "not-a-benchmark", "demo-nlp", max_concurrency=6)  # made by another tool
    with pytest.raises(ClientError) as err:
        create(aws, "too-much", "demo-nlp", max_concurrency=5)
    assert error_code(err.value) == "ResourceLimitExceeded"
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    message = err.value.response["Error"]["Message"]
    assert "'Maximum total concurrency that can be allocated across all serverless endpoints'" in (
        message
    )
    assert "is 10, with current utilization of 6 and a request delta of 5" in message
    names = [e["EndpointName"] for e in aws.sm.list_endpoints()["Endpoints"]]
    assert names == ["not-a-benchmark"]  # refused before anything was made
    create(aws, "fits", "demo-nlp", max_concurrency=4)  # 6 + 4 = 10: allowed
    aws.sm.delete_endpoint(EndpointName="not-a-benchmark")
    aws.sm.create_endpoint(EndpointName="too-much", EndpointConfigName="too-much")  # freed


def test_endpoint_quota_counts_serverless_variants(small_account):
    from tests.emulator.awsutil import clients, create

    aws = clients(small_account)
    for i in range(3):
        create(aws, f"one-{i}", "demo-tabular", max_concurrency=1)
    with pytest.raises(ClientError) as err:
        create(aws, "fourth", "demo-tabular", max_concurrency=1)
    assert error_code(err.value) == "ResourceLimitExceeded"
    assert "'Maximum number of serverless endpoints' is 3" in err.value.response["Error"]["Message"]


def test_updates_that_raise_capacity_past_the_quota_are_refused(small_account):
    from tests.emulator.awsutil import clients, create, wait

    aws = clients(small_account)
    create(aws, "grows", "demo-tabular", max_concurrency=4)
    create(aws, "other", "demo-tabular", max_concurrency=4)
    wait(aws, "grows")
    resize = dict(
        EndpointName="grows",
        DesiredWeightsAndCapacities=[
            {"VariantName": "AllTraffic", "ServerlessUpdateConfig": {"MaxConcurrency": 7}}
        ],
    )
    with pytest.raises(ClientError) as err:
        aws.sm.update_endpoint_weights_and_capacities(**resize)
    assert error_code(err.value) == "ResourceLimitExceeded"
    assert aws.sm.describe_endpoint(EndpointName="grows")["EndpointStatus"] == "InService"
    aws.sm.create_endpoint_config(
        EndpointConfigName="bigger",
        ProductionVariants=[
            {
                "VariantName": "AllTraffic",
                "ModelName": "demo-tabular",
                "ServerlessConfig": {"MemorySizeInMB": 2048, "MaxConcurrency": 8},
            }
        ],
    )
    with pytest.raises(ClientError) as err:
        aws.sm.update_endpoint(EndpointName="grows", EndpointConfigName="bigger")
    assert error_code(err.value) == "ResourceLimitExceeded"
    resize["DesiredWeightsAndCapacities"][0]["ServerlessUpdateConfig"]["MaxConcurrency"] = 6
    aws.sm.update_endpoint_weights_and_capacities(**resize)  # 6 + 4 = 10 fits
    wait(aws, "grows")
    with pytest.raises(ClientError) as err:  # the resized endpoint now holds 6
        create(aws, "third", "demo-tabular", max_concurrency=1)
    assert error_code(err.value) == "ResourceLimitExceeded"


def test_service_quotas_api_answers_the_emulators_quotas(small_account):
    from sm_bench_widgets.aws.quotas import read_quotas

    target = small_account.target()
    sq = target.client("service-quotas")
    quota = sq.get_service_quota(ServiceCode="sagemaker", QuotaCode="L-96300102")["Quota"]
    assert quota["Value"] == 10 and quota["QuotaName"].startswith("Maximum total concurrency")
    default = sq.get_aws_default_service_quota(ServiceCode="sagemaker", QuotaCode="L-96300102")
    assert default["Quota"]["Value"] == 200
    names = {
        q["QuotaName"]: q["Value"]
        for q in sq.list_service_quotas(ServiceCode="sagemaker")["Quotas"]
    }
    assert names["Maximum number of serverless endpoints"] == 3
    quotas = read_quotas(target)
    assert (quotas.max_concurrency, quotas.max_endpoints) == (10, 3)
    assert quotas.sources == ("Service Quotas", "Service Quotas")


def test_emulator_cli_takes_the_quotas():
    import boto3

    from sm_bench_widgets.emulator.process import served

    with served(
        "--account-max-concurrency", "10", "--account-max-endpoints", "2", time_scale=0.01
    ) as emu:
        assert "total MaxConcurrency 10, endpoints 2" in emu.banner
        sq = boto3.client(
            "service-quotas",
            endpoint_url=emu.url,
            region_name="us-east-1",
            aws_access_key_id="emulated",
            aws_secret_access_key="emulated",
        )
        listed = sq.list_service_quotas(ServiceCode="sagemaker")["Quotas"]
        assert sorted(q["Value"] for q in listed) == [2, 10]
