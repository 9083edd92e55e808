"""Fetch the CloudWatch metrics AWS publishes for a serverless endpoint, as one DataFrame.

One ``GetMetricData`` call asks for every metric and statistic at once (percentiles for
the latency metrics included). CloudWatch publishes with a delay, so the fetch can poll
for a while; missing data gives an empty frame. Only a caller allowed neither metrics API
gets an exception (``CloudWatchAccessDenied``), at once rather than after the wait.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import threading
import time
from dataclasses import dataclass
from typing import Any

import pandas as pd
from botocore.exceptions import BotoCoreError, ClientError

from sm_bench_widgets.aws.clients import Target
from sm_bench_widgets.schema import CLOUDWATCH_COLUMNS

logger = logging.getLogger(__name__)

INVOCATION_NAMESPACE = "AWS/SageMaker"
ENDPOINT_NAMESPACE = "/aws/sagemaker/Endpoints"
STATISTICS = ("Average", "Maximum", "Minimum", "Sum", "SampleCount")
PERCENTILES = ("p50", "p90", "p99")
LABELS = ("memory_size", "max_concurrency", "provisioned_concurrency")
DEFAULT_WAIT = 180.0  # seconds; SageMaker metrics usually show up within 1-3 minutes
DEFAULT_POLL = 15.0
FIRST_POLL = 1.0


class CloudWatchAccessDenied(PermissionError):
    """The caller may use neither GetMetricData nor GetMetricStatistics."""

    def __init__(self, endpoint_name: str, err: ClientError):
        message = err.response.get("Error", {}).get("Message", "") or str(err)
        super().__init__(
            f"CloudWatch denied reading the metrics of {endpoint_name} "
            f"(cloudwatch:GetMetricData or cloudwatch:GetMetricStatistics needed): {message}"
        )


@dataclass(frozen=True)
class MetricDef:
    """A serverless endpoint metric: where it lives, its unit, whether it is a latency."""

    name: str
    namespace: str = INVOCATION_NAMESPACE
    unit: str = "Count"
    latency: bool = False


SERVERLESS_METRICS = (
    MetricDef("Invocations"),
    MetricDef("Invocation4XXErrors"),
    MetricDef("Invocation5XXErrors"),
    MetricDef("ModelLatency", unit="Microseconds", latency=True),
    MetricDef("OverheadLatency", unit="Microseconds", latency=True),
    MetricDef("ModelSetupTime", unit="Microseconds", latency=True),
    MetricDef("MemoryUtilization", namespace=ENDPOINT_NAMESPACE, unit="Percent"),
    MetricDef("ServerlessConcurrentExecutionsUtilization", unit="None"),
    MetricDef("ServerlessProvisionedConcurrencyExecutions"),
    MetricDef("ServerlessProvisionedConcurrencyUtilization", unit="None"),
    MetricDef("ServerlessProvisionedConcurrencyInvocations"),
    MetricDef("ServerlessProvisionedConcurrencySpilloverInvocations"),
)

# Custom endpoint URLs whose CloudWatch failed on percentile queries (plain moto does).
_no_percentiles: set[str] = set()
_no_percentiles_lock = threading.Lock()


def fetch_endpoint_metrics(
    target: Target,
    endpoint_name: str,
    start: Any,
    end: Any,
    *,
    variant: str = "AllTraffic",
    period: int = 60,
    wait: float = DEFAULT_WAIT,
    poll: float = DEFAULT_POLL,
    labels: dict[str, Any] | None = None,
    percentiles: tuple[str, ...] = PERCENTILES,
) -> pd.DataFrame:
    """The endpoint's serverless metrics between ``start`` and ``end`` (CLOUDWATCH_COLUMNS).

    ``start``/``end`` are epoch seconds, datetimes or pandas Timestamps; the window is
    widened to whole periods. Polls for up to ``wait`` seconds until any data appear (the
    first attempt is immediate). ``labels`` (memory_size, max_concurrency,
    provisioned_concurrency, and any extra keys) are added as columns.
    """
    begin, finish = _window(start, end, period)
    deadline = time.monotonic() + max(0.0, wait)
    delay = min(FIRST_POLL, poll)
    while True:
        rows = _fetch_rows(target, endpoint_name, variant, begin, finish, period, percentiles)
        remaining = deadline - time.monotonic()
        if rows or remaining <= 0:
            break
        time.sleep(min(delay, remaining))
        delay = min(delay * 2, poll)
    return metrics_frame(rows, endpoint_name, labels or {})


def empty_frame(extra_labels: tuple[str, ...] = ()) -> pd.DataFrame:
    """A frame with CLOUDWATCH_COLUMNS and no rows."""
    return metrics_frame([], "", {k: None for k in extra_labels})


def metrics_frame(
    rows: list[dict[str, Any]], endpoint_name: str, labels: dict[str, Any]
) -> pd.DataFrame:
    """Rows of (metric, statistic, timestamp, value, unit) as a labelled, sorted frame."""
    frame = pd.DataFrame(rows, columns=["metric", "statistic", "timestamp", "value", "unit"])
    frame["timestamp"] = pd.to_datetime(frame["timestamp"], utc=True)
    frame["value"] = frame["value"].astype(float)
    frame["endpoint_name"] = endpoint_name
    for key in LABELS:
        frame[key] = labels.get(key)
    extra = [k for k in labels if k not in LABELS and k not in CLOUDWATCH_COLUMNS]
    for key in extra:
        frame[key] = labels[key]
    frame = frame[CLOUDWATCH_COLUMNS + extra]
    return frame.sort_values(["metric", "statistic", "timestamp"], ignore_index=True)


def _utc(value: Any) -> dt.datetime:
    if isinstance(value, int | float):
        return dt.datetime.fromtimestamp(float(value), tz=dt.UTC)
    stamp = pd.Timestamp(value)
    if stamp.tzinfo is None:
        stamp = stamp.tz_localize("UTC")
    return stamp.tz_convert("UTC").to_pydatetime()


def _window(start: Any, end: Any, period: int) -> tuple[dt.datetime, dt.datetime]:
    """``start`` floored and ``end`` ceiled to whole periods, so edge buckets count."""
    begin, finish = _utc(start).timestamp(), _utc(end).timestamp()
    if finish < begin:
        raise ValueError(f"end ({end}) is before start ({start})")
    begin = math.floor(begin / period) * period
    finish = max(begin + period, math.ceil(finish / period) * period)
    return _utc(begin), _utc(finish)


def _percentiles_supported(target: Target) -> bool:
    with _no_percentiles_lock:
        return (target.endpoint_url or "") not in _no_percentiles


def _fetch_rows(
    target: Target,
    endpoint_name: str,
    variant: str,
    begin: dt.datetime,
    finish: dt.datetime,
    period: int,
    percentiles: tuple[str, ...],
) -> list[dict[str, Any]]:
    """One attempt; errors are logged and give no rows."""
    cw = target.client("cloudwatch")
    dims = [
        {"Name": "EndpointName", "Value": endpoint_name},
        {"Name": "VariantName", "Value": variant},
    ]
    want = percentiles if _percentiles_supported(target) else ()
    try:
        return _get_metric_data(cw, dims, begin, finish, period, want)
    except ClientError as err:
        status = err.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        code = err.response.get("Error", {}).get("Code", "")
        if want and (status >= 500 or code in ("InternalFailure", "500")):
            logger.warning(
                "CloudWatch at %s cannot compute percentiles; fetching without",
                target.endpoint_url or target.region_name,
            )
            if target.endpoint_url:  # a stand-in such as moto: do not ask it again
                with _no_percentiles_lock:
                    _no_percentiles.add(target.endpoint_url)
            return _fetch_rows(target, endpoint_name, variant, begin, finish, period, ())
        if code not in ("AccessDenied", "AccessDeniedException"):
            logger.warning("CloudWatch metrics for %s unavailable: %s", endpoint_name, err)
            return []
    except BotoCoreError as err:
        logger.warning("CloudWatch metrics for %s unavailable: %s", endpoint_name, err)
        return []
    try:  # allowed GetMetricStatistics only, as the seed toolkit's IAM policy had it
        return _get_metric_statistics(cw, dims, begin, finish, period, want)
    except ClientError as err:
        code = err.response.get("Error", {}).get("Code", "")
        if code in ("AccessDenied", "AccessDeniedException"):
            # neither API is allowed: polling again cannot help, and the user must know
            raise CloudWatchAccessDenied(endpoint_name, err) from err
        logger.warning("CloudWatch metrics for %s unavailable: %s", endpoint_name, err)
        return []
    except BotoCoreError as err:
        logger.warning("CloudWatch metrics for %s unavailable: %s", endpoint_name, err)
        return []


def _get_metric_data(
    cw: Any,
    dims: list[dict[str, str]],
    begin: dt.datetime,
    finish: dt.datetime,
    period: int,
    percentiles: tuple[str, ...],
) -> list[dict[str, Any]]:
    queries, meaning = [], {}
    for metric in SERVERLESS_METRICS:
        stats = STATISTICS + (percentiles if metric.latency else ())
        for stat in stats:
            qid = f"q{len(queries)}"
            meaning[qid] = (metric, stat)
            queries.append(
                {
                    "Id": qid,
                    "MetricStat": {
                        "Metric": {
                            "Namespace": metric.namespace,
                            "MetricName": metric.name,
                            "Dimensions": dims,
                        },
                        "Period": period,
                        "Stat": stat,
                    },
                    "ReturnData": True,
                }
            )
    rows: list[dict[str, Any]] = []
    pages = cw.get_paginator("get_metric_data").paginate(
        MetricDataQueries=queries,
        StartTime=begin,
        EndTime=finish,
        ScanBy="TimestampAscending",
    )
    for page in pages:
        for result in page.get("MetricDataResults", []):
            metric, stat = meaning[result["Id"]]
            for stamp, value in zip(
                result.get("Timestamps", []), result.get("Values", []), strict=False
            ):
                rows.append(_row(metric, stat, stamp, value))
    return rows


def _get_metric_statistics(
    cw: Any,
    dims: list[dict[str, str]],
    begin: dt.datetime,
    finish: dt.datetime,
    period: int,
    percentiles: tuple[str, ...],
) -> list[dict[str, Any]]:
    """The same data, one call per metric, for roles allowed only GetMetricStatistics."""
    rows: list[dict[str, Any]] = []
    for metric in SERVERLESS_METRICS:
        extended = list(percentiles) if metric.latency else []
        kwargs: dict[str, Any] = {
            "Namespace": metric.namespace,
            "MetricName": metric.name,
            "Dimensions": dims,
            "StartTime": begin,
            "EndTime": finish,
            "Period": period,
            "Statistics": list(STATISTICS),
        }
        if extended:
            kwargs["ExtendedStatistics"] = extended
        for point in cw.get_metric_statistics(**kwargs).get("Datapoints", []):
            for stat in STATISTICS:
                if stat in point:
                    rows.append(_row(metric, stat, point["Timestamp"], point[stat]))
            for stat, value in (point.get("ExtendedStatistics") or {}).items():
                rows.append(_row(metric, stat, point["Timestamp"], value))
    return rows


def _row(metric: MetricDef, stat: str, stamp: Any, value: Any) -> dict[str, Any]:
    unit = "Count" if stat == "SampleCount" else metric.unit
    return {
        "metric": metric.name,
        "statistic": stat,
        "timestamp": stamp,
        "value": float(value),
        "unit": unit,
    }


def invocation_counts(
    target: Target,
    endpoint_name: str,
    start: Any,
    end: Any,
    *,
    variant: str = "AllTraffic",
    period: int = 60,
) -> pd.Series:
    """The endpoint's ``Invocations`` per period between ``start`` and ``end``: a Series
    indexed by period start (UTC), every period present (0 where CloudWatch has none).

    One ``GetMetricData`` query (``Sum``), paginated; CloudWatch keeps 1-minute data
    for 15 days, so longer windows need ``period`` of 300 s or more.
    """
    begin, finish = _window(start, end, period)
    dims = [
        {"Name": "EndpointName", "Value": endpoint_name},
        {"Name": "VariantName", "Value": variant},
    ]
    query = {
        "Id": "invocations",
        "MetricStat": {
            "Metric": {
                "Namespace": INVOCATION_NAMESPACE,
                "MetricName": "Invocations",
                "Dimensions": dims,
            },
            "Period": period,
            "Stat": "Sum",
        },
        "ReturnData": True,
    }
    pages = (
        target.client("cloudwatch")
        .get_paginator("get_metric_data")
        .paginate(
            MetricDataQueries=[query], StartTime=begin, EndTime=finish, ScanBy="TimestampAscending"
        )
    )
    counts: dict[pd.Timestamp, float] = {}
    for page in pages:
        for result in page.get("MetricDataResults", []):
            for stamp, value in zip(
                result.get("Timestamps", []), result.get("Values", []), strict=False
            ):
                key = pd.Timestamp(stamp).tz_convert("UTC").floor(f"{period}s")
                counts[key] = counts.get(key, 0.0) + float(value)
    index = pd.date_range(begin, finish, freq=f"{period}s", inclusive="left", tz="UTC")
    return pd.Series(counts, dtype=float).reindex(index, fill_value=0.0)
