"""The user's traffic: what the recommendation sizes the endpoint for.

Four ways to say it, each a constructor of ``Traffic``:
- ``Traffic.rates(average_rps, peak_rps)``;
- ``Traffic.monthly(invocations, peak_concurrency)``: the peak is then a number of
  requests in flight, turned into a rate with the measured service time;
- ``Traffic.from_trace(path)``: a file of request timestamps (epoch seconds or ISO 8601,
  one a line) or of counts per minute (``minute,count`` lines);
- ``Traffic.from_cloudwatch(target, endpoint_name, days)``: the ``Invocations`` of an
  existing endpoint over the last days.
A trace or CloudWatch history keeps its per-minute shape, which open-loop load can replay.
Bad values raise ``ConfigError`` naming the field (``traffic.<name>``).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from sm_bench_widgets.analysis.pricing import SECONDS_PER_MONTH
from sm_bench_widgets.analysis.traffic import (
    DEFAULT_IDLE_WINDOW_S,
    DEFAULT_THROTTLE_LIMIT,
    TrafficNeeds,
)
from sm_bench_widgets.config import ConfigError

FIELD = "traffic"
SOURCES = ("rates", "monthly", "trace", "cloudwatch")
# CloudWatch keeps 1-minute data for 15 days, 5-minute data for 63 days.
CLOUDWATCH_MAX_DAYS = 63


def _positive(name: str, value: Any, allow_zero: bool = True) -> float:
    ok = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    if not ok or value < 0 or (not allow_zero and value == 0):
        bound = ">= 0" if allow_zero else "> 0"
        raise ConfigError(f"{FIELD}.{name}", value, f"a finite number {bound}")
    return float(value)


@dataclass(frozen=True)
class Traffic:
    """Average and peak load, the throttling the user accepts at the peak, and the
    idle-reclaim window that decides cold starts (not documented by AWS: give yours, or
    ``probe_idle_window=True`` to measure it in the run, by idle gaps up to 4 times it)."""

    average_rps: float
    peak_rps: float | None = None
    peak_concurrency: float | None = None
    throttle_limit: float = DEFAULT_THROTTLE_LIMIT
    idle_window_s: float = DEFAULT_IDLE_WINDOW_S
    per_minute: tuple[float, ...] = ()
    source: str = "rates"
    probe_idle_window: bool = False

    def __post_init__(self) -> None:
        _positive("average_rps", self.average_rps)
        if (self.peak_rps is None) == (self.peak_concurrency is None):
            raise ConfigError(
                f"{FIELD}.peak_rps",
                self.peak_rps,
                "exactly one of peak_rps (requests per second) or peak_concurrency "
                "(requests in flight)",
            )
        if self.peak_rps is not None:
            peak = _positive("peak_rps", self.peak_rps)
            if peak < self.average_rps:
                raise ConfigError(
                    f"{FIELD}.peak_rps",
                    self.peak_rps,
                    f"a rate at least the average_rps ({self.average_rps:g})",
                )
        if self.peak_concurrency is not None:
            _positive("peak_concurrency", self.peak_concurrency, allow_zero=False)
        limit = self.throttle_limit
        if not isinstance(limit, int | float) or isinstance(limit, bool) or not 0 < limit < 1:
            raise ConfigError(
                f"{FIELD}.throttle_limit", limit, "a share between 0 and 1, e.g. 0.001 for 0.1%"
            )
        _positive("idle_window_s", self.idle_window_s, allow_zero=False)
        if not isinstance(self.probe_idle_window, bool):
            raise ConfigError(f"{FIELD}.probe_idle_window", self.probe_idle_window, "True or False")
        if self.source not in SOURCES:
            raise ConfigError(f"{FIELD}.source", self.source, f"one of {', '.join(SOURCES)}")
        if not all(isinstance(x, int | float) and x >= 0 for x in self.per_minute):
            raise ConfigError(f"{FIELD}.per_minute", "...", "counts per minute, each >= 0")
        object.__setattr__(self, "per_minute", tuple(float(x) for x in self.per_minute))

    # -- constructors -------------------------------------------------------------------
    @classmethod
    def rates(cls, average_rps: float, peak_rps: float, **options: Any) -> Traffic:
        """Traffic given as average and peak requests per second."""
        return cls(average_rps=average_rps, peak_rps=peak_rps, source="rates", **options)

    @classmethod
    def monthly(cls, invocations: float, peak_concurrency: float, **options: Any) -> Traffic:
        """Traffic given as invocations a month (730 hours) and requests in flight at peak."""
        count = _positive("monthly_invocations", invocations)
        return cls(
            average_rps=count / SECONDS_PER_MONTH,
            peak_concurrency=peak_concurrency,
            source="monthly",
            **options,
        )

    @classmethod
    def from_counts(cls, per_minute: Any, source: str = "trace", **options: Any) -> Traffic:
        """Traffic from requests counted per minute: the average over every minute, the
        peak as the busiest minute's rate."""
        counts = [float(x) for x in per_minute]
        if not counts or sum(counts) <= 0:
            raise ConfigError(
                f"{FIELD}.per_minute", "...", "at least one minute with a request in it"
            )
        return cls(
            average_rps=sum(counts) / (60.0 * len(counts)),
            peak_rps=max(counts) / 60.0,
            per_minute=tuple(counts),
            source=source,
            **options,
        )

    @classmethod
    def from_trace(cls, path: str | Path, **options: Any) -> Traffic:
        """Traffic from a trace file: one request timestamp a line (epoch seconds or ISO
        8601), or ``minute,count`` lines; a header line is allowed."""
        return cls.from_counts(read_trace(path), source="trace", **options)

    @classmethod
    def from_cloudwatch(
        cls,
        target: Any,
        endpoint_name: str,
        days: float = 7,
        *,
        variant: str = "AllTraffic",
        now: dt.datetime | None = None,
        **options: Any,
    ) -> Traffic:
        """Traffic from an existing endpoint's CloudWatch ``Invocations`` over the last
        ``days`` (1-minute periods up to 15 days, 5-minute ones beyond)."""
        from sm_bench_widgets.aws.cloudwatch import invocation_counts

        if not isinstance(days, int | float) or not 0 < days <= CLOUDWATCH_MAX_DAYS:
            raise ConfigError(
                f"{FIELD}.days", days, f"a number of days above 0, at most {CLOUDWATCH_MAX_DAYS}"
            )
        end = now or dt.datetime.now(dt.UTC)
        period = 60 if days <= 15 else 300
        counts = invocation_counts(
            target,
            endpoint_name,
            end - dt.timedelta(days=days),
            end,
            variant=variant,
            period=period,
        )
        per_minute = [v / (period / 60) for v in counts for _ in range(period // 60)]
        if not per_minute or sum(per_minute) <= 0:
            raise ConfigError(
                f"{FIELD}.endpoint_name",
                endpoint_name,
                f"an endpoint with Invocations in CloudWatch over the last {days:g} days",
            )
        return cls.from_counts(per_minute, source="cloudwatch", **options)

    @classmethod
    def coerce(cls, value: Any) -> Traffic | None:
        """``value`` as Traffic: None, a Traffic, or its dict (as ``to_dict`` gives)."""
        if value is None or isinstance(value, Traffic):
            return value
        if not isinstance(value, dict):
            raise ConfigError(
                FIELD, value, "None, a Traffic (e.g. Traffic.rates(5, 40)) or its dict"
            )
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted((k for k in value if k not in known), key=str)
        if unknown:
            raise ConfigError(
                f"{FIELD}.{unknown[0]}", value[unknown[0]], f"one of {', '.join(sorted(known))}"
            )
        data = dict(value)
        if "per_minute" in data:
            data["per_minute"] = tuple(data["per_minute"] or ())
        if "average_rps" not in data:
            raise ConfigError(f"{FIELD}.average_rps", None, "a finite number >= 0")
        return cls(**data)

    # -- use ----------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """Plain values for JSON."""
        data = dataclasses.asdict(self)
        data["per_minute"] = list(self.per_minute)
        return data

    @property
    def monthly_invocations(self) -> int:
        """Invocations in a month (730 hours) at the average rate."""
        return int(round(self.average_rps * SECONDS_PER_MONTH))

    def peak_rate(self, mean_service_ms: float) -> float:
        """Peak requests per second; a peak given in requests in flight is divided by
        the mean service time (Little's law)."""
        if self.peak_rps is not None:
            return float(self.peak_rps)
        return float(self.peak_concurrency) / (mean_service_ms / 1000.0)

    def needs(self, mean_service_ms: float) -> TrafficNeeds:
        """The figures the traffic model needs, at a measured mean service time."""
        peak = max(self.peak_rate(mean_service_ms), self.average_rps)
        return TrafficNeeds(self.average_rps, peak, self.throttle_limit, self.idle_window_s)

    def describe(self) -> str:
        """One line: how the traffic was given and its figures."""
        peak = (
            f"peak {self.peak_rps:.3g} req/s"
            if self.peak_rps is not None
            else f"peak {self.peak_concurrency:g} requests in flight"
        )
        shape = f" over {len(self.per_minute)} minutes" if self.per_minute else ""
        return (
            f"{self.source}{shape}: average {self.average_rps:.3g} req/s "
            f"({self.monthly_invocations:,} a month), {peak}"
        )


def monthly_volume(config: Any) -> int:
    """The monthly invocations every monthly figure of a run is at: the traffic's volume
    when ``config.traffic`` is given, else ``config.monthly_invocations``."""
    traffic = Traffic.coerce(getattr(config, "traffic", None))
    return traffic.monthly_invocations if traffic is not None else int(config.monthly_invocations)


def read_trace(path: str | Path) -> list[float]:
    """Requests per minute from a trace file (see ``Traffic.from_trace``)."""
    name = f"{FIELD}.trace"
    try:
        frame = pd.read_csv(path, header=None, comment="#", skip_blank_lines=True, dtype=str)
    except (OSError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise ConfigError(name, str(path), f"a readable trace file ({exc})") from exc
    if frame.empty:
        raise ConfigError(name, str(path), "a trace with at least one line")
    if _stamps(frame.iloc[:1, 0]).isna().all():  # a header line
        frame = frame.iloc[1:]
    stamps = _stamps(frame.iloc[:, 0])
    if stamps.isna().any() or stamps.empty:
        bad = frame.iloc[:, 0][stamps.isna()].head(1).tolist()
        raise ConfigError(
            name, bad[0] if bad else str(path), "timestamps: epoch seconds or ISO 8601"
        )
    minutes = stamps.dt.floor("min")
    if frame.shape[1] >= 2:
        counts = pd.to_numeric(frame.iloc[:, 1], errors="coerce")
        if counts.isna().any() or (counts < 0).any():
            raise ConfigError(name, str(path), "minute,count lines with counts >= 0")
        per = counts.groupby(minutes.to_numpy()).sum()
    else:
        per = minutes.value_counts()
    index = pd.date_range(per.index.min(), per.index.max(), freq="min")
    return [float(x) for x in per.reindex(index, fill_value=0)]


def _stamps(column: pd.Series) -> pd.Series:
    numbers = pd.to_numeric(column, errors="coerce")
    if numbers.notna().all():
        return pd.to_datetime(numbers, unit="s", utc=True)
    return pd.to_datetime(column, utc=True, errors="coerce", format="ISO8601")
