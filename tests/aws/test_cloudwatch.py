"""CloudWatch fetch against moto's server: statistics, labels, waiting, missing data."""

from __future__ import annotations

import datetime as dt
import threading
import time

import pytest

from sm_bench_widgets.aws import cloudwatch
from sm_bench_widgets.aws.cloudwatch import fetch_endpoint_metrics
from sm_bench_widgets.schema import CLOUDWATCH_COLUMNS
from tests.aws.conftest import inject

LABELS = {"memory_size": 2048, "max_concurrency": 4, "provisioned_concurrency": 0}


def _dims(endpoint):
    return [
        {"Name": "EndpointName", "Value": endpoint},
        {"Name": "VariantName", "Value": "AllTraffic"},
    ]


def _publish(target, endpoint, latencies_us, memory=None):
    cw = target.client("cloudwatch")
    now = dt.datetime.now(dt.UTC)
    data = [
        {
            "MetricName": "ModelLatency",
            "Dimensions": _dims(endpoint),
            "Timestamp": now,
            "Values": latencies_us,
            "Counts": [1] * len(latencies_us),
            "Unit": "Microseconds",
        },
        {
            "MetricName": "Invocations",
            "Dimensions": _dims(endpoint),
            "Timestamp": now,
            "Value": float(len(latencies_us)),
            "Unit": "Count",
        },
    ]
    cw.put_metric_data(Namespace="AWS/SageMaker", MetricData=data)
    if memory is not None:
        cw.put_metric_data(
            Namespace="/aws/sagemaker/Endpoints",
            MetricData=[
                {
                    "MetricName": "MemoryUtilization",
                    "Dimensions": _dims(endpoint),
                    "Timestamp": now,
                    "Value": memory,
                    "Unit": "Percent",
                }
            ],
        )


def _value(frame, metric, statistic):
    rows = frame[(frame.metric == metric) & (frame.statistic == statistic)]
    assert len(rows) == 1, (metric, statistic, rows)
    return rows.iloc[0]


def test_fetch_statistics_with_labels(target):
    _publish(target, "ep-a", [1000.0, 2000.0, 6000.0], memory=37.5)
    _publish(target, "ep-b", [99999.0])
    start = time.time() - 5
    frame = fetch_endpoint_metrics(
        target, "ep-a", start, time.time(), wait=0, labels=LABELS, percentiles=()
    )
    assert list(frame.columns) == CLOUDWATCH_COLUMNS
    assert set(frame.endpoint_name) == {"ep-a"}
    assert (frame.memory_size == 2048).all() and (frame.max_concurrency == 4).all()
    latency = {s: _value(frame, "ModelLatency", s).value for s in cloudwatch.STATISTICS}
    assert latency == {
        "Average": 3000.0,
        "Maximum": 6000.0,
        "Minimum": 1000.0,
        "Sum": 9000.0,
        "SampleCount": 3.0,
    }
    assert _value(frame, "ModelLatency", "Average").unit == "Microseconds"
    assert _value(frame, "Invocations", "Sum").value == 3.0
    memory = _value(frame, "MemoryUtilization", "Maximum")
    assert (memory.value, memory.unit) == (37.5, "Percent")
    assert str(frame.timestamp.dtype).startswith("datetime64") and frame.timestamp.dt.tz


def test_missing_data_gives_empty_frame_after_waiting(target):
    started = time.monotonic()
    frame = fetch_endpoint_metrics(
        target, "nothing-here", time.time() - 60, time.time(), wait=0.5, poll=0.1
    )
    assert frame.empty and list(frame.columns) == CLOUDWATCH_COLUMNS
    assert time.monotonic() - started >= 0.5


def test_wait_picks_up_late_data(target):
    timer = threading.Timer(0.4, _publish, args=(target, "ep-late", [500.0]))
    timer.start()
    try:
        frame = fetch_endpoint_metrics(
            target,
            "ep-late",
            time.time() - 5,
            time.time() + 5,
            wait=10,
            poll=0.2,
            labels=LABELS,
            percentiles=(),
        )
    finally:
        timer.join()
    assert _value(frame, "ModelLatency", "Maximum").value == 500.0


