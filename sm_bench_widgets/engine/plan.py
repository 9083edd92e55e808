"""Turn a ``BenchmarkConfig`` into the trials a run performs.

Planning is pure and happens in two steps, because the concurrency benchmark depends on
the memory size the stability benchmark picks: ``plan_stability(config)`` first, then
``plan_concurrency(config, memory_size)``.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

from sm_bench_widgets.config import BenchmarkConfig, ConfigError


@dataclass(frozen=True)
class Trial:
    """One measured configuration: an endpoint (``endpoint_key``) under one load shape.

    Trials with the same ``endpoint_key`` share an endpoint, one after the other.
    """

    trial_id: str
    phase: str
    memory_size: int
    max_concurrency: int
    provisioned_concurrency: int
    clients: int
    max_invocations: int
    endpoint_key: str

    def to_dict(self) -> dict[str, Any]:
        """The trial as a plain dict (for events and the run store)."""
        return asdict(self)


def endpoint_key(memory_size: int, max_concurrency: int, provisioned: int = 0) -> str:
    """The key naming one endpoint configuration, e.g. ``m2048-c4-p2``."""
    return f"m{memory_size}-c{max_concurrency}-p{provisioned}"


def plan_stability(config: BenchmarkConfig) -> list[Trial]:
    """One sequential trial (MaxConcurrency 1, one client) per memory size."""
    return [
        Trial(
            trial_id=f"stability-m{mem}",
            phase="stability",
            memory_size=mem,
            max_concurrency=1,
            provisioned_concurrency=0,
            clients=1,
            max_invocations=config.stability_benchmark_invocations,
            endpoint_key=endpoint_key(mem, 1),
        )
        for mem in config.memory_sizes
    ]


def client_counts(max_concurrency: int, multipliers: list[float]) -> list[int]:
    """Closed-loop client counts ``ceil(max_concurrency * m)``, without repeats, in order."""
    counts: list[int] = []
    for m in multipliers:
        n = max(1, math.ceil(max_concurrency * m))
        if n not in counts:
            counts.append(n)
    return counts


def provisioned_max_concurrency(config: BenchmarkConfig, provisioned: int) -> int:
    """The smallest configured MaxConcurrency that can hold ``provisioned`` instances."""
    fitting = [c for c in config.concurrency_benchmark_max_conc if c >= provisioned]
    if not fitting:
        raise ConfigError(
            "provisioned_concurrency",
            provisioned,
            "values not above the largest concurrency_benchmark_max_conc "
            f"({max(config.concurrency_benchmark_max_conc)})",
        )
    return min(fitting)


def check_provisioned(config: BenchmarkConfig) -> None:
    """Raise ``ConfigError`` when a provisioned value exceeds every MaxConcurrency."""
    for p in config.provisioned_concurrency:
        provisioned_max_concurrency(config, p)


def plan_concurrency(config: BenchmarkConfig, memory_size: int) -> list[Trial]:
    """Concurrency trials at ``memory_size``: each MaxConcurrency x client multiplier.

    On-demand endpoints come first when the concurrency benchmark is included; each
    provisioned value then gets an endpoint with the smallest MaxConcurrency that holds
    it, under the same client multipliers.
    """
    shapes: list[tuple[int, int]] = []
    if config.include_concurrency_benchmark:
        shapes += [(c, 0) for c in config.concurrency_benchmark_max_conc]
    shapes += [(provisioned_max_concurrency(config, p), p) for p in config.provisioned_concurrency]
    trials: list[Trial] = []
    for max_conc, prov in shapes:
        key = endpoint_key(memory_size, max_conc, prov)
        suffix = f"-p{prov}" if prov else ""
        for clients in client_counts(max_conc, config.concurrency_num_clients_multiplier):
            trials.append(
                Trial(
                    trial_id=f"concurrency-m{memory_size}-c{max_conc}{suffix}-n{clients}",
                    phase="concurrency",
                    memory_size=memory_size,
                    max_concurrency=max_conc,
                    provisioned_concurrency=prov,
                    clients=clients,
                    max_invocations=config.concurrency_benchmark_invocations,
                    endpoint_key=key,
                )
            )
    return trials


def group_by_endpoint(trials: list[Trial]) -> dict[str, list[Trial]]:
    """Trials grouped by endpoint key, keeping plan order within and across groups."""
    groups: dict[str, list[Trial]] = {}
    for t in trials:
        groups.setdefault(t.endpoint_key, []).append(t)
    return groups


def share(trials: list[Trial], index: int, count: int) -> list[Trial]:
    """The trials host ``index`` of ``count`` runs: endpoints dealt round-robin in plan
    order, each endpoint's trials kept together on one host."""
    if count <= 1:
        return list(trials)
    keys = list(group_by_endpoint(trials))
    mine = {key for i, key in enumerate(keys) if i % count == index}
    return [t for t in trials if t.endpoint_key in mine]
