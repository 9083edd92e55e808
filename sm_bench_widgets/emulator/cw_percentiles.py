"""Percentile statistics (p50, p90, p99.9, ...) for moto's CloudWatch.

moto computes Sum/Average/Minimum/Maximum/SampleCount but ignores ``ExtendedStatistics`` in
GetMetricStatistics and returns nothing for ``pNN`` in GetMetricData. ``install()`` adds
them, once per process, by extending moto's ``Statistics`` helper and its
GetMetricStatistics response; the other statistics are left as moto computes them.
Percentiles use linear interpolation between the closest ranks over the single values of
the period (values sent as StatisticSets carry no distribution and are skipped, as AWS
does for percentiles of statistic sets).
"""

from __future__ import annotations

import re
import threading
from typing import Any

import numpy as np

PERCENTILE = re.compile(r"^p(\d{1,2}(?:\.\d+)?|100(?:\.0+)?)$")

_lock = threading.Lock()
_installed = False


def percentile_of(stat: str) -> float | None:
    """The percentile a statistic name asks for (``p99.9`` -> 99.9), or None."""
    match = PERCENTILE.match(stat or "")
    return float(match.group(1)) if match else None


def percentile(values: list[float], q: float) -> float | None:
    """The ``q``-th percentile of ``values`` (linear interpolation), or None when empty."""
    if not values:
        return None
    return float(np.percentile(np.asarray(values, dtype=float), q))


def install() -> None:
    """Teach moto's CloudWatch the percentile statistics (idempotent)."""
    global _installed
    with _lock:
        if _installed:
            return
        from moto.cloudwatch import models, responses

        _extend_statistics(models.Statistics)
        _extend_get_metric_statistics(responses.CloudWatchResponse)
        _installed = True


def _extend_statistics(cls: Any) -> None:
    original = cls.get_statistics_for_type

    def get_statistics_for_type(self: Any, stat: str) -> Any:
        q = percentile_of(stat)
        if q is None:
            return original(self, stat)
        return percentile(self.metric_single_values_list, q)

    def extended_statistics(self: Any) -> dict[str, float] | None:
        wanted = [s for s in self.stats if percentile_of(s) is not None]
        if not wanted:
            return None
        values = self.metric_single_values_list
        out = {s: percentile(values, percentile_of(s)) for s in wanted}
        return {k: v for k, v in out.items() if v is not None} or None

    cls.get_statistics_for_type = get_statistics_for_type
    cls.extended_statistics = property(extended_statistics)


def _extend_get_metric_statistics(cls: Any) -> None:
    original = cls.get_metric_statistics

    def get_metric_statistics(self: Any) -> Any:
        extended = self._get_param("ExtendedStatistics") or []
        if not extended:
            return original(self)
        from moto.cloudwatch.exceptions import InvalidParameterValue
        from moto.core.responses import ActionResult

        for stat in extended:
            if percentile_of(stat) is None:
                raise InvalidParameterValue(
                    f"The value {stat} for parameter ExtendedStatistics is not supported."
                )
        metric_name = self._get_param("MetricName")
        datapoints = self.cloudwatch_backend.get_metric_statistics(
            self._get_param("Namespace"),
            metric_name,
            self._get_param("StartTime"),
            self._get_param("EndTime"),
            self._get_int_param("Period"),
            list(self._get_param("Statistics", [])) + list(extended),
            unit=self._get_param("Unit"),
            dimensions=self._get_param("Dimensions", []),
        )
        return ActionResult({"Label": metric_name, "Datapoints": datapoints})

    cls.get_metric_statistics = get_metric_statistics