def test_percentile_failure_falls_back_to_plain_statistics(target, monkeypatch):
    monkeypatch.setattr(cloudwatch, "_no_percentiles", set())
    asked = []

    def no_percentiles(params):
        stats = [q["MetricStat"]["Stat"] for q in params["MetricDataQueries"]]
        asked.append(stats)
        return ("InternalFailure", "cannot compute") if "p90" in stats else None

    inject(target, "GetMetricData", no_percentiles, service="cloudwatch", status=500)
    _publish(target, "ep-p", [1000.0, 3000.0])
    frame = fetch_endpoint_metrics(target, "ep-p", time.time() - 5, time.time(), wait=0)
    assert _value(frame, "ModelLatency", "Average").value == 2000.0
    assert not frame.statistic.str.startswith("p").any()
    assert "p90" in asked[0] and "p90" not in asked[1]
    fetch_endpoint_metrics(target, "ep-p", time.time() - 5, time.time(), wait=0)
    assert len(asked) == 3 and "p90" not in asked[2]  # not asked again


def test_every_page_of_get_metric_data_is_read(target):
    earlier = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(minutes=1)
    tokens = []

    def first_page_then_moto(params):
        tokens.append(params.get("NextToken"))
        if params.get("NextToken"):
            return None  # moto answers the second page
        qid = next(
            q["Id"]
            for q in params["MetricDataQueries"]
            if q["MetricStat"]["Metric"]["MetricName"] == "ModelLatency"
            and q["MetricStat"]["Stat"] == "Maximum"
        )
        results = [{"Id": qid, "Timestamps": [earlier], "Values": [7.0], "StatusCode": "Complete"}]
        return {"MetricDataResults": results, "NextToken": "page-2"}

    inject(target, "GetMetricData", first_page_then_moto, service="cloudwatch")
    _publish(target, "ep-pages", [1000.0, 3000.0])
    frame = fetch_endpoint_metrics(
        target, "ep-pages", time.time() - 120, time.time(), wait=0, percentiles=()
    )
    assert tokens == [None, "page-2"]
    first = frame[(frame.statistic == "Maximum") & (frame.timestamp == earlier)]
    assert first.value.tolist() == [7.0]
    assert _value(frame, "ModelLatency", "Average").value == 2000.0


def test_access_denied_falls_back_to_get_metric_statistics(target):
    inject(target, "GetMetricData", lambda p: ("AccessDenied", "no"), service="cloudwatch")
    _publish(target, "ep-s", [1000.0, 2000.0])
    frame = fetch_endpoint_metrics(
        target, "ep-s", time.time() - 5, time.time(), wait=0, percentiles=()
    )
    assert _value(frame, "ModelLatency", "Maximum").value == 2000.0
    assert _value(frame, "Invocations", "Sum").value == 2.0


def test_denied_both_apis_raises_at_once(target):
    for op in ("GetMetricData", "GetMetricStatistics"):
        inject(target, op, lambda p: ("AccessDenied", "no"), service="cloudwatch")
    _publish(target, "ep-x", [1000.0])
    began = time.monotonic()
    with pytest.raises(cloudwatch.CloudWatchAccessDenied, match="ep-x.*GetMetricStatistics"):
        fetch_endpoint_metrics(target, "ep-x", time.time() - 5, time.time(), wait=30)
    assert time.monotonic() - began < 10  # no polling for data that cannot come


def test_other_errors_give_empty_frame(target):
    inject(target, "GetMetricData", lambda p: ("ValidationError", "bad"), service="cloudwatch")
    _publish(target, "ep-y", [1000.0])
    frame = fetch_endpoint_metrics(target, "ep-y", time.time() - 5, time.time(), wait=0)
    assert frame.empty and list(frame.columns) == CLOUDWATCH_COLUMNS


def test_window_is_widened_to_whole_periods():
    begin, finish = cloudwatch._window(125.0, 130.0, 60)
    assert (begin.timestamp(), finish.timestamp()) == (120.0, 180.0)
    with pytest.raises(ValueError):
        cloudwatch._window(200.0, 100.0, 60)
