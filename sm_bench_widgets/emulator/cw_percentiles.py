"""Percentile statistics (p50, p90, p99.9, ...) for moto's CloudWatch, from per-minute sketches.

moto computes Sum/Average/Minimum/Maximum/SampleCount but ignores ``ExtendedStatistics`` in
GetMetricStatistics and returns nothing for ``pNN`` in GetMetricData. ``install()`` adds
them, once per process, through ``moto_adapter`` (which extends moto's statistics helper and
its GetMetricStatistics response); the other statistics are left as moto computes them.

The emulator's own metrics are kept as one aggregate per metric, dimensions and minute, as
CloudWatch keeps them, each with a ``ValueSketch`` of its values: the values themselves up
to ``EXACT_LIMIT`` (percentiles then exact, linear interpolation between the closest ranks),
beyond that log-spaced buckets within ``RELATIVE_ACCURACY`` of each value (AWS, too,
answers percentiles from a sketch of its own). Values sent as StatisticSets carry no
distribution and are skipped, as AWS does for percentiles of statistic sets.
"""

from __future__ import annotations

import math
import re
import threading
from collections.abc import Iterable

import numpy as np

from sm_bench_widgets.emulator import moto_adapter

PERCENTILE = re.compile(r"^p(\d{1,2}(?:\.\d+)?|100(?:\.0+)?)$")
EXACT_LIMIT = 1024  # values kept as they are in one minute's sketch
RELATIVE_ACCURACY = 0.005  # of a bucketed value: within 0.5 %
_GAMMA = (1 + RELATIVE_ACCURACY) / (1 - RELATIVE_ACCURACY)
_LOG_GAMMA = math.log(_GAMMA)

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


def _bucket(value: float) -> int:
    """The bucket of a value: 0 for values <= 0, else i with value in (g^(i-1), g^i]."""
    if value <= 0:
        return 0
    return math.ceil(math.log(value) / _LOG_GAMMA) + 1_000_000


def _bucket_value(index: int) -> float:
    """The value a bucket stands for (within RELATIVE_ACCURACY of all it holds)."""
    if index == 0:
        return 0.0
    i = index - 1_000_000
    return 2 * _GAMMA**i / (_GAMMA + 1)


class ValueSketch:
    """The distribution of one metric's values in one minute, in bounded memory."""

    __slots__ = ("_buckets", "_lock", "_values", "count")

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._values: list[float] | None = []
        self._buckets: dict[int, int] = {}
        self.count = 0

    def add(self, value: float) -> None:
        """Count one value."""
        with self._lock:
            self.count += 1
            if self._values is not None:
                self._values.append(value)
                if len(self._values) > EXACT_LIMIT:
                    for v in self._values:
                        self._add_bucket(v)
                    self._values = None
            else:
                self._add_bucket(value)

    def _add_bucket(self, value: float) -> None:
        index = _bucket(value)
        self._buckets[index] = self._buckets.get(index, 0) + 1

    def snapshot(self) -> tuple[list[float] | None, dict[int, int]]:
        """Its exact values (None once bucketed) and its buckets, copied."""
        with self._lock:
            values = list(self._values) if self._values is not None else None
            return values, dict(self._buckets)

    @property
    def exact(self) -> bool:
        """Whether it still holds every value as it is."""
        return self._values is not None


def sketch_percentile(
    values: Iterable[float], sketches: Iterable[ValueSketch], q: float
) -> float | None:
    """The ``q``-th percentile of single ``values`` and ``sketches`` together, or None.

    Exact (as ``percentile``) while every sketch holds its values; otherwise from merged
    buckets, linear interpolation between the closest ranks, within RELATIVE_ACCURACY.
    """
    exact = list(values)
    buckets: dict[int, int] = {}
    for sketch in sketches:
        kept, counted = sketch.snapshot()
        if kept is not None:
            exact.extend(kept)
        for index, n in counted.items():
            buckets[index] = buckets.get(index, 0) + n
    if not buckets:
        return percentile(exact, q)
    for v in exact:
        index = _bucket(v)
        buckets[index] = buckets.get(index, 0) + 1
    order = sorted(buckets)
    counts = np.cumsum([buckets[i] for i in order])
    rank = q / 100 * (int(counts[-1]) - 1)
    low, high = math.floor(rank), math.ceil(rank)

    def at(r: int) -> float:
        return _bucket_value(order[int(np.searchsorted(counts, r, side="right"))])

    lo = at(low)
    return lo + (at(high) - lo) * (rank - low)


def install() -> None:
    """Teach moto's CloudWatch the percentile statistics (idempotent)."""
    global _installed
    with _lock:
        if _installed:
            return
        moto_adapter.add_cloudwatch_statistics(percentile_of, sketch_percentile)
        moto_adapter.round_metric_query_start()
        _installed = True
