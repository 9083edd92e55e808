"""Endpoint lifecycle against moto's server: create, wait, tags, delete, leftovers."""

from __future__ import annotations

import threading

import pytest

from sm_bench_widgets.aws.endpoints import (
    NAME_PATTERN,
    RUN_TAG_KEY,
    TOOL_TAG_KEY,
    CleanupError,
    EndpointError,
    EndpointSpec,
    create_endpoint,
    delete_endpoint,
    endpoint_name_for,
    find_leftovers,
    managed_endpoints,
    wait_endpoints,
)
from sm_bench_widgets.config import ConfigError
from tests.aws.conftest import all_resources, inject


def _tags(target, arn):
    tags = target.client("sagemaker").list_tags(ResourceArn=arn)["Tags"]
    return {t["Key"]: t["Value"] for t in tags}


# -- names and specs -----------------------------------------------------------------------
def test_names_are_valid_unique_and_readable():
    specs = [
        EndpointSpec("m", mem, conc, prov)
        for mem in (1024, 6144)
        for conc in (1, 8, 200)
        for prov in (0, 1)
    ]
    names = [endpoint_name_for("my_model.v2", "run-20260101-ab12", s) for s in specs]
    assert len(set(names)) == len(names)
    assert all(NAME_PATTERN.match(n) and len(n) <= 63 for n in names)
    assert names[0].startswith("my-model-v2-")
    assert endpoint_name_for("m", "r1", EndpointSpec("m", 2048, 4)).endswith("-r1-m2048-c4")
    assert endpoint_name_for("m", "r1", EndpointSpec("m", 2048, 4, 2)).endswith("-m2048-c4-p2")
    spec = EndpointSpec("m", 1024, 1)
    assert endpoint_name_for("m", "run-a-long-id", spec) != endpoint_name_for(
        "m", "run-b-long-id", spec
    )


def test_long_model_names_are_cut_but_stay_distinct():
    spec = EndpointSpec("x", 6144, 200, 200)
    a = endpoint_name_for("a" * 80 + "-one", "run-xyz", spec)
    b = endpoint_name_for("a" * 80 + "-two", "run-xyz", spec)
    assert a != b
    assert len(a) <= 63 and NAME_PATTERN.match(a) and NAME_PATTERN.match(b)
    assert NAME_PATTERN.match(endpoint_name_for("---", "r", spec))


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"memory_size": 1000}, "memory_size"),
        ({"max_concurrency": 0}, "max_concurrency"),
        ({"max_concurrency": 201}, "max_concurrency"),
        ({"provisioned_concurrency": 5}, "provisioned_concurrency"),
        ({"model_name": ""}, "model_name"),
    ],
)
def test_spec_validation_names_the_field(kwargs, field):
    args = {"model_name": "m", "memory_size": 2048, "max_concurrency": 4} | kwargs
    with pytest.raises(ConfigError) as info:
        EndpointSpec(**args)
    assert info.value.field == field


def test_bad_run_id_is_refused():
    with pytest.raises(ConfigError) as info:
        endpoint_name_for("m", "", EndpointSpec("m", 1024, 1))
    assert info.value.field == "run_id"


# -- lifecycle -----------------------------------------------------------------------------
def test_create_wait_tag_delete_leaves_nothing(target, model):
    sm = target.client("sagemaker")
    plain = EndpointSpec(model, 2048, 4)
    provisioned = EndpointSpec(model, 1024, 4, 2)
    names = [endpoint_name_for(model, "run1", s) for s in (plain, provisioned)]
    for spec, name in zip((plain, provisioned), names, strict=True):
        create_endpoint(target, spec, name, "run1")

    statuses = wait_endpoints(target, names + ["missing-endpoint"], timeout=30, poll=0.5)
    assert [statuses[n].status for n in names] == ["InService", "InService"]
    assert all(statuses[n].ok for n in names)
    assert statuses["missing-endpoint"].status == "NotFound"
    assert "missing-endpoint" in statuses["missing-endpoint"].failure_reason

    config = sm.describe_endpoint_config(EndpointConfigName=names[0])
    (variant,) = config["ProductionVariants"]
    assert variant["VariantName"] == "AllTraffic" and variant["ModelName"] == model
    assert variant["ServerlessConfig"] == {"MemorySizeInMB": 2048, "MaxConcurrency": 4}
    pc = sm.describe_endpoint_config(EndpointConfigName=names[1])["ProductionVariants"][0]
    assert pc["ServerlessConfig"]["ProvisionedConcurrency"] == 2

    endpoint = sm.describe_endpoint(EndpointName=names[0])
    for arn in (endpoint["EndpointArn"], config["EndpointConfigArn"]):
        tags = _tags(target, arn)
        assert tags[TOOL_TAG_KEY] == "sm-bench-widgets" and tags[RUN_TAG_KEY] == "run1"

    for name in names:
        delete_endpoint(target, name)
    assert all_resources(target) == ([], [])
    delete_endpoint(target, names[0])  # idempotent


