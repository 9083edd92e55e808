"""UpdateEndpoint and UpdateEndpointWeightsAndCapacities, checked as SageMaker checks them.

moto does not implement UpdateEndpoint and ignores ``ServerlessUpdateConfig``; both are
answered here and carried out by the lifecycle (Updating, then InService). The new settings
are checked against the documented ranges in ``limits.py``.
"""

from __future__ import annotations

from typing import Any

from sm_bench_widgets.emulator.deployments import ConfigSnapshot
from sm_bench_widgets.emulator.lifecycle import EndpointLifecycle
from sm_bench_widgets.emulator.moto_state import sagemaker_backend
from sm_bench_widgets.emulator.processing.requests import RequestError
from sm_bench_widgets.emulator.validation import provisioned_above_max, range_problem
from sm_bench_widgets.limits import MAX_CONCURRENCY_RANGE, PROVISIONED_CONCURRENCY_RANGE

ACTIONS = ("UpdateEndpoint", "UpdateEndpointWeightsAndCapacities")
# the statuses from which each update is accepted
UPDATABLE = {
    "UpdateEndpoint": ("InService", "Failed"),
    "UpdateEndpointWeightsAndCapacities": ("InService",),
}


class EndpointUpdates:
    """Answers the two update actions of one emulator account."""

    def __init__(self, account: str, lifecycle: EndpointLifecycle):
        self.account = account
        self.lifecycle = lifecycle

    def handle(self, action: str, region: str, params: dict[str, Any]) -> dict[str, Any]:
        """Accept an update (the lifecycle carries it out) or raise ``RequestError``."""
        backend = sagemaker_backend(self.account, region)
        name = _required(params, "EndpointName", "endpointName")
        endpoint = backend.endpoints.get(name)
        arn = f"arn:aws:sagemaker:{region}:{self.account}:endpoint/{name.lower()}"
        if endpoint is None:
            raise RequestError("ValidationException", f'Could not find endpoint "{arn}".')
        if action == "UpdateEndpoint":
            snapshot = self._new_config(backend, region, params)
        else:
            current = self.lifecycle.dataplane.snapshot_of(region, endpoint)
            snapshot = _resized(current, params)
        if endpoint.endpoint_status not in UPDATABLE[action]:
            raise RequestError(
                "ValidationException", f'Cannot update in-progress endpoint "{arn}".'
            )
        if action == "UpdateEndpoint":
            self.lifecycle.endpoint_updated(region, name, snapshot)
        else:
            self.lifecycle.capacity_updated(region, name, snapshot)
        return {"EndpointArn": endpoint.arn}

    def _new_config(self, backend: Any, region: str, params: dict[str, Any]) -> ConfigSnapshot:
        config_name = _required(params, "EndpointConfigName", "endpointConfigName")
        config = backend.endpoint_configs.get(config_name)
        if config is None:
            arn = f"arn:aws:sagemaker:{region}:{self.account}:endpoint-config/{config_name.lower()}"
            raise RequestError(
                "ValidationException", f'Could not find endpoint configuration "{arn}".'
            )
        return ConfigSnapshot.of(config_name, config.production_variants or [])


def _resized(current: ConfigSnapshot, params: dict[str, Any]) -> ConfigSnapshot:
    """``current`` with the request's ServerlessUpdateConfig applied (checked first)."""
    desired = params.get("DesiredWeightsAndCapacities")
    if not isinstance(desired, list) or not desired:
        raise RequestError(
            "ValidationException",
            "1 validation error detected: Value null at 'desiredWeightsAndCapacities' failed "
            "to satisfy constraint: Member must not be null",
        )
    changes: dict[str, dict[str, int]] = {}
    for i, entry in enumerate(desired, start=1):
        name = entry.get("VariantName") if isinstance(entry, dict) else None
        if name in changes:
            raise RequestError(
                "ValidationException",
                f'The variant name "{name}" was non-unique within the request.',
            )
        variant = current.variant(name) if isinstance(name, str) else None
        if variant is None:
            raise RequestError(
                "ValidationException",
                f'The variant name(s) "{name}" is/are not present within endpoint '
                f'configuration "{current.config_name}".',
            )
        changes[name] = _serverless_change(variant, entry.get("ServerlessUpdateConfig"), i)
    return current.with_serverless({k: v for k, v in changes.items() if v})


def _serverless_change(variant: dict[str, Any], update: Any, index: int) -> dict[str, int]:
    """The checked ServerlessConfig members an entry changes (empty when none)."""
    if not update:
        return {}
    serverless = variant.get("ServerlessConfig")
    name = variant.get("VariantName")
    if not serverless:
        raise RequestError(
            "ValidationException",
            f"ServerlessUpdateConfig is given for variant {name}, which is not a serverless "
            "variant.",
        )
    where = f"desiredWeightsAndCapacities.{index}.member.serverlessUpdateConfig"
    change: dict[str, int] = {}
    for key, member, bounds in (
        ("MaxConcurrency", "maxConcurrency", MAX_CONCURRENCY_RANGE),
        ("ProvisionedConcurrency", "provisionedConcurrency", PROVISIONED_CONCURRENCY_RANGE),
    ):
        if key in update and update[key] is not None:
            problem = range_problem(update[key], bounds, f"{where}.{member}")
            if problem:
                raise RequestError("ValidationException", problem)
            change[key] = update[key]
    max_conc = change.get("MaxConcurrency", serverless.get("MaxConcurrency", 1))
    prov = change.get("ProvisionedConcurrency", serverless.get("ProvisionedConcurrency"))
    if prov is not None and prov > max_conc:
        raise RequestError("ValidationException", provisioned_above_max(prov, max_conc, name))
    return change


def _required(params: dict[str, Any], key: str, member: str) -> str:
    value = params.get(key)
    if not isinstance(value, str) or not value:
        raise RequestError(
            "ValidationException",
            f"1 validation error detected: Value null at '{member}' failed to satisfy "
            "constraint: Member must not be null",
        )
    return value
