"""The serverless checks SageMaker makes and moto does not (CreateEndpointConfig, updates)."""

from __future__ import annotations

from typing import Any

from sm_bench_widgets.limits import MAX_CONCURRENCY_RANGE, PROVISIONED_CONCURRENCY_RANGE


def serverless_config_problem(params: dict[str, Any]) -> str | None:
    """Why a CreateEndpointConfig request's ServerlessConfig is invalid, or None."""
    for i, variant in enumerate(params.get("ProductionVariants") or [], start=1):
        config = variant.get("ServerlessConfig") if isinstance(variant, dict) else None
        if not isinstance(config, dict):
            continue
        where = f"productionVariants.{i}.member.serverlessConfig"
        max_conc = config.get("MaxConcurrency")
        problem = range_problem(max_conc, MAX_CONCURRENCY_RANGE, f"{where}.maxConcurrency")
        if problem:
            return problem
        prov = config.get("ProvisionedConcurrency")
        if prov is None:
            continue
        problem = range_problem(
            prov, PROVISIONED_CONCURRENCY_RANGE, f"{where}.provisionedConcurrency"
        )
        if problem:
            return problem
        if prov > max_conc:
            return provisioned_above_max(prov, max_conc, variant.get("VariantName"))
    return None


def provisioned_above_max(provisioned: int, max_concurrency: int, variant: Any) -> str:
    """The refusal of a ProvisionedConcurrency above the variant's MaxConcurrency."""
    return (
        f"ProvisionedConcurrency ({provisioned}) of variant {variant} "
        f"must be less than or equal to MaxConcurrency ({max_concurrency})."
    )


def range_problem(value: Any, bounds: tuple[int, int], path: str) -> str | None:
    """Why ``value`` is not an integer within ``bounds``, worded as SageMaker words it; or None."""
    low, high = bounds
    if not isinstance(value, int) or isinstance(value, bool):
        return f"1 validation error detected: Value '{value}' at '{path}' must be an integer."
    if value < low:
        return (
            f"1 validation error detected: Value '{value}' at '{path}' failed to satisfy "
            f"constraint: Member must have value greater than or equal to {low}"
        )
    if value > high:
        return (
            f"1 validation error detected: Value '{value}' at '{path}' failed to satisfy "
            f"constraint: Member must have value less than or equal to {high}"
        )
    return None
