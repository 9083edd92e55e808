"""``BenchmarkResult``: what a benchmark measured, its derived tables and recommendation.

A result holds what was measured (the config, one row per invocation, CloudWatch rows and
the run's status) and derives everything else on first use through ``analysis``: trial
summaries, cold starts, prices, costs, break-even and the recommendation. A result with
no successful invocation, or from a stopped run, still builds, saves, loads and renders;
its recommendation is then None and ``recommendation_reason`` says why. Saving, exports
and display are delegated to ``persistence``, ``exports`` and ``render``.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import math
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from sm_bench_widgets.analysis import cost, pricing, recommend, stats, traffic
from sm_bench_widgets.config import BenchmarkConfig, ConfigError
from sm_bench_widgets.engine import load_check
from sm_bench_widgets.frames import normalize_cloudwatch, normalize_invocations
from sm_bench_widgets.result import exports, persistence, render
from sm_bench_widgets.result.persistence import FORMAT, FORMAT_VERSION
from sm_bench_widgets.schema import COLD_START_COLUMNS
from sm_bench_widgets.traffic import monthly_volume

EMULATED_LABEL = "emulated"
TABLES = (
    "invocations",
    "stability",
    "concurrency",
    "cold_starts",
    "cloudwatch",
    "costs",
    "break_even",
    "prices",
)
_KEEP: Any = object()  # rerank default: keep the configured value


def _timestamp(value: Any) -> pd.Timestamp | None:
    """A UTC timestamp from epoch seconds, a datetime or an ISO string (None stays None)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, int | float):
        return pd.Timestamp(value, unit="s", tz="UTC")
    stamp = pd.Timestamp(value)
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")


