"""Model profiles: how long an emulated model computes, how big it is, how it scales.

A profile stands for a model the emulator does not really run: its service time comes from
a small performance model instead of real compute.

Compute scales with memory the way AWS Lambda documents it: a function gets CPU in
proportion to its memory, one full vCPU at 1,769 MB ("Memory and computing power",
AWS Lambda Developer Guide, Configure Lambda function memory). SageMaker Serverless
Inference runs on the same kind of infrastructure and documents no ratio of its own, so
the emulator assumes the Lambda one. Each profile then says how much of its work is
parallel and how many vCPUs it can use at most (Amdahl's law), so a single-threaded
model stops gaining above one vCPU.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

MB_PER_VCPU = 1769.0


def vcpus_for_memory(memory_mb: int) -> float:
    """vCPUs an instance with ``memory_mb`` gets: Lambda's 1 vCPU per 1,769 MB."""
    return memory_mb / MB_PER_VCPU


@dataclass(frozen=True)
class ModelProfile:
    """Performance model of an emulated model (times in emulated milliseconds)."""

    base_ms_at_1vcpu: float
    parallel_fraction: float = 0.0
    max_vcpus: float = 1.0
    footprint_mb: float = 256.0
    cold_start_ms: float = 2000.0
    sigma: float = 0.1
    per_row_ms: float = 0.0
    cold_start_sigma: float = 0.1
    kind: str = "score"
    description: str = ""

    def __post_init__(self) -> None:
        if self.base_ms_at_1vcpu < 0:
            raise ValueError(f"base_ms_at_1vcpu={self.base_ms_at_1vcpu!r}: must be >= 0")
        if not 0.0 <= self.parallel_fraction <= 1.0:
            raise ValueError(f"parallel_fraction={self.parallel_fraction!r}: must be in [0, 1]")
        if self.max_vcpus <= 0:
            raise ValueError(f"max_vcpus={self.max_vcpus!r}: must be > 0")
        if self.footprint_mb < 0 or self.cold_start_ms < 0 or self.per_row_ms < 0:
            raise ValueError("footprint_mb, cold_start_ms and per_row_ms must be >= 0")
        if self.sigma < 0 or self.cold_start_sigma < 0:
            raise ValueError("sigma and cold_start_sigma must be >= 0")

    def median_service_ms(self, memory_mb: int, rows: int = 1) -> float:
        """Median compute time for ``rows`` rows at ``memory_mb`` (Amdahl over vCPUs).

        The serial part runs on at most one vCPU, the parallel part on at most
        ``max_vcpus``; below one vCPU both slow down in proportion.
        """
        vcpus = vcpus_for_memory(memory_mb)
        work = self.base_ms_at_1vcpu + self.per_row_ms * max(rows - 1, 0)
        serial = (1.0 - self.parallel_fraction) / min(vcpus, 1.0)
        parallel = self.parallel_fraction / min(vcpus, self.max_vcpus)
        return work * (serial + parallel)

    def fits(self, memory_mb: int) -> bool:
        """Whether the model's footprint fits in ``memory_mb``."""
        return self.footprint_mb <= memory_mb


def lognormal_factor(rng, sigma: float) -> float:
    """A multiplicative noise factor with median 1 (``exp(N(0, sigma))``)."""
    if sigma <= 0:
        return 1.0
    return math.exp(rng.normal(0.0, sigma))


DEMO_PROFILES: dict[str, ModelProfile] = {
    "demo-tabular": ModelProfile(
        base_ms_at_1vcpu=12.0,
        parallel_fraction=0.0,
        max_vcpus=1.0,
        footprint_mb=320.0,
        cold_start_ms=2500.0,
        sigma=0.12,
        per_row_ms=0.05,
        kind="tabular",
        description="light gradient-boosted-trees-like scorer, single-threaded",
    ),
    "demo-nlp": ModelProfile(
        base_ms_at_1vcpu=350.0,
        parallel_fraction=0.85,
        max_vcpus=3.0,
        footprint_mb=1700.0,
        cold_start_ms=7000.0,
        sigma=0.08,
        per_row_ms=4.0,
        kind="nlp",
        description="transformer-like text classifier, multi-threaded up to 3 vCPUs, ~1.7 GB",
    ),
}
