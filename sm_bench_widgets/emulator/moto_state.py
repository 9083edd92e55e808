"""Read access to moto's in-process SageMaker state, the control plane's source of truth."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sm_bench_widgets.emulator import moto_adapter
from sm_bench_widgets.emulator.pool import VariantSettings


class NotServerless(Exception):
    """The endpoint's variant is not a serverless variant (or the config is unusable)."""


def sagemaker_backend(account: str, region: str) -> Any:
    """moto's SageMaker backend for ``account`` and ``region``."""
    return moto_adapter.sagemaker_backend(account, region)


@dataclass
class VariantState:
    """What the data plane needs about an endpoint: its variant, settings and model."""

    endpoint: Any
    config_name: str
    settings: VariantSettings
    model_name: str
    model: Any | None


def variant_state(backend: Any, endpoint: Any, target_variant: str | None = None) -> VariantState:
    """The serverless variant an invocation goes to (``TargetVariant`` or the first)."""
    config = backend.endpoint_configs.get(endpoint.endpoint_config_name)
    if config is None:
        raise NotServerless(f"endpoint configuration {endpoint.endpoint_config_name} is gone")
    variants = config.production_variants or []
    if not variants:
        raise NotServerless("the endpoint configuration has no production variant")
    variant = variants[0]
    if target_variant:
        matching = [v for v in variants if v.get("VariantName") == target_variant]
        if not matching:
            raise NotServerless(f"TargetVariant {target_variant} is not a variant")
        variant = matching[0]
    serverless = variant.get("ServerlessConfig")
    if not serverless:
        raise NotServerless(
            f"variant {variant.get('VariantName')} has no ServerlessConfig: the local "
            "emulator hosts serverless variants only"
        )
    settings = VariantSettings(
        variant_name=variant.get("VariantName", "AllTraffic"),
        memory_mb=int(serverless["MemorySizeInMB"]),
        max_concurrency=int(serverless.get("MaxConcurrency", 1)),
        provisioned_concurrency=int(serverless.get("ProvisionedConcurrency") or 0),
    )
    model_name = variant.get("ModelName", "")
    return VariantState(
        endpoint=endpoint,
        config_name=endpoint.endpoint_config_name,
        settings=settings,
        model_name=model_name,
        model=moto_adapter.sagemaker_models(backend).get(model_name),
    )