def _jsonable(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, pd.Timestamp | dt.datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [_jsonable(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, str | bytes):
        return _jsonable(value.item())
    return value


# -- the result ---------------------------------------------------------------------------
class BenchmarkResult:
    """What a benchmark measured and what follows from it; derived tables computed once."""

    def __init__(
        self,
        config: BenchmarkConfig,
        invocations: pd.DataFrame | None,
        cloudwatch: pd.DataFrame | None = None,
        run_id: str = "",
        run_dir: str | os.PathLike[str] | None = None,
        emulated: bool = False,
        status: str = "completed",
        stop_reasons: Mapping[str, str] | None = None,
        started_at: Any = None,
        ended_at: Any = None,
        region: str | None = None,
        errors: list[str] | None = None,
        time_scale: float | None = None,
        account_concurrency_quota: int | None = None,
    ):
        self.config = config
        # the account's total serverless concurrency quota the run planned with (None: not
        # read); the traffic answer keeps within it
        self.account_concurrency_quota = (
            int(account_concurrency_quota) if account_concurrency_quota is not None else None
        )
        # the emulator's time scale; every figure is on the service's clock whatever it was
        self.time_scale = float(time_scale) if time_scale is not None else None
        self.run_id = run_id
        self.run_dir = Path(run_dir) if run_dir is not None else None
        self.emulated = bool(emulated)
        self.status = status
        self.stop_reasons = dict(stop_reasons or {})
        self.started_at = _timestamp(started_at)
        self.ended_at = _timestamp(ended_at)
        self.region = region or config.region
        self.errors = list(errors or [])
        self._cloudwatch = normalize_cloudwatch(cloudwatch)
        self._cache: dict[str, Any] = {}
        self.invocations = invocations

    # -- measured data ------------------------------------------------------------------
    @property
    def invocations(self) -> pd.DataFrame:
        """One row per invocation (``INVOCATION_COLUMNS``); assigning clears derived tables."""
        return self._invocations

    @invocations.setter
    def invocations(self, frame: pd.DataFrame | None) -> None:
        self._invocations = normalize_invocations(frame)
        self._cache = {}

    @property
    def cloudwatch(self) -> pd.DataFrame:
        """CloudWatch rows of the run's endpoints (``CLOUDWATCH_COLUMNS``), maybe empty."""
        return self._cloudwatch

    @property
    def label(self) -> str:
        """``emulated`` for results from the local emulator, else ``""``."""
        return EMULATED_LABEL if self.emulated else ""

    @property
    def emulation_note(self) -> str:
        """What emulated figures are, with the emulator's time scale; ``""`` on AWS."""
        if not self.emulated:
            return ""
        scale = f" at time scale {self.time_scale:g}" if self.time_scale is not None else ""
        return (
            f"Results are emulated by the local emulator{scale}, not measured on AWS; "
            "figures are on the service's own clock."
        )

    def _cached(self, key: str, build):
        if key not in self._cache:
            self._cache[key] = build()
        return self._cache[key]

    # -- summaries ----------------------------------------------------------------------
    @property
    def summary(self) -> pd.DataFrame:
        """Every trial's summary (``SUMMARY_COLUMNS``); cold-start probes count in their trial."""
        return self._cached(
            "summary",
            lambda: stats.summarize(self._invocations, self.stop_reasons, self.config.confidence),
        )

    def _phase(self, phase: str) -> pd.DataFrame:
        table = self.summary
        return table.loc[(table["phase"] == phase).astype(bool)].reset_index(drop=True)

    @property
    def stability(self) -> pd.DataFrame:
        """Summaries of the stability trials (one per memory size and provisioned variant)."""
        return self._cached("stability", lambda: self._phase("stability"))

    @property
    def concurrency(self) -> pd.DataFrame:
        """Summaries of the concurrency trials (max concurrency x clients)."""
        return self._cached("concurrency", lambda: self._phase("concurrency"))

    @property
    def cold_starts(self) -> pd.DataFrame:
        """Per trial with cold starts: their count, median and max against the warm median."""
        return self._cached("cold_starts", self._cold_starts)

    def _cold_starts(self) -> pd.DataFrame:
        inv = self._invocations
        cold = inv.loc[inv["cold"]]
        if cold.empty:
            return pd.DataFrame(columns=COLD_START_COLUMNS)
        keys = ["memory_size", "max_concurrency", "provisioned_concurrency"]
        warm_ok = inv.loc[(inv["outcome"] == "ok") & ~inv["cold"]]
        by_config = {k: g["latency_ms"] for k, g in warm_ok.groupby(keys)}
        rows = []
        for trial_id, group in cold.groupby("trial_id", sort=False):
            first = group.iloc[0]
            cold_lat = group.loc[group["outcome"] == "ok", "latency_ms"].dropna()
            warm = warm_ok.loc[warm_ok["trial_id"] == trial_id, "latency_ms"]
            if warm.empty:
                warm = by_config.get(tuple(int(first[k]) for k in keys), warm)
            cold_p50 = _median(cold_lat)
            warm_p50 = _median(warm)
            rows.append(
                {
                    "trial_id": trial_id,
                    **{k: int(first[k]) for k in keys},
                    "cold_count": len(group),
                    "cold_p50_ms": cold_p50,
                    "cold_max_ms": float(cold_lat.max()) if len(cold_lat) else math.nan,
                    "warm_p50_ms": warm_p50,
                    "cold_penalty_ms": cold_p50 - warm_p50,
                }
            )
        return pd.DataFrame(rows, columns=COLD_START_COLUMNS)

    # -- prices, costs, recommendation --------------------------------------------------
    @property
    def prices(self) -> pricing.Prices:
        """Prices of the run's region with the config's overrides (us-east-1 if unknown)."""
        return self._cached("prices", self._prices)

    def _prices(self) -> pricing.Prices:
        try:
            return pricing.get_prices(self.region, self.config.pricing_overrides)
        except ConfigError as exc:
            if exc.field != "region":
                raise
            self._note(f"No prices for region {self.region}: us-east-1 prices used.")
            return pricing.get_prices("us-east-1", self.config.pricing_overrides)

    @property
    def notes(self) -> list[str]:
        """Caveats found while deriving the tables (e.g. prices taken from another region)."""
        self.prices  # noqa: B018 - computing prices may add a note
        overhead = self.client_overhead
        if overhead is not None and overhead.distorting:
            self._note(overhead.warning)
        return list(self._cache.get("notes", []))

    @property
    def client_overhead(self) -> load_check.ClientOverhead | None:
        """What the load generator added to the recorded latencies (p50/p99 ms, share of
        the p50 latency, ``engine.load_check``); None for rows that do not tell it."""
        return self._cached(
            "client_overhead",
            lambda: load_check.client_overhead(self._invocations, self.emulated),
        )

    def _note(self, text: str) -> None:
        notes = self._cache.setdefault("notes", [])
        if text not in notes:
            notes.append(text)

    def _cost_table(self, monthly: int) -> pd.DataFrame:
        # The endpoints' ModelLatency is the billed duration, on AWS and on the emulator
        # (whose figures are on the service's clock); an emulated run recorded before its
        # time scale was kept has round trips on the emulator's clock, so it bills on those.
        billed = None if self.emulated and self.time_scale is None else self._cloudwatch
        return cost.cost_table(self.summary, self._invocations, self.prices, monthly, billed)

    @property
    def monthly_invocations(self) -> int:
        """The volume every monthly figure is at: the traffic's (``config.traffic``) when
        given, else ``config.monthly_invocations``."""
        return monthly_volume(self.config)

    @property
    def costs(self) -> pd.DataFrame:
        """Cost per invocation, per 1M and per month per configuration (``COST_COLUMNS``),
        at ``monthly_invocations``."""
        return self._cached("costs", lambda: self._cost_table(self.monthly_invocations))

    def costs_at(self, monthly_invocations: int) -> pd.DataFrame:
        """The cost table at another monthly volume (the last one asked for is kept)."""
        monthly = monthly_invocations
        if isinstance(monthly, bool) or not isinstance(monthly, int) or monthly < 0:
            raise ConfigError("monthly_invocations", monthly, "a whole number >= 0")
        if monthly == self.monthly_invocations:
            return self.costs
        kept = self._cache.get("costs_at")
        if kept is None or kept[0] != monthly:
            kept = self._cache["costs_at"] = (monthly, self._cost_table(monthly))
        return kept[1]

    @property
    def break_even(self) -> pd.DataFrame:
        """Monthly invocations from which the comparison instance endpoint is cheaper."""
        return self._cached(
            "break_even",
            lambda: cost.break_even_table(
                self.costs, self.prices, self.config.comparison_instance_type
            ),
        )

    @property
    def recommendation(self) -> recommend.Recommendation | None:
        """What to deploy by the configured strategy and constraints, or None (see reason)."""
        return self._recommend()[0]

    @property
    def recommendation_reason(self) -> str:
        """Why there is no recommendation ("" when there is one)."""
        return self._recommend()[1]

    def _recommend(self) -> tuple[recommend.Recommendation | None, str]:
        c = self.config
        return self._cached(
            "recommendation",
            lambda: self._rank(
                self.costs,
                c.strategy,
                c.balanced_weight,
                c.sla_percentile,
                c.sla_ms,
                c.max_error_rate,
                honour_racing=True,
                monthly=self.monthly_invocations,
            ),
        )

    def _rank(
        self,
        costs: pd.DataFrame,
        strategy: str,
        weight: float,
        sla_percentile: int | None,
        sla_ms: float | None,
        max_error_rate: float | None,
        honour_racing: bool,
        monthly: int,
    ) -> tuple[recommend.Recommendation | None, str]:
        if not (self._invocations["outcome"] == "ok").any():
            what = "no invocations" if self._invocations.empty else "no successful invocations"
            return None, f"The run has {what} to recommend from (status: {self.status})."
        rec, reason = recommend.recommend_or_reason(
            self.summary,
            costs,
            strategy,
            weight,
            sla_percentile,
            sla_ms,
            max_error_rate,
            self.config.indifference,
            honour_racing,
        )
        if rec is not None:
            for r in (rec, rec.runner_up):
                if r is not None:
                    r.monthly_invocations = monthly
            answer = self.traffic_answer_at(rec.memory_size, sla_percentile, sla_ms)
            if answer is not None:
                rec.traffic = answer.to_dict()
                rec.reasons = [*answer.evidence, *rec.reasons]
                if monthly == self.monthly_invocations:
                    # the month of what the answer deploys (its provisioned instances too)
                    rec.monthly_cost_usd = answer.monthly_cost_usd
            planned = self._planned(rec.memory_size)
            rec.not_measured = recommend.unmeasured(
                self.summary, planned, rec, self.status != "completed"
            )
        return rec, reason

    @property
    def traffic_answer(self) -> traffic.TrafficAnswer | None:
        """What to deploy for ``config.traffic`` at the recommended memory size, with its
        options and monthly costs; None without traffic or a recommendation."""
        rec = self.recommendation
        if rec is None:
            return None
        c = self.config
        return self.traffic_answer_at(rec.memory_size, c.sla_percentile, c.sla_ms)

    def traffic_answer_at(
        self, memory_size: int, sla_percentile: int | None, sla_ms: float | None
    ) -> traffic.TrafficAnswer | None:
        """``traffic.answer_from_frames`` for ``config.traffic`` at ``memory_size``."""
        given = self.config.traffic
        if given is None:
            return None
        return self._cached(
            f"traffic-{memory_size}-{sla_percentile}-{sla_ms}",
            lambda: traffic.answer_from_frames(
                self._invocations,
                self.cold_starts,
                self.costs,
                given.needs,
                self.prices,
                memory_size,
                sla_ms=sla_ms,
                sla_percentile=sla_percentile,
                instance_type=self.config.comparison_instance_type,
                slice_s=self._replay_slice_s,
                account_max_concurrency=(
                    self.account_concurrency_quota or self.config.account_max_concurrency
                ),
                region=self.region,
            ),
        )

    @property
    def throttle_check(self) -> pd.DataFrame:
        """Erlang-B's predicted throttle share beside the measured one, per open-loop trial."""
        return self._cached(
            "throttle_check",
            lambda: traffic.throttle_check(self._invocations, self._replay_slice_s),
        )

    @property
    def _replay_slice_s(self) -> float | None:
        """Seconds each trace minute took in open-loop trials replaying the traffic's
        shape (a trace or CloudWatch history); None for Poisson arrivals."""
        from sm_bench_widgets.engine.openloop import TRACE_MINUTE_S

        given = self.config.traffic
        return TRACE_MINUTE_S if given is not None and given.per_minute else None

    def _planned(self, memory_size: int) -> list[tuple[str, int, int, int, int]]:
        """The trials the config plans: stability, and concurrency at ``memory_size``."""
        from sm_bench_widgets.engine.plan import plan_concurrency, plan_stability

        trials = plan_stability(self.config)
        # a provisioned value no MaxConcurrency holds plans no concurrency trial
        with contextlib.suppress(ConfigError):
            trials += plan_concurrency(self.config, memory_size)
        return [
            (t.phase, t.memory_size, t.max_concurrency, t.provisioned_concurrency, t.clients)
            for t in trials
        ]

    def rerank(
        self,
        strategy: str | None = None,
        weight: float | None = None,
        sla_percentile: Any = _KEEP,
        sla_ms: Any = _KEEP,
        max_error_rate: Any = _KEEP,
        monthly_invocations: int | None = None,
    ) -> recommend.Recommendation | None:
        """The recommendation under other choices, from the measured data (no new run).

        An argument left out keeps the configured value; ``sla_ms=None`` and
        ``max_error_rate=None`` given explicitly drop that constraint. With ``sla_ms`` but
        no percentile, the configured percentile (else 90) is used.
        """
        c = self.config
        strategy = c.strategy if strategy is None else strategy
        weight = c.balanced_weight if weight is None else weight
        sla_ms = c.sla_ms if sla_ms is _KEEP else sla_ms
        sla_percentile = c.sla_percentile if sla_percentile is _KEEP else sla_percentile
        if sla_ms is None:
            sla_percentile = None
        elif sla_percentile is None:
            sla_percentile = c.sla_percentile or 90
        max_error_rate = c.max_error_rate if max_error_rate is _KEEP else max_error_rate
        volume = self.monthly_invocations
        monthly = volume if monthly_invocations is None else monthly_invocations
        costs = self.costs_at(monthly)
        # racing's verdicts hold for the rule and constraints the run raced by
        raced = (strategy, weight, sla_percentile, sla_ms, max_error_rate, monthly) == (
            c.strategy,
            c.balanced_weight,
            c.sla_percentile,
            c.sla_ms,
            c.max_error_rate,
            volume,
        )
        return self._rank(
            costs, strategy, weight, sla_percentile, sla_ms, max_error_rate, raced, monthly
        )[0]

    # -- metadata -----------------------------------------------------------------------
    @property
    def time_span(self) -> tuple[pd.Timestamp | None, pd.Timestamp | None]:
        """(start, end): the given time stamps, else those of the first and last invocation."""
        inv = self._invocations
        start, end = self.started_at, self.ended_at
        if start is None and len(inv):
            start = _timestamp(float(inv["start"].min()))
        if end is None and len(inv):
            end = _timestamp(float(inv["end"].max()))
        return start, end

    def meta(self) -> dict[str, Any]:
        """The run's description: ids, status, emulated label, times, format version."""
        from sm_bench_widgets import __version__

        start, end = self.time_span
        rec, reason = self._recommend()
        prices = self.prices
        return _jsonable(
            {
                "format": FORMAT,
                "format_version": FORMAT_VERSION,
                "package_version": __version__,
                "run_id": self.run_id,
                "status": self.status,
                "emulated": self.emulated,
                "time_scale": self.time_scale,
                "account_concurrency_quota": self.account_concurrency_quota,
                "label": self.label,
                "region": self.region,
                "started_at": start,
                "ended_at": end,
                "stop_reasons": self.stop_reasons,
                "errors": self.errors,
                "invocations": len(self._invocations),
                "recommendation": rec.to_dict() if rec else None,
                "recommendation_reason": reason,
                "prices": {"region": prices.region, "as_of": prices.as_of, "source": prices.source},
                "notes": self.notes,
                "client_overhead": (
                    self.client_overhead.to_dict() if self.client_overhead else None
                ),
            }
        )

    # -- tables -------------------------------------------------------------------------
    def price_table(self) -> pd.DataFrame:
        """Each price used: name, value in USD, date and source."""
        figures = self.prices.figures
        return pd.DataFrame(
            [
                {"name": k, "usd": f.value, "as_of": f.as_of, "source": f.source}
                for k, f in figures.items()
            ],
            columns=["name", "usd", "as_of", "source"],
        )

    def tables(self) -> dict[str, pd.DataFrame]:
        """Every table by name (``TABLES``), as exported."""
        return {
            "invocations": self.invocations,
            "stability": self.stability,
            "concurrency": self.concurrency,
            "cold_starts": self.cold_starts,
            "cloudwatch": self.cloudwatch,
            "costs": self.costs,
            "break_even": self.break_even,
            "prices": self.price_table(),
        }

    def recommendation_table(self) -> pd.DataFrame:
        """The recommendation (and runner-up) as one row each, for exports."""
        rec = self.recommendation
        if rec is None:
            return pd.DataFrame([{"role": "none", "reason": self.recommendation_reason}])
        rows = []
        for role, r in (("recommended", rec), ("runner-up", rec.runner_up)):
            if r is not None:
                data = r.to_dict()
                data.pop("runner_up")
                data["reasons"] = " ".join(data["reasons"])
                data["not_measured"] = "; ".join(data["not_measured"])
                rows.append({"role": role, **data})
        return pd.DataFrame(rows)

    # -- save and load ------------------------------------------------------------------
    def save(self, directory: str | os.PathLike[str], table_format: str | None = None) -> Path:
        """Write a self-describing folder: meta.json, config.json, invocations and CloudWatch.

        Tables are Parquet when pyarrow is installed, else CSV (``table_format`` "parquet"
        or "csv" chooses); ``meta.json`` names the files, their columns and dtypes, and the
        format version ``load`` checks.
        """
        return persistence.save(self, directory, table_format)

    @classmethod
    def load(cls, directory: str | os.PathLike[str]) -> BenchmarkResult:
        """Read a folder written by ``save``, or a run directory of the run store."""
        return persistence.load(cls, directory)

    # -- exports ------------------------------------------------------------------------
    def to_csv(self, directory: str | os.PathLike[str]) -> dict[str, Path]:
        """One CSV per table plus ``meta.json``; returns the paths by table name."""
        return exports.to_csv(self, directory)

    def to_parquet(self, directory: str | os.PathLike[str]) -> dict[str, Path]:
        """One Parquet file per table (run metadata in each file's schema) plus ``meta.json``."""
        return exports.to_parquet(self, directory)

    def to_excel(self, path: str | os.PathLike[str]) -> Path:
        """One workbook, a sheet per table, plus ``recommendation`` and ``meta`` sheets."""
        return exports.to_excel(self, path)

    def to_html(self, path: str | os.PathLike[str]) -> Path:
        """A standalone HTML report (see ``sm_bench_widgets.report.write_report``)."""
        return exports.to_html(self, path)

    # -- display ------------------------------------------------------------------------
    def charts(self):
        """Every chart of this result in one Altair composition (``charts.dashboard``)."""
        return render.charts(self)

    def recommendation_line(self) -> str:
        """One sentence: what to deploy with expected p90 and cost, or why nothing."""
        return render.recommendation_line(self)

    def overview(self) -> pd.DataFrame:
        """A small table per configuration: invocations, errors, p50/p90 and cost per 1M."""
        return render.overview(self)

    def summary_text(self) -> str:
        """A plain-text summary for the terminal: heading, table and recommendation."""
        return render.summary_text(self)

    def _repr_html_(self) -> str:
        return render.result_html(self)

    def __repr__(self) -> str:
        return render.result_repr(self)


def _median(values: pd.Series) -> float:
    values = pd.to_numeric(values, errors="coerce").dropna()
    return stats.percentile_ci(values.to_numpy(), 50)[0] if len(values) else math.nan


__all__ = ["EMULATED_LABEL", "TABLES", "BenchmarkResult"]
