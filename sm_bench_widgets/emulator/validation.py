"""The ServerlessConfig checks SageMaker makes on CreateEndpointConfig and moto does not."""

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
        problem = _range_problem(max_conc, MAX_CONCURRENCY_RANGE, f"{where}.maxConcurrency")
        if problem:
            return problem
        prov = config.get("ProvisionedConcurrency")
        if prov is None:
            continue
        problem = _range_problem(
            prov, PROVISIONED_CONCURRENCY_RANGE, f"{where}.provisionedConcurrency"
        )
        if problem:
            return problem
        if prov > max_conc:
            return (
                f"ProvisionedConcurrency ({prov}) of variant {variant.get('VariantName')} "
                f"must be less than or equal to MaxConcurrency ({max_conc})."
            )
    return None


def _range_problem(value: Any, bounds: tuple[int, int], path: str) -> str | None:
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
