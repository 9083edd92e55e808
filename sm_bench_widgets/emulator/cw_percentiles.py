"""Percentile statistics (p50, p90, p99.9, ...) for moto's CloudWatch.

moto computes Sum/Average/Minimum/Maximum/SampleCount but ignores ``ExtendedStatistics`` in
GetMetricStatistics and returns nothing for ``pNN`` in GetMetricData. ``install()`` adds
them, once per process, through ``moto_adapter`` (which extends moto's statistics helper and
its GetMetricStatistics response); the other statistics are left as moto computes them.
Percentiles use linear interpolation between the closest ranks over the single values of
the period (values sent as StatisticSets carry no distribution and are skipped, as AWS
does for percentiles of statistic sets).
"""

from __future__ import annotations

import re
import threading

import numpy as np

from sm_bench_widgets.emulator import moto_adapter

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
        moto_adapter.add_cloudwatch_statistics(percentile_of, percentile)
        _installed = True
