"""Reading the account's serverless quotas: Service Quotas (Stubber), defaults, given values;
and refusing a grid that can never fit, before anything is created."""

from __future__ import annotations

import pytest
from botocore.stub import Stubber

from sm_bench_widgets.aws.clients import Target
from sm_bench_widgets.aws.quotas import CONCURRENCY, ENDPOINTS, AccountQuotas, read_quotas
from sm_bench_widgets.config import BenchmarkConfig
from sm_bench_widgets.engine.deploy import QuotaError, check_quotas

SQ = {"ServiceCode": "sagemaker"}


def stubbed(target: Target) -> Stubber:
    stub = Stubber(target.client("service-quotas"))
    stub.activate()
    return stub


def entry(name: str, value: float, code: str | None = None) -> dict:
    quota = {"ServiceCode": "sagemaker", "QuotaName": name, "Value": value}
    if code:
        quota["QuotaCode"] = code
    return quota


@pytest.fixture
def offline() -> Target:
    """A target whose clients are only ever stubbed."""
    return Target(region="eu-west-1", endpoint_url="http://127.0.0.1:9", emulated=True)


def test_applied_values_come_from_service_quotas(offline):
    stub = stubbed(offline)
    stub.add_response(
        "get_service_quota",
        {"Quota": entry(CONCURRENCY.name, 10.0, "L-96300102")},
        {**SQ, "QuotaCode": "L-96300102"},
    )
    stub.add_response(
        "list_service_quotas",
        {"Quotas": [entry("Something else", 3.0), entry(ENDPOINTS.name, 5.0)]},
        SQ,
    )
    quotas = read_quotas(offline)
    stub.assert_no_pending_responses()
    assert (quotas.max_concurrency, quotas.max_endpoints) == (10, 5)
    assert quotas.sources == ("Service Quotas", "Service Quotas")
    assert quotas.region == "eu-west-1"


def test_unapplied_quotas_read_aws_defaults(offline):
    stub = stubbed(offline)
    stub.add_client_error("get_service_quota", "NoSuchResourceException", "no applied value", 400)
    stub.add_response(
        "get_aws_default_service_quota",
        {"Quota": entry(CONCURRENCY.name, 200.0, "L-96300102")},
        {**SQ, "QuotaCode": "L-96300102"},
    )
    stub.add_response("list_service_quotas", {"Quotas": []}, SQ)
    stub.add_response(
        "list_aws_default_service_quotas", {"Quotas": [entry(ENDPOINTS.name, 50.0)]}, SQ
    )
    quotas = read_quotas(offline)
    assert (quotas.max_concurrency, quotas.max_endpoints) == (200, 50)
    assert quotas.sources == ("Service Quotas", "Service Quotas")


def test_without_permission_the_documented_defaults_are_used(offline):
    stub = stubbed(offline)
    stub.add_client_error("get_service_quota", "AccessDeniedException", "not allowed", 400)
    quotas = read_quotas(offline)  # asked once, not again for the second quota
    stub.assert_no_pending_responses()
    assert (quotas.max_concurrency, quotas.max_endpoints) == (200, 50)
    assert quotas.sources == ("documented default", "documented default")


def test_given_values_win_and_are_not_looked_up(offline):
    stub = stubbed(offline)
    stub.add_response("list_service_quotas", {"Quotas": [entry(ENDPOINTS.name, 7.0)]}, SQ)
    quotas = read_quotas(offline, max_concurrency=12)
    stub.assert_no_pending_responses()
    assert (quotas.max_concurrency, quotas.max_endpoints) == (12, 7)
    assert quotas.sources == ("given", "Service Quotas")


def test_a_grid_that_can_never_fit_is_refused_naming_the_quota(tmp_path):
    config = BenchmarkConfig(
        model_name="m",
        invoke_args_examples=[{"Body": "1"}],
        concurrency_benchmark_max_conc=[2, 200],
        result_save_path=str(tmp_path),
    )
    small = AccountQuotas(10, 50, "us-east-1", ("Service Quotas", "documented default"))
    with pytest.raises(QuotaError) as err:
        check_quotas(small, config)
    message = str(err.value)
    assert err.value.field == "concurrency_benchmark_max_conc"
    assert "MaxConcurrency 200 can never be deployed" in message
    assert "'Maximum total concurrency that can be allocated across all serverless endpoints'" in (
        message
    )
    assert "(L-96300102) is 10 in us-east-1 (Service Quotas)" in message
    assert "--quota-code L-96300102 --desired-value 200" in message
    check_quotas(AccountQuotas(200, 50, "us-east-1"), config)  # fits the documented default
    prov = config.replace(concurrency_benchmark_max_conc=[4], include_concurrency_benchmark=False)
    check_quotas(small, prov.replace(provisioned_concurrency=[2]))
    with pytest.raises(QuotaError) as err:
        check_quotas(AccountQuotas(3, 50, "us-east-1"), prov.replace(provisioned_concurrency=[4]))
    assert err.value.field == "provisioned_concurrency"
