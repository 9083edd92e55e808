"""Seeded recommendation scenarios on the emulator, with the true optimum known.

A scenario is a random emulator profile (``ModelProfile``), a subset of the memory sizes,
a strategy (with a weight for balanced) and maybe an SLA. Its truth comes from the
profile and the emulator's overhead: at memory m a request takes ``OVERHEAD_MS x
LogNormal(0, OVERHEAD_SIGMA) + median_service_ms(m) x LogNormal(0, sigma)`` milliseconds
on the service's clock (what emulated figures are stated on, whatever the emulator's time
scale), so every percentile follows by a numerical convolution of the two. The bill is on
the model's own time (CloudWatch ``ModelLatency``, which the emulator reports and the
tool bills on), so the cost per invocation (``analysis.cost.configuration_cost``) uses the
model's mean time ``median_service_ms(m) x exp(sigma^2 / 2)``.

The true ranking uses the rule the recommendation states: cost (ties within the
indifference zone go to the lower p90), speed (ties go to the cheaper), balanced
``p90^w x cost^(1-w)`` (ties go to the cheaper); an SLA keeps only the configurations
whose true percentile meets it. A recommendation *hits* when it is the true optimum or a
configuration whose true score is within the indifference zone of the optimum's.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from functools import lru_cache
from statistics import NormalDist
from typing import Any

from sm_bench_widgets.analysis.cost import configuration_cost
from sm_bench_widgets.analysis.pricing import Prices
from sm_bench_widgets.emulator.dataplane import OVERHEAD_MS, OVERHEAD_SIGMA
from sm_bench_widgets.emulator.profiles import ModelProfile
from sm_bench_widgets.limits import MEMORY_SIZES

INDIFFERENCE = 0.02
EXAMPLE = {"Body": "5.1,3.5,1.4,0.2", "ContentType": "text/csv"}
SLA_MARGIN = 0.06  # the SLA sits at least this far (relative) from every true percentile


@dataclass(frozen=True)
class Truth:
    """One configuration's true figures (milliseconds on the service's clock, USD per
    invocation; ``mean_ms`` is the model's billed time)."""

    memory_size: int
    p90_ms: float
    sla_value_ms: float
    mean_ms: float
    cost: float
    feasible: bool


@dataclass(frozen=True)
class Scenario:
    """A random benchmark question whose answer follows from its profile."""

    seed: int
    profile: ModelProfile
    memory_sizes: list[int]
    strategy: str
    weight: float
    sla_percentile: int | None = None
    sla_ms: float | None = None
    notes: dict[str, Any] = field(default_factory=dict)

    @property
    def model_name(self) -> str:
        return f"scenario-{self.seed}"

    def config_fields(self) -> dict[str, Any]:
        """The ``BenchmarkConfig`` fields that pose this scenario's question."""
        return dict(
            model_name=self.model_name,
            invoke_args_examples=[dict(EXAMPLE)],
            memory_sizes=list(self.memory_sizes),
            include_concurrency_benchmark=False,
            strategy=self.strategy,
            balanced_weight=self.weight,
            sla_percentile=self.sla_percentile,
            sla_ms=self.sla_ms,
        )

    def describe(self) -> str:
        """One line: seed, memory sizes, strategy and SLA."""
        sla = f", p{self.sla_percentile} <= {self.sla_ms:.1f} ms" if self.sla_ms else ""
        weight = f" w={self.weight:.2f}" if self.strategy == "balanced" else ""
        return f"seed {self.seed}: {self.memory_sizes} {self.strategy}{weight}{sla}"


@lru_cache(maxsize=1)
def _overhead_grid(points: int = 400) -> tuple[float, ...]:
    """The emulator's overhead at ``points`` evenly spaced quantiles (ms)."""
    normal = NormalDist()
    return tuple(
        OVERHEAD_MS * math.exp(OVERHEAD_SIGMA * normal.inv_cdf((i + 0.5) / points))
        for i in range(points)
    )


def _latency_cdf(median_ms: float, sigma: float, x: float) -> float:
    """P(overhead + model time <= x): the model's lognormal averaged over the overhead."""
    normal = NormalDist()
    total = 0.0
    grid = _overhead_grid()
    for o in grid:
        if x > o:
            total += normal.cdf(math.log((x - o) / median_ms) / sigma) if sigma > 0 else 1.0
    return total / len(grid)