def test_missing_model_raises_config_error_and_leaves_nothing(target):
    spec = EndpointSpec("no-such-model", 1024, 1)
    with pytest.raises(ConfigError) as info:
        create_endpoint(target, spec, endpoint_name_for(spec.model_name, "r", spec), "r")
    assert info.value.field == "model_name" and info.value.value == "no-such-model"
    assert "Could not find model" in str(info.value)
    assert all_resources(target) == ([], [])


def test_failed_endpoint_creation_removes_its_config(target, model):
    inject(
        target,
        "CreateEndpoint",
        lambda p: ("ResourceLimitExceeded", "The account-level service limit is 10 endpoints"),
    )
    spec = EndpointSpec(model, 1024, 1)
    with pytest.raises(EndpointError, match="service limit") as info:
        create_endpoint(target, spec, "ep-limit", "r")
    assert info.value.operation == "CreateEndpoint"
    assert all_resources(target) == ([], [])


def test_invalid_name_is_refused_before_any_call(target, model):
    with pytest.raises(ConfigError) as info:
        create_endpoint(target, EndpointSpec(model, 1024, 1), "bad_name!", "r")
    assert info.value.field == "endpoint_name"


def test_wait_polls_in_parallel_and_times_out(target, model):
    threads: set[int] = set()

    def creating(params):
        threads.add(threading.get_ident())
        return {"EndpointName": params["EndpointName"], "EndpointStatus": "Creating"}

    inject(target, "DescribeEndpoint", creating)
    names = [f"ep-{i}" for i in range(4)]
    statuses = wait_endpoints(target, names, timeout=0.6, poll=0.2)
    assert set(statuses) == set(names)
    assert all(
        s.status == "Creating" and "timed out" in s.failure_reason for s in statuses.values()
    )
    assert len(threads) > 1


def test_failed_endpoint_reports_failure_reason(target):
    inject(
        target,
        "DescribeEndpoint",
        lambda p: {
            "EndpointName": p["EndpointName"],
            "EndpointStatus": "Failed",
            "FailureReason": "Image not found",
        },
    )
    status = wait_endpoints(target, ["ep-x"], timeout=5)["ep-x"]
    assert (status.status, status.failure_reason, status.ok) == ("Failed", "Image not found", False)


def test_delete_waits_out_creating(target, model):
    spec = EndpointSpec(model, 1024, 1)
    create_endpoint(target, spec, "ep-slow", "r")
    seen = []

    def creating_twice(params):
        seen.append(params["EndpointName"])
        if len(seen) <= 2:
            return {
                "EndpointName": "ep-slow",
                "EndpointStatus": "Creating",
                "EndpointConfigName": "ep-slow",
            }
        return None

    inject(target, "DescribeEndpoint", creating_twice)
    delete_endpoint(target, "ep-slow", poll=0.05)
    assert len(seen) >= 3
    assert all_resources(target) == ([], [])


# -- managed -------------------------------------------------------------------------------
def test_managed_endpoints_clean_up_on_exception(target, model):
    with pytest.raises(RuntimeError, match="boom"), managed_endpoints(target, "run-m") as eps:
        eps.create(EndpointSpec(model, 1024, 1))
        eps.create(EndpointSpec(model, 2048, 1))
        assert len(all_resources(target)[0]) == 2
        raise RuntimeError("boom")
    assert all_resources(target) == ([], [])


def test_managed_endpoints_clean_up_on_keyboard_interrupt(target, model):
    with pytest.raises(KeyboardInterrupt), managed_endpoints(target, "run-k") as eps:
        eps.create(EndpointSpec(model, 1024, 1))
        raise KeyboardInterrupt
    assert all_resources(target) == ([], [])


def test_managed_endpoints_delete_one_early(target, model):
    with managed_endpoints(target, "run-e") as eps:
        first = eps.create(EndpointSpec(model, 1024, 1))
        second = eps.create(EndpointSpec(model, 2048, 1))
        eps.delete(first)
        assert eps.names == [second]
        assert all_resources(target)[0] == [second]
    assert all_resources(target) == ([], [])


def test_managed_endpoints_report_deletion_failures(target, model):
    failing = {"on": True}
    inject(
        target,
        "DeleteEndpoint",
        lambda p: ("AccessDeniedException", "not allowed to delete") if failing["on"] else None,
    )
    with pytest.raises(CleanupError) as info, managed_endpoints(target, "run-f") as eps:
        name = eps.create(EndpointSpec(model, 1024, 1))
    assert name in info.value.failures and "not allowed" in str(info.value)

    with pytest.raises(ValueError) as in_flight, managed_endpoints(target, "run-f") as eps:
        eps.create(EndpointSpec(model, 1024, 1))
        raise ValueError("trial failed")
    assert any("not allowed" in note for note in in_flight.value.__notes__)

    failing["on"] = False
    assert find_leftovers(target, "run-f") == [name]
    delete_endpoint(target, name)
    assert all_resources(target) == ([], [])
