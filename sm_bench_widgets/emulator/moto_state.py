"""Read access to moto's in-process SageMaker state, the control plane's source of truth.

What an endpoint runs comes from its ``ConfigSnapshot`` (taken when it was created or
updated), not from its endpoint config, which may since have been deleted.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sm_bench_widgets.emulator import moto_adapter
from sm_bench_widgets.emulator.deployments import ConfigSnapshot
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
    generation: int = 0


def config_snapshot(backend: Any, config_name: str) -> ConfigSnapshot:
    """A snapshot of endpoint config ``config_name`` as it is now (``NotServerless`` if gone)."""
    config = backend.endpoint_configs.get(config_name)
    if config is None:
        raise NotServerless(f"endpoint configuration {config_name} is gone")
    return ConfigSnapshot.of(config_name, config.production_variants or [])


def variant_settings(variant: dict[str, Any]) -> VariantSettings:
    """The serverless settings of a variant (``NotServerless`` if it has none)."""
    serverless = variant.get("ServerlessConfig")
    if not serverless:
        raise NotServerless(
            f"variant {variant.get('VariantName')} has no ServerlessConfig: the local "
            "emulator hosts serverless variants only"
        )
    return VariantSettings(
        variant_name=variant.get("VariantName", "AllTraffic"),
        memory_mb=int(serverless["MemorySizeInMB"]),
        max_concurrency=int(serverless.get("MaxConcurrency", 1)),
        provisioned_concurrency=int(serverless.get("ProvisionedConcurrency") or 0),
    )


def variant_state(
    backend: Any, endpoint: Any, snapshot: ConfigSnapshot, target_variant: str | None = None
) -> VariantState:
    """The serverless variant an invocation goes to (``TargetVariant`` or the first)."""
    variants = snapshot.variants
    if not variants:
        raise NotServerless("the endpoint configuration has no production variant")
    variant = variants[0]
    if target_variant:
        matching = snapshot.variant(target_variant)
        if matching is None:
            raise NotServerless(f"TargetVariant {target_variant} is not a variant")
        variant = matching
    model_name = variant.get("ModelName", "")
    return VariantState(
        endpoint=endpoint,
        config_name=snapshot.config_name,
        settings=variant_settings(variant),
        model_name=model_name,
        model=moto_adapter.sagemaker_models(backend).get(model_name),
        generation=snapshot.generation,
    )
