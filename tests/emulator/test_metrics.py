"""CloudWatch metrics of serverless endpoints over HTTP, percentiles included."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from botocore.exceptions import ClientError

from tests.emulator.awsutil import deploy, invoke, setup_us

NS = "AWS/SageMaker"


def window() -> dict:
    now = datetime.now(UTC)
    return {"StartTime": now - timedelta(minutes=10), "EndTime": now + timedelta(minutes=5)}


def dims(name: str) -> list[dict]:
    return [{"Name": "EndpointName", "Value": name}, {"Name": "VariantName", "Value": "AllTraffic"}]


def stats(aws, name: str, metric: str, namespace: str = NS, **kw) -> dict:
    """The single datapoint of ``metric`` over the test's window."""
    resp = aws.cw.get_metric_statistics(
        Namespace=namespace,
        MetricName=metric,
        Dimensions=dims(name),
        Period=3600,
        **window(),
        **kw,
    )
    assert len(resp["Datapoints"]) == 1, resp["Datapoints"]
    return resp["Datapoints"][0]


def header_us(resp: dict, which: str) -> int:
    return int(resp["ResponseMetadata"]["HTTPHeaders"][f"x-sm-bench-{which}-us"])


@pytest.fixture(scope="module")
def traffic(emulator):
    """An endpoint with 1 cold + 29 warm invocations and one request the model rejects."""
    from tests.emulator.awsutil import clients

    aws = clients(emulator)
    name = deploy(aws, "demo-tabular", memory=2048, max_concurrency=2)
    responses = [invoke(aws, name) for _ in range(30)]
    with pytest.raises(ClientError):
        invoke(aws, name, b"not,numbers")
    return aws, name, responses


def test_latency_percentiles_with_get_metric_statistics(traffic):
    aws, name, responses = traffic
    model_us = np.array([header_us(r, "model-latency") for r in responses], dtype=float)
    point = stats(
        aws,
        name,
        "ModelLatency",
        Statistics=["SampleCount", "Average", "Maximum"],
        ExtendedStatistics=["p50", "p90", "p99"],
    )
    assert point["Unit"] == "Microseconds"
    assert point["SampleCount"] == 30
    assert point["Average"] == pytest.approx(model_us.mean(), abs=2)
    assert point["Maximum"] == pytest.approx(model_us.max(), abs=2)
    ext = point["ExtendedStatistics"]
    for p in (50, 90, 99):
        assert ext[f"p{p}"] == pytest.approx(np.percentile(model_us, p), abs=2)
    assert ext["p50"] < ext["p90"] < ext["p99"]


def test_percentiles_with_get_metric_data(traffic):
    aws, name, responses = traffic
    overhead_us = np.array([header_us(r, "overhead-latency") for r in responses], dtype=float)
    queries = [
        {
            "Id": f"q{i}",
            "MetricStat": {
                "Metric": {"Namespace": NS, "MetricName": metric, "Dimensions": dims(name)},
                "Period": 3600,
                "Stat": stat,
            },
        }
        for i, (metric, stat) in enumerate(
            [
                ("OverheadLatency", "p50"),
                ("OverheadLatency", "p99"),
                ("Invocations", "Sum"),
                ("Invocation4XXErrors", "Sum"),
                ("Invocation5XXErrors", "Sum"),
            ]
        )
    ]
    resp = aws.cw.get_metric_data(MetricDataQueries=queries, **window())
    values = {r["Id"]: r["Values"] for r in resp["MetricDataResults"]}
    # (the rejected request has an OverheadLatency too, so compare loosely)
    assert values["q0"] == [pytest.approx(np.percentile(overhead_us, 50), rel=0.05)]
    # the cold start is part of OverheadLatency, so p99 sits near the cold request's value
    assert values["q1"][0] > 10 * values["q0"][0]
    assert values["q2"] == [31.0]  # every request that reached the model
    assert values["q3"] == [1.0]  # the rejected CSV (ModelError from a 400)
    assert values["q4"] == [0.0]


def test_model_setup_time_and_memory_utilization(traffic):
    aws, name, responses = traffic
    setups = [setup_us(r) for r in responses if setup_us(r) is not None]
    assert len(setups) == 1
    point = stats(aws, name, "ModelSetupTime", Statistics=["SampleCount", "Maximum"])
    assert point["SampleCount"] == 1
    assert point["Maximum"] == pytest.approx(setups[0], abs=2)
    assert point["Unit"] == "Microseconds"

    mem = stats(
        aws, name, "MemoryUtilization", namespace="/aws/sagemaker/Endpoints", Statistics=["Average"]
    )
    assert mem["Unit"] == "Percent"
    assert mem["Average"] == pytest.approx(100 * 320 / 2048)

    util = stats(aws, name, "ServerlessConcurrentExecutionsUtilization", Statistics=["Maximum"])
    assert util["Maximum"] == pytest.approx(0.5)  # one busy instance of MaxConcurrency 2
    # AWS's list of serverless metrics is exhaustive and has no per-instance count
    listed = aws.cw.list_metrics(Namespace=NS, Dimensions=dims(name))["Metrics"]
    assert "InvocationsPerInstance" not in {m["MetricName"] for m in listed}
    assert "Invocations" in {m["MetricName"] for m in listed}


