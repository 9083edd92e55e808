"""What an endpoint runs: a copy of its endpoint config taken at CreateEndpoint/UpdateEndpoint.

On AWS an endpoint keeps serving what it was created (or last updated) from, even after its
endpoint config is deleted, and ``UpdateEndpointWeightsAndCapacities`` changes the endpoint's
serverless settings without touching the config. The data plane therefore reads a
``ConfigSnapshot`` kept per endpoint, never the live config.
"""

from __future__ import annotations

import copy
import itertools
import threading
from dataclasses import dataclass
from typing import Any

_generations = itertools.count(1)


@dataclass(frozen=True)
class ConfigSnapshot:
    """The production variants an endpoint runs; ``generation`` changes with each deployment."""

    config_name: str
    variants: tuple[dict[str, Any], ...]
    generation: int

    @classmethod
    def of(cls, config_name: str, production_variants: list[dict[str, Any]]) -> ConfigSnapshot:
        """A deep copy of a config's variants, as a new deployment."""
        return cls(
            config_name,
            tuple(copy.deepcopy(v) for v in production_variants or []),
            next(_generations),
        )

    def variant(self, name: str) -> dict[str, Any] | None:
        """The variant named ``name``, or None."""
        return next((v for v in self.variants if v.get("VariantName") == name), None)

    def with_serverless(self, changes: dict[str, dict[str, int]]) -> ConfigSnapshot:
        """The same deployment with ServerlessConfig members changed per variant name."""
        variants = []
        for variant in self.variants:
            variant = copy.deepcopy(variant)
            update = changes.get(variant.get("VariantName", ""))
            if update:
                variant["ServerlessConfig"] = {**variant.get("ServerlessConfig", {}), **update}
            variants.append(variant)
        return ConfigSnapshot(self.config_name, tuple(variants), self.generation)

    def described(self) -> list[dict[str, Any]]:
        """The endpoint's ``ProductionVariants`` as DescribeEndpoint shows them."""
        out = []
        for variant in self.variants:
            entry: dict[str, Any] = {"VariantName": variant.get("VariantName", "AllTraffic")}
            serverless = variant.get("ServerlessConfig")
            if serverless:
                entry["CurrentServerlessConfig"] = dict(serverless)
                entry["DesiredServerlessConfig"] = dict(serverless)
            weight = variant.get("InitialVariantWeight")
            if weight is not None:
                entry["CurrentWeight"] = entry["DesiredWeight"] = weight
            count = variant.get("InitialInstanceCount")
            if count:
                entry["CurrentInstanceCount"] = entry["DesiredInstanceCount"] = count
            out.append(entry)
        return out


class SnapshotStore:
    """The snapshot of each endpoint, by (region, endpoint name); thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_endpoint: dict[tuple[str, str], ConfigSnapshot] = {}

    def get(self, region: str, name: str) -> ConfigSnapshot | None:
        """The endpoint's snapshot, or None."""
        with self._lock:
            return self._by_endpoint.get((region, name))

    def put(self, region: str, name: str, snapshot: ConfigSnapshot) -> None:
        """Record what the endpoint runs now."""
        with self._lock:
            self._by_endpoint[(region, name)] = snapshot

    def setdefault(self, region: str, name: str, snapshot: ConfigSnapshot) -> ConfigSnapshot:
        """The endpoint's snapshot, recording ``snapshot`` if it had none."""
        with self._lock:
            return self._by_endpoint.setdefault((region, name), snapshot)

    def drop(self, region: str, name: str) -> None:
        """Forget a deleted endpoint."""
        with self._lock:
            self._by_endpoint.pop((region, name), None)

    def clear(self) -> None:
        """Forget every endpoint."""
        with self._lock:
            self._by_endpoint.clear()