def latency_quantile(profile: ModelProfile, memory: int, q: float) -> float:
    """The q-th percentile (0-100) of a request's latency at ``memory`` (service clock)."""
    median = profile.median_service_ms(memory)
    model_q = median * math.exp(NormalDist().inv_cdf(q / 100.0) * profile.sigma)
    low, high = model_q, model_q + max(_overhead_grid())
    for _ in range(60):  # bisection: the cdf is increasing
        mid = (low + high) / 2
        low, high = (
            (mid, high) if _latency_cdf(median, profile.sigma, mid) < q / 100 else (low, mid)
        )
    return (low + high) / 2


def billed_mean(profile: ModelProfile, memory: int) -> float:
    """The mean model time at ``memory`` (ms): what ModelLatency reports and is billed."""
    return profile.median_service_ms(memory) * math.exp(profile.sigma**2 / 2)


def truths(scenario: Scenario, prices: Prices, monthly_invocations: int = 1_000_000) -> list[Truth]:
    """Every configuration's true figures under ``scenario``."""
    out = []
    body = len(EXAMPLE["Body"])
    for memory in scenario.memory_sizes:
        p = scenario.profile
        mean = billed_mean(p, memory)
        cost = configuration_cost(memory, 0, mean, body, 0, prices, monthly_invocations)
        p90 = latency_quantile(p, memory, 90)
        sla_q = scenario.sla_percentile or 90
        sla_value = latency_quantile(p, memory, sla_q)
        feasible = p.fits(memory) and (scenario.sla_ms is None or sla_value <= scenario.sla_ms)
        out.append(Truth(memory, p90, sla_value, mean, cost["cost_per_invocation_usd"], feasible))
    return out


def score(t: Truth, strategy: str, weight: float) -> float:
    """The rule's score of one configuration (lower is better)."""
    if strategy == "cost":
        return t.cost
    if strategy == "speed":
        return t.p90_ms
    return math.exp(weight * math.log(t.p90_ms) + (1 - weight) * math.log(t.cost))


def optimum(
    ts: list[Truth], strategy: str, weight: float, indifference: float = INDIFFERENCE
) -> tuple[Truth | None, set[int]]:
    """The true optimum by the stated rule and the memory sizes that count as a hit."""
    feasible = [t for t in ts if t.feasible]
    if not feasible:
        return None, set()
    best = min(score(t, strategy, weight) for t in feasible)
    tied = [t for t in feasible if score(t, strategy, weight) <= best * (1 + indifference)]
    second = (lambda t: t.p90_ms) if strategy == "cost" else (lambda t: t.cost)
    pick = min(tied, key=lambda t: (second(t), t.memory_size))
    return pick, {t.memory_size for t in tied}


def _profile(rng: random.Random) -> ModelProfile:
    return ModelProfile(
        base_ms_at_1vcpu=rng.uniform(300.0, 900.0),
        parallel_fraction=rng.choice([0.0, rng.uniform(0.3, 1.0), 1.0]),
        max_vcpus=rng.choice([1.0, 2.0, 3.0, 4.0]),
        footprint_mb=rng.choice([300.0, 300.0, 300.0, 1500.0]),
        cold_start_ms=500.0,
        sigma=rng.uniform(0.05, 0.2),
        kind="score",
    )


def _sla(rng: random.Random, scenario: Scenario) -> tuple[int | None, float | None]:
    """A percentile and a limit between the configurations' true values, with a margin."""
    if rng.random() < 0.5:
        return None, None
    q = rng.choice([90, 95, 99])
    values = sorted(
        latency_quantile(scenario.profile, m, q)
        for m in scenario.memory_sizes
        if scenario.profile.fits(m)
    )
    gaps = [
        (lo, hi)
        for lo, hi in zip(values, values[1:], strict=False)
        if hi / lo > (1 + SLA_MARGIN) ** 2
    ]
    if not gaps:
        return None, None
    lo, hi = rng.choice(gaps)
    low, high = lo * (1 + SLA_MARGIN), hi / (1 + SLA_MARGIN)
    return q, round(rng.uniform(low, high), 1)


def make_scenario(seed: int) -> Scenario:
    """The scenario of ``seed``: the same seed gives the same scenario."""
    rng = random.Random(seed)
    profile = _profile(rng)
    sizes = sorted(rng.sample(list(MEMORY_SIZES), rng.randint(3, 5)))
    strategy = rng.choice(["cost", "speed", "balanced"])
    weight = round(rng.uniform(0.2, 0.8), 2) if strategy == "balanced" else 0.5
    base = Scenario(seed, profile, sizes, strategy, weight)
    q, limit = _sla(rng, base)
    return Scenario(seed, profile, sizes, strategy, weight, q, limit)