def test_provisioned_concurrency_metrics(aws):
    name = deploy(aws, "demo-tabular", memory=2048, max_concurrency=3, provisioned=2)
    for _ in range(4):
        invoke(aws, name)
    served = stats(aws, name, "ServerlessProvisionedConcurrencyInvocations", Statistics=["Sum"])
    spill = stats(
        aws, name, "ServerlessProvisionedConcurrencySpilloverInvocations", Statistics=["Sum"]
    )
    assert (served["Sum"], spill["Sum"]) == (4, 0)
    util = stats(aws, name, "ServerlessProvisionedConcurrencyUtilization", Statistics=["Maximum"])
    assert util["Maximum"] == pytest.approx(0.5)
    with pytest.raises(AssertionError):
        stats(aws, name, "ModelSetupTime", Statistics=["SampleCount"])


def test_unsupported_extended_statistic_is_rejected(aws, traffic):
    _, name, _ = traffic
    with pytest.raises(ClientError) as err:
        aws.cw.get_metric_statistics(
            Namespace=NS,
            MetricName="ModelLatency",
            Dimensions=dims(name),
            Period=3600,
            ExtendedStatistics=["median"],
            **window(),
        )
    assert err.value.response["Error"]["Code"] == "InvalidParameterValue"


def test_metrics_are_kept_per_minute_so_memory_does_not_grow_with_invocations(emulator, aws):
    """5,000 invocations' metrics: a data point per metric and minute, percentiles still right."""
    from sm_bench_widgets.emulator.cw_percentiles import EXACT_LIMIT, RELATIVE_ACCURACY
    from sm_bench_widgets.emulator.metrics import InvocationRecord

    sink, region = emulator.dataplane.metrics, "eu-west-3"  # a region of this test alone
    rng = np.random.default_rng(7)
    model_ms = rng.lognormal(np.log(20), 0.6, 5000)
    assert len(model_ms) > 4 * EXACT_LIMIT
    for ms in model_ms:
        sink.publish(
            region,
            InvocationRecord("many", "AllTraffic", reached_model=True, model_ms=ms, overhead_ms=3),
        )
    per_minute = {"Invocation4XXErrors", "Invocation5XXErrors", "Invocations"}
    per_minute |= {"ModelLatency", "OverheadLatency"}
    # the run may cross a minute boundary: two data points per metric at most
    assert len(per_minute) <= sink.data_points(region) <= 2 * len(per_minute)

    cw = emulator.target().session.client(
        "cloudwatch", region_name=region, endpoint_url=emulator.endpoint_url
    )
    point = cw.get_metric_statistics(
        Namespace=NS,
        MetricName="ModelLatency",
        Dimensions=dims("many"),
        Period=3600,
        Statistics=["SampleCount", "Minimum", "Maximum"],
        ExtendedStatistics=["p50", "p90", "p99"],
        **window(),
    )["Datapoints"][0]
    model_us = model_ms * 1000
    assert point["SampleCount"] == 5000
    assert point["Minimum"] == pytest.approx(model_us.min())
    assert point["Maximum"] == pytest.approx(model_us.max())
    for p in (50, 90, 99):
        expected = np.percentile(model_us, p)
        got = point["ExtendedStatistics"][f"p{p}"]
        assert got == pytest.approx(expected, rel=2 * RELATIVE_ACCURACY)


def test_a_sketch_is_exact_while_small_and_within_its_accuracy_after():
    from sm_bench_widgets.emulator.cw_percentiles import (
        EXACT_LIMIT,
        RELATIVE_ACCURACY,
        ValueSketch,
        sketch_percentile,
    )

    values = np.random.default_rng(3).exponential(5000, 3 * EXACT_LIMIT)
    small, large = ValueSketch(), ValueSketch()
    for v in values[: EXACT_LIMIT // 2]:
        small.add(float(v))
    for v in values:
        large.add(float(v))
    assert small.exact and not large.exact
    for q in (0.0, 50.0, 99.0, 100.0):
        exact = np.percentile(values[: EXACT_LIMIT // 2], q)
        assert sketch_percentile([], [small], q) == pytest.approx(exact, abs=1e-9)
        merged = sketch_percentile([], [small, large], q)
        both = np.concatenate([values[: EXACT_LIMIT // 2], values])
        assert merged == pytest.approx(np.percentile(both, q), rel=2 * RELATIVE_ACCURACY)
    assert sketch_percentile([], [ValueSketch()], 50) is None
