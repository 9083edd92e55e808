"""The traffic model: throttling, cold starts and monthly cost under a user's traffic.

A serverless endpoint queues nothing: a request that finds MaxConcurrency instances busy is
rejected, so the endpoint is a loss system. For Poisson arrivals at rate λ and mean
service time E[S], the throttled share is Erlang-B at offered load E = λ·E[S] with
c = MaxConcurrency servers, whatever the service time distribution.

Cold starts: an on-demand instance idle for longer than the idle-reclaim window W is
reclaimed, and the next request that needs it pays a cold start. A request finding n
instances busy needs instance n + 1 (the service picks the most recently used idle one),
which is warm when the busy count reached n + 1 within the last W. The estimate takes
the time since then as exponential with the rate at which the busy count climbs from n
to n + 1 while at or below n: exact for n = 0 (an idle endpoint waits for its next
arrival, memoryless), and within about 10% or 0.1 percentage point of a simulation when
W is at least a few dozen service times (minutes against sub-second requests). The first
``provisioned`` instances are always warm and preferred.

Everything here is a pure function of numbers and DataFrames.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from sm_bench_widgets.analysis.cost import configuration_cost
from sm_bench_widgets.analysis.pricing import SECONDS_PER_MONTH, Prices
from sm_bench_widgets.aws.quotas import CONCURRENCY, increase_hint
from sm_bench_widgets.limits import MAX_CONCURRENCY_RANGE

DEFAULT_THROTTLE_LIMIT = 0.001  # 0.1% of requests throttled at peak
DEFAULT_IDLE_WINDOW_S = 600.0  # not documented by AWS; users should give their own
# Inter-arrival gaps of a Poisson stream vary as much as their mean (CV 1). Above this,
# the sender (a loaded machine: late dispatches, threads waking together) sent bursts, which
# a loss system throttles more than Poisson arrivals at the same rate.
BURSTY_ARRIVAL_CV = 1.2
INSTANCE_UTILISATION = 0.7  # an instance endpoint sized so its instances are at most 70% busy

TRAFFIC_PLAN_COLUMNS = [
    "memory_size",
    "max_concurrency",
    "provisioned_concurrency",
    "mean_service_ms",
    "peak_offered_load",
    "peak_throttle_share",
    "cold_share",
    "p99_with_cold_ms",
    "sla_met",
    "monthly_cost_usd",
    "provisioned_per_month_usd",
]


def percent(share: float) -> str:
    """A share as a percentage with two significant digits (0.00049 -> "0.049%")."""
    return f"{share * 100:.2g}%"


def erlang_b(offered_load: float, servers: int) -> float:
    """Erlang-B blocking probability B(E, c), by the stable recursion
    B(E, 0) = 1, B(E, k) = E·B(E, k-1) / (k + E·B(E, k-1))."""
    if offered_load < 0 or not math.isfinite(offered_load):
        raise ValueError(f"offered_load={offered_load!r}: must be a finite number >= 0")
    if servers < 0:
        raise ValueError(f"servers={servers!r}: must be >= 0")
    b = 1.0
    for k in range(1, int(servers) + 1):
        b = offered_load * b / (k + offered_load * b)
    return b


def busy_distribution(offered_load: float, servers: int) -> np.ndarray:
    """P(n instances busy), n = 0..c, in an Erlang loss system (truncated Poisson).

    Computed in log space so that large loads and many servers do not overflow.
    """
    n = np.arange(servers + 1)
    if offered_load == 0:
        out = np.zeros(servers + 1)
        out[0] = 1.0
        return out
    log_terms = n * math.log(offered_load) - np.array([math.lgamma(k + 1) for k in n])
    log_terms -= log_terms.max()
    terms = np.exp(log_terms)
    return terms / terms.sum()


def offered_load(rate_per_s: float, mean_service_ms: float) -> float:
    """Offered load in Erlangs: arrival rate times mean service time."""
    return rate_per_s * mean_service_ms / 1000.0


def smallest_max_concurrency(
    rate_per_s: float,
    mean_service_ms: float,
    limit: float = DEFAULT_THROTTLE_LIMIT,
    most: int = MAX_CONCURRENCY_RANGE[1],
) -> int | None:
    """The smallest MaxConcurrency whose Erlang-B throttle share at ``rate_per_s`` is at
    most ``limit``; None when even ``most`` (the service's maximum) does not reach it."""
    load = offered_load(rate_per_s, mean_service_ms)
    b = 1.0
    for c in range(1, most + 1):
        b = load * b / (c + load * b)
        if b <= limit:
            return c
    return None


def cold_share(
    rate_per_s: float,
    mean_service_ms: float,
    max_concurrency: int,
    idle_window_s: float,
    provisioned: int = 0,
) -> float:
    """Estimated share of accepted requests that meet a cold instance (see module doc)."""
    if rate_per_s <= 0:
        return 0.0
    pi = busy_distribution(offered_load(rate_per_s, mean_service_ms), max_concurrency)
    accepted = 1.0 - pi[-1]
    below = np.cumsum(pi)
    total = 0.0
    for n in range(provisioned, max_concurrency):
        climb = rate_per_s * pi[n] / below[n]  # rate of reaching n + 1 while at or below n
        total += pi[n] * math.exp(-climb * idle_window_s)
    return float(total / accepted) if accepted > 0 else 0.0


def provisioned_share(
    rate_per_s: float, mean_service_ms: float, max_concurrency: int, provisioned: int
) -> float:
    """Share of accepted requests served by provisioned instances (preferred when idle)."""
    if provisioned <= 0:
        return 0.0
    pi = busy_distribution(offered_load(rate_per_s, mean_service_ms), max_concurrency)
    accepted = 1.0 - pi[-1]
    return float(pi[: min(provisioned, max_concurrency)].sum() / accepted) if accepted else 0.0


def percentile_with_cold(
    warm_ms: Sequence[float], cold_penalty_ms: float, share: float, q: float = 99.0
) -> float:
    """The ``q``-th percentile of latency when a ``share`` of requests pays a cold start.

    The latency is a mixture: warm latencies (the measured sample) with probability
    1 - share, and the same latencies plus the cold penalty with probability share.
    """
    warm = np.sort(np.asarray(warm_ms, dtype=float))
    warm = warm[np.isfinite(warm)]
    if warm.size == 0:
        return math.nan
    penalty = max(0.0, float(cold_penalty_ms)) if math.isfinite(cold_penalty_ms) else 0.0
    target = q / 100.0

    def mixed_cdf(x: float) -> float:
        below = np.searchsorted(warm, x, side="right") / warm.size
        below_cold = np.searchsorted(warm, x - penalty, side="right") / warm.size
        return (1.0 - share) * below + share * below_cold

    candidates = np.unique(np.concatenate([warm, warm + penalty]))
    for x in candidates:
        if mixed_cdf(float(x)) >= target - 1e-12:
            return float(x)
    return float(candidates[-1])


@dataclass(frozen=True)
class TrafficNeeds:
    """The traffic figures the model needs, in requests per second."""

    average_rps: float
    peak_rps: float
    throttle_limit: float = DEFAULT_THROTTLE_LIMIT
    idle_window_s: float = DEFAULT_IDLE_WINDOW_S


@dataclass
class TrafficAnswer:
    """What to deploy for the user's traffic, with the figures behind it."""

    memory_size: int
    max_concurrency: int
    provisioned_concurrency: int
    peak_rps: float
    peak_throttle_share: float
    p99_with_cold_ms: float
    monthly_cost_usd: float
    cold_share: float
    sla_met: bool | None
    options: pd.DataFrame = field(repr=False)
    costs: pd.DataFrame = field(repr=False)
    evidence: list[str] = field(default_factory=list)
    # the MaxConcurrency the peak needs (None: more than the service's 200) when it is above
    # the account's total-concurrency quota, which caps ``max_concurrency``; the raise to ask
    needed_max_concurrency: int | None = None
    quota_raise: str = ""

    @property
    def over_quota(self) -> bool:
        """Whether the peak needs more concurrency than the account's quota allows."""
        return bool(self.quota_raise)

    def sentence(self) -> str:
        """The plain answer, one sentence."""
        prov = (
            f", provisioned {self.provisioned_concurrency}" if self.provisioned_concurrency else ""
        )
        quota = ""
        if self.over_quota:
            needed = self.needed_max_concurrency or MAX_CONCURRENCY_RANGE[1]
            more = "" if self.needed_max_concurrency else " or more"
            quota = (
                f" (the account's serverless concurrency quota; the peak needs "
                f"{needed}{more}: {self.quota_raise})"
            )
        return (
            f"Deploy {self.memory_size} MB, MaxConcurrency {self.max_concurrency}{quota}{prov}: "
            f"at your peak of {self.peak_rps:.3g} req/s, {percent(self.peak_throttle_share)} "
            "throttled, "
            f"p99 {self.p99_with_cold_ms:.0f} ms including cold starts, "
            f"${self.monthly_cost_usd:,.0f} a month"
        )

    def to_dict(self) -> dict[str, Any]:
        """Plain values for JSON (tables as records)."""
        return {
            "sentence": self.sentence(),
            "memory_size": self.memory_size,
            "max_concurrency": self.max_concurrency,
            "provisioned_concurrency": self.provisioned_concurrency,
            "peak_rps": self.peak_rps,
            "peak_throttle_share": self.peak_throttle_share,
            "p99_with_cold_ms": self.p99_with_cold_ms,
            "monthly_cost_usd": self.monthly_cost_usd,
            "cold_share": self.cold_share,
            "sla_met": self.sla_met,
            "needed_max_concurrency": self.needed_max_concurrency,
            "quota_raise": self.quota_raise,
            "evidence": list(self.evidence),
        }


def provisioned_options(
    needs: TrafficNeeds,
    memory_size: int,
    max_concurrency: int,
    mean_service_ms: float,
    warm_ms: Sequence[float],
    cold_penalty_ms: float,
    billed_ms: float,
    bytes_in: float,
    bytes_out: float,
    prices: Prices,
    sla_ms: float | None,
    sla_percentile: int = 99,
) -> pd.DataFrame:
    """TRAFFIC_PLAN_COLUMNS for provisioned 0..MaxConcurrency at one memory size.

    Cold starts and the provisioned share are taken at the average rate (the month's
    typical traffic), throttling at the peak; the monthly cost bills each request on
    provisioned or on-demand compute by where it is served, and holds the provisioned
    instances all month.
    """
    monthly = needs.average_rps * SECONDS_PER_MONTH
    peak_load = offered_load(needs.peak_rps, mean_service_ms)
    throttle = erlang_b(peak_load, max_concurrency)
    rows = []
    for p in range(0, max_concurrency + 1):
        share = cold_share(
            needs.average_rps, mean_service_ms, max_concurrency, needs.idle_window_s, p
        )
        latency = percentile_with_cold(warm_ms, cold_penalty_ms, share, float(sla_percentile))
        p99 = (
            latency
            if sla_percentile == 99
            else percentile_with_cold(warm_ms, cold_penalty_ms, share, 99.0)
        )
        served_prov = provisioned_share(needs.average_rps, mean_service_ms, max_concurrency, p)
        on_demand = configuration_cost(memory_size, 0, billed_ms, bytes_in, bytes_out, prices, 0)
        held = configuration_cost(memory_size, p, billed_ms, bytes_in, bytes_out, prices, 0)
        per_request = (1 - served_prov) * on_demand["cost_per_invocation_usd"] + served_prov * (
            held["compute_per_invocation_usd"] + held["data_per_invocation_usd"]
        )
        rows.append(
            {
                "memory_size": int(memory_size),
                "max_concurrency": int(max_concurrency),
                "provisioned_concurrency": p,
                "mean_service_ms": mean_service_ms,
                "peak_offered_load": peak_load,
                "peak_throttle_share": throttle,
                "cold_share": share,
                "p99_with_cold_ms": p99,
                "sla_met": (latency <= sla_ms) if sla_ms is not None else None,
                "monthly_cost_usd": per_request * monthly + held["provisioned_per_month_usd"],
                "provisioned_per_month_usd": held["provisioned_per_month_usd"],
            }
        )
    return pd.DataFrame(rows, columns=TRAFFIC_PLAN_COLUMNS)


def cheapest_option(options: pd.DataFrame) -> pd.Series:
    """The provisioned option with the lowest monthly cost among those meeting the SLA
    (all when no SLA is given); when none meets it, the one with the lowest latency."""
    met = options[options["sla_met"].astype(object) != False]  # noqa: E712 (None counts as met)
    if len(met):
        return met.sort_values(["monthly_cost_usd", "provisioned_concurrency"]).iloc[0]
    return options.sort_values(["p99_with_cold_ms", "monthly_cost_usd"]).iloc[0]


def instance_endpoint_cost(
    peak_rps: float, mean_service_ms: float, prices: Prices, instance_type: str
) -> dict[str, Any]:
    """An instance endpoint sized for the peak: enough instances, each serving one request
    at a time at the measured service time, to be at most 70% busy; held all month."""
    busy = offered_load(peak_rps, mean_service_ms)
    count = max(1, math.ceil(busy / INSTANCE_UTILISATION))
    return {
        "option": f"instance endpoint, {count} x {instance_type}",
        "provisioned_concurrency": None,
        "monthly_cost_usd": count * prices.instance_monthly(instance_type),
        "instances": count,
    }


def traffic_answer(
    needs: TrafficNeeds,
    memory_size: int,
    warm_ms: Sequence[float],
    cold_penalty_ms: float,
    prices: Prices,
    *,
    billed_ms: float | None = None,
    bytes_in: float = 0.0,
    bytes_out: float = 0.0,
    sla_ms: float | None = None,
    sla_percentile: int = 99,
    instance_type: str = "ml.c5.large",
    account_max_concurrency: int = CONCURRENCY.default,
    region: str = "us-east-1",
) -> TrafficAnswer | None:
    """The deployment for ``needs`` at ``memory_size``, from that size's warm latencies and
    measured cold-start penalty: the smallest MaxConcurrency keeping peak throttling
    within the limit, then the provisioned concurrency of least monthly cost whose
    cold-start-inclusive latency meets the SLA. None without warm latencies.

    The account's total serverless concurrency quota (``account_max_concurrency`` in
    ``region``) caps the MaxConcurrency; when the peak needs more, the answer deploys the
    quota, states the throttling there, and names the quota raise to ask for."""
    warm = np.asarray(warm_ms, dtype=float)
    warm = warm[np.isfinite(warm)]
    if warm.size == 0:
        return None
    mean_ms = float(warm.mean())
    billed = mean_ms if billed_ms is None or not math.isfinite(billed_ms) else billed_ms
    evidence: list[str] = []
    c = smallest_max_concurrency(needs.peak_rps, mean_ms, needs.throttle_limit)
    peak_load = offered_load(needs.peak_rps, mean_ms)
    quota = max(1, int(account_max_concurrency))
    needed, quota_raise = c, ""
    wanted = c if c is not None else MAX_CONCURRENCY_RANGE[1]
    if quota < wanted:
        quota_raise = (
            f"ask AWS to raise the quota '{CONCURRENCY.name}' ({CONCURRENCY.code}) in "
            f"{region} to {wanted}"
        )
        c = quota
        need = (
            f"MaxConcurrency {needed}"
            if needed is not None
            else f"more than MaxConcurrency {wanted} (the service's most: spread it over "
            "more endpoints too)"
        )
        evidence.append(
            f"Your peak of {needs.peak_rps:.3g} req/s needs {need} to keep throttling within "
            f"{needs.throttle_limit:.2%}, but the account allows {quota} in all (quota "
            f"'{CONCURRENCY.name}', {CONCURRENCY.code}, in {region}): MaxConcurrency {quota} "
            f"throttles {erlang_b(peak_load, quota):.2%} at the peak. To serve the peak, "
            f"{increase_hint(CONCURRENCY, region, wanted)}; more if other serverless "
            "endpoints of the account hold some."
        )
    if c is None:
        c = MAX_CONCURRENCY_RANGE[1]
        evidence.append(
            f"Even MaxConcurrency {c} throttles {erlang_b(peak_load, c):.2%} at the peak "
            f"(offered load {peak_load:.1f}): more than your limit of {needs.throttle_limit:.2%}; "
            f"spread the traffic over more endpoints."
        )
    elif not quota_raise:
        below = f", MaxConcurrency {c - 1} would throttle {erlang_b(peak_load, c - 1):.2%}"
        evidence.append(
            f"At the peak of {needs.peak_rps:.3g} req/s and {mean_ms:.1f} ms per request the "
            f"offered load is {peak_load:.2f} concurrent requests; Erlang-B gives "
            f"{erlang_b(peak_load, c):.3%} throttled with MaxConcurrency {c} "
            f"(limit {needs.throttle_limit:.2%}{below if c > 1 else ''})."
        )
    options = provisioned_options(
        needs,
        memory_size,
        c,
        mean_ms,
        warm,
        cold_penalty_ms,
        billed,
        bytes_in,
        bytes_out,
        prices,
        sla_ms,
        sla_percentile,
    )
    pick = cheapest_option(options)
    evidence.append(
        f"Cold starts: {pick['cold_share']:.2%} of requests at your average of "
        f"{needs.average_rps:.3g} req/s meet a cold instance (idle-reclaim window "
        f"{needs.idle_window_s:g} s, cold start {cold_penalty_ms:.0f} ms over warm)."
    )
    if sla_ms is not None:
        if bool(pick["sla_met"]):
            evidence.append(
                f"Provisioned {int(pick['provisioned_concurrency'])} is the cheapest option "
                f"whose p{sla_percentile} with cold starts meets the SLA of {sla_ms:g} ms."
            )
        else:
            evidence.append(
                f"No provisioned concurrency up to {c} brings p{sla_percentile} with cold "
                f"starts under {sla_ms:g} ms; the fastest option is shown."
            )
    costs = monthly_costs(options, needs, mean_ms, prices, instance_type)
    evidence.append(_cost_sentence(costs, int(pick["provisioned_concurrency"]), instance_type))
    return TrafficAnswer(
        memory_size=int(memory_size),
        max_concurrency=int(c),
        provisioned_concurrency=int(pick["provisioned_concurrency"]),
        peak_rps=needs.peak_rps,
        peak_throttle_share=float(pick["peak_throttle_share"]),
        p99_with_cold_ms=float(pick["p99_with_cold_ms"]),
        monthly_cost_usd=float(pick["monthly_cost_usd"]),
        cold_share=float(pick["cold_share"]),
        sla_met=None if sla_ms is None else bool(pick["sla_met"]),
        options=options,
        costs=costs,
        evidence=evidence,
        needed_max_concurrency=needed if quota_raise else None,
        quota_raise=quota_raise,
    )


def _cost_sentence(costs: pd.DataFrame, chosen: int, instance_type: str) -> str:
    """Monthly cost of on-demand, the chosen and nearby provisioned options, and the
    instance endpoint, in one sentence."""
    serverless = costs[costs["instances"].isna()]
    near = serverless[
        (serverless["provisioned_concurrency"] == 0)
        | (serverless["provisioned_concurrency"].between(chosen - 1, chosen + 1))
    ]
    parts = [f"{r['option']} ${r['monthly_cost_usd']:,.0f}" for _, r in near.iterrows()]
    instance = costs[costs["instances"].notna()].iloc[0]
    parts.append(
        f"an instance endpoint of {int(instance['instances'])} x {instance_type} sized for "
        f"the peak (at most 70% busy) ${instance['monthly_cost_usd']:,.0f}"
    )
    return f"Monthly cost at your traffic: {', '.join(parts)}."


def monthly_costs(
    options: pd.DataFrame,
    needs: TrafficNeeds,
    mean_service_ms: float,
    prices: Prices,
    instance_type: str,
) -> pd.DataFrame:
    """Monthly cost of on-demand, each provisioned option, and an instance endpoint sized
    for the peak: the break-even view at the user's traffic."""
    rows = [
        {
            "option": "on-demand"
            if int(r["provisioned_concurrency"]) == 0
            else f"provisioned {int(r['provisioned_concurrency'])}",
            "provisioned_concurrency": int(r["provisioned_concurrency"]),
            "monthly_cost_usd": float(r["monthly_cost_usd"]),
            "instances": None,
        }
        for _, r in options.iterrows()
    ]
    rows.append(instance_endpoint_cost(needs.peak_rps, mean_service_ms, prices, instance_type))
    return pd.DataFrame(
        rows, columns=["option", "provisioned_concurrency", "monthly_cost_usd", "instances"]
    )


def arrival_cv(streams: Sequence[Sequence[float]], slice_s: float | None = None) -> float:
    """Coefficient of variation of the gaps between arrivals, pooled over ``streams`` (each
    a stretch of arrival times; no gap is taken between two): 1 for Poisson arrivals, more
    for bursts. With ``slice_s`` each gap is taken relative to the mean gap of its slice,
    so a trace's changing rate is not counted as burstiness."""
    pooled = []
    for stream in streams:
        t = np.sort(np.asarray(stream, dtype=float))
        gaps = np.diff(t)
        if slice_s and gaps.size:
            slices = ((t[1:] - t[0]) // slice_s).astype(int)
            means = pd.Series(gaps).groupby(slices).transform("mean").to_numpy()
            keep = means > 0
            gaps = gaps[keep] / means[keep]
        pooled.append(gaps)
    gaps = np.concatenate(pooled) if pooled else np.zeros(0)
    if gaps.size < 2 or gaps.mean() <= 0:
        return math.nan
    return float(gaps.std() / gaps.mean())


def throttle_check(invocations: pd.DataFrame, slice_s: float | None = None) -> pd.DataFrame:
    """Erlang-B's prediction beside the measured throttle share of open-loop trials.

    Per open-loop trial: the measured arrival rate (requests over the span of their start
    times), mean service time of ok warm requests (on the emulator the time the endpoint
    holds an instance, on the service's clock), the predicted share B(λ·E[S], c) and the
    measured share, with the measured share's standard error (binomial), and the arrival
    gaps' CV (``arrival_cv``: Erlang-B assumes Poisson arrivals, CV 1). Arrivals
    replaying a trace's shape (``slice_s``: seconds each trace minute took) change rate
    from slice to slice: the prediction is then Erlang-B at each slice's measured rate,
    weighted by its requests (a loss system settles within a few service times).
    """
    columns = [
        "trial_id",
        "memory_size",
        "max_concurrency",
        "requests",
        "rate_rps",
        "mean_service_ms",
        "offered_load",
        "predicted_throttle_share",
        "measured_throttle_share",
        "standard_error",
        "arrival_cv",
    ]
    needed = {"phase", "trial_id", "start", "max_concurrency", "memory_size", "outcome"}
    if invocations is None or invocations.empty or not needed <= set(invocations.columns):
        return pd.DataFrame(columns=columns)
    rows = []
    for trial_id, g in invocations[invocations["phase"] == "open_loop"].groupby("trial_id"):
        # a resumed trial sent its arrivals in stretches, each after a cold-start burst on a
        # fresh endpoint: rate and trace slices are measured within each, not across gaps
        segments = [
            starts
            for starts in _after_each_burst(invocations[invocations["trial_id"] == trial_id])
            if len(starts) >= 2
        ]
        if not segments:
            continue
        span = sum(float(starts.iloc[-1] - starts.iloc[0]) for starts in segments)
        rate = sum(len(starts) - 1 for starts in segments) / span
        ok = g[(g["outcome"] == "ok") & ~g["cold"].astype(bool)]
        mean_ms = float(pd.to_numeric(ok["latency_ms"], errors="coerce").mean())
        c = int(g["max_concurrency"].iloc[0])
        load = offered_load(rate, mean_ms)
        predicted = erlang_b(load, c)
        if slice_s:
            slices = pd.concat(
                [((starts - starts.iloc[0]) // slice_s).value_counts() for starts in segments]
            )
            predicted = sum(
                n * erlang_b(offered_load(n / slice_s, mean_ms), c) for n in slices
            ) / sum(len(starts) for starts in segments)
        measured = float((g["outcome"] == "throttled").mean())
        rows.append(
            {
                "trial_id": trial_id,
                "memory_size": int(g["memory_size"].iloc[0]),
                "max_concurrency": c,
                "requests": len(g),
                "rate_rps": rate,
                "mean_service_ms": mean_ms,
                "offered_load": load,
                "predicted_throttle_share": predicted,
                "measured_throttle_share": measured,
                "standard_error": math.sqrt(max(measured * (1 - measured), 1e-12) / len(g)),
                "arrival_cv": arrival_cv([starts.to_numpy() for starts in segments], slice_s),
            }
        )
    return pd.DataFrame(rows, columns=columns)


def measured_idle_window(invocations: pd.DataFrame | None) -> tuple[float, float | None] | None:
    """(longest idle gap after which the instance was warm, first after which it was cold
    or None) from the idle-window probe's rows (``phase="idle_probe"``); None without them.
    A gap is the time from one answer to the next request."""
    if invocations is None or invocations.empty or "phase" not in invocations:
        return None
    warm: list[float] = []
    cold_after: list[float] = []
    # a resumed run probes again from a fresh cold start: gaps are measured within each
    # probe, never across the redeployment between two
    probed = invocations[invocations["phase"] == "idle_probe"]
    if len(probed) < 3:
        return None
    for rows in _probes(probed):
        if len(rows) < 3:
            continue
        gaps = rows["start"].to_numpy()[1:] - rows["end"].to_numpy()[:-1]
        ok = (rows["outcome"] == "ok").to_numpy()[1:]
        cold = rows["cold"].astype(bool).to_numpy()[1:]
        warm += [
            float(g) for g, o, c in zip(gaps[1:], ok[1:], cold[1:], strict=True) if o and not c
        ]
        cold_after += [float(g) for g, c in zip(gaps[1:], cold[1:], strict=True) if c]
    if not warm and not cold_after:
        return None
    return (max(warm) if warm else 0.0), (min(cold_after) if cold_after else None)


def _after_each_burst(trial: pd.DataFrame) -> list[pd.Series]:
    """The start times of one open-loop trial's arrivals, one series per cold-start burst
    that preceded them (one burst per endpoint the trial ran on)."""
    rows = trial.assign(start=pd.to_numeric(trial["start"], errors="coerce"))
    rows = rows.dropna(subset=["start"]).sort_values("start", kind="stable")
    burst = (rows["phase"] == "cold_start").to_numpy()
    stretch = np.cumsum(burst & ~np.concatenate([[False], burst[:-1]]))
    arrivals = (rows["phase"] == "open_loop").to_numpy()
    return [s for _, s in rows.loc[arrivals, "start"].groupby(stretch[arrivals])]


def _probes(rows: pd.DataFrame) -> list[pd.DataFrame]:
    """The idle-probe rows of each probe, in order of start. A probe opens with a cold
    request, then a warm reference, and ends at its first cold gap: so a cold row opens a
    probe when it comes first, follows a cold row, or is followed by a warm one."""
    rows = rows.sort_values("start", kind="stable")
    cold = rows["cold"].astype(bool).to_numpy()
    before = np.concatenate([[True], cold[:-1]])
    after = np.concatenate([cold[1:], [True]])
    opens = cold & (before | ~after)
    if len(opens):
        opens[0] = True
    return [g for _, g in rows.groupby(np.cumsum(opens), sort=True)]


def _on_demand(frame: pd.DataFrame, memory_size: int) -> pd.DataFrame:
    if frame is None or frame.empty:
        return frame
    keep = pd.to_numeric(frame["memory_size"], errors="coerce") == memory_size
    if "provisioned_concurrency" in frame:
        keep &= pd.to_numeric(frame["provisioned_concurrency"], errors="coerce").fillna(0) == 0
    return frame.loc[keep]


def answer_from_frames(
    invocations: pd.DataFrame,
    cold_starts: pd.DataFrame,
    costs: pd.DataFrame,
    needs: TrafficNeeds | Callable[[float], TrafficNeeds],
    prices: Prices,
    memory_size: int,
    *,
    sla_ms: float | None = None,
    sla_percentile: int | None = None,
    instance_type: str = "ml.c5.large",
    slice_s: float | None = None,
    account_max_concurrency: int | None = None,
    region: str = "us-east-1",
) -> TrafficAnswer | None:
    """``traffic_answer`` at ``memory_size`` from a result's tables: warm latencies of its
    ok on-demand invocations (of its stability trial when there is one), its median
    measured cold-start penalty, and the billed duration and payload sizes of its cost row.
    None when nothing ok was measured there. ``needs`` may be a function of the mean warm
    service time (ms), for a peak given in requests in flight; ``slice_s`` as for
    ``throttle_check`` (open-loop trials replaying a trace); the account's quota as for
    ``traffic_answer`` (None: the documented default)."""
    inv = _on_demand(invocations, memory_size)
    if inv is None or inv.empty:
        return None
    ok = inv[(inv["outcome"].astype(str) == "ok") & ~inv["cold"].astype(bool)]
    if "phase" in ok and (ok["phase"] == "stability").any():
        # one request at a time after a marked cold probe: the cleanest warm sample
        ok = ok[ok["phase"] == "stability"]
    warm = pd.to_numeric(ok["latency_ms"], errors="coerce").dropna().to_numpy()
    if warm.size == 0:
        return None
    if callable(needs):
        needs = needs(float(warm.mean()))
    probed = measured_idle_window(invocations)
    if probed is not None:
        # the longest idle time measured to keep an instance warm: the cautious window
        # (half the first gap found cold when even the shortest found it cold)
        low, high = probed
        window = low if low > 0 else (high / 2 if high else needs.idle_window_s)
        needs = dataclasses.replace(needs, idle_window_s=window)
    cold = _on_demand(cold_starts, memory_size)
    penalty = math.nan
    if cold is not None and len(cold):
        penalty = float(pd.to_numeric(cold["cold_penalty_ms"], errors="coerce").median())
    billed, bytes_in, bytes_out = math.nan, 0.0, 0.0
    cost = _on_demand(costs, memory_size)
    if cost is not None and len(cost):
        billed = float(cost["billed_ms"].iloc[0])
    if "bytes_in" in ok:
        bytes_in = float(pd.to_numeric(ok["bytes_in"], errors="coerce").mean())
        bytes_out = float(pd.to_numeric(ok["bytes_out"], errors="coerce").mean())
    answer = traffic_answer(
        needs,
        memory_size,
        warm,
        0.0 if not math.isfinite(penalty) else penalty,
        prices,
        billed_ms=billed,
        bytes_in=bytes_in,
        bytes_out=bytes_out,
        sla_ms=sla_ms,
        sla_percentile=sla_percentile or 99,
        instance_type=instance_type,
        account_max_concurrency=account_max_concurrency or CONCURRENCY.default,
        region=region,
    )
    if answer is not None and probed is not None:
        low, high = probed
        after = f"cold after {high:.0f} s" if high is not None else "never found cold"
        answer.evidence.insert(
            1,
            f"Idle-reclaim window measured by the idle probe: an instance idle {low:.0f} s "
            f"was still warm, {after}; the cold-start estimate uses "
            f"{needs.idle_window_s:g} s.",
        )
    if answer is not None and not math.isfinite(penalty):
        answer.evidence.append(
            f"No cold start was measured at {memory_size} MB: cold starts count as free."
        )
    if answer is not None:
        shape = " in your trace's shape" if slice_s else ""
        for _, r in throttle_check(inv, slice_s).iterrows():
            n, measured = int(r["requests"]), float(r["measured_throttle_share"])
            spread = (
                f"+- {percent(1.96 * r['standard_error'])}"
                if measured > 0
                else f"none of {n}: below {percent(3 / n)} at 95% confidence"
            )
            bursty = ""
            if r["arrival_cv"] > BURSTY_ARRIVAL_CV:
                bursty = (
                    f" The requests went out in bursts (gaps varied {r['arrival_cv']:.2g}x "
                    "their mean, against 1x for Poisson arrivals): the machine sending them "
                    "could not keep their times, so the measured share overstates throttling."
                )
            answer.evidence.append(
                f"Open-loop check at MaxConcurrency {int(r['max_concurrency'])}: "
                f"{n} requests at {r['rate_rps']:.3g} req/s{shape}, Erlang-B predicts "
                f"{percent(r['predicted_throttle_share'])} throttled, measured "
                f"{percent(measured)} ({spread}).{bursty}"
            )
    return answer
