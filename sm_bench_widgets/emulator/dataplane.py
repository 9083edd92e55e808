"""The serverless data plane: InvokeEndpoint against the endpoints moto holds.

For each invocation: check the payload limit, find the endpoint in moto's SageMaker state
and its variant in the endpoint's config snapshot (what it was created or updated from),
take an instance from the endpoint's pool (cold start or throttle), run the model, publish
the CloudWatch metrics AWS publishes, and answer or fail as AWS does.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from sm_bench_widgets.emulator import errors
from sm_bench_widgets.emulator.clock import Clock, SeededRandom
from sm_bench_widgets.emulator.deployments import ConfigSnapshot, SnapshotStore
from sm_bench_widgets.emulator.metrics import InvocationRecord, MetricsSink
from sm_bench_widgets.emulator.moto_state import (
    NotServerless,
    VariantState,
    config_snapshot,
    sagemaker_backend,
    variant_state,
)
from sm_bench_widgets.emulator.pool import EndpointPool, Lease, PoolClosed, Throttled
from sm_bench_widgets.emulator.profiles import lognormal_factor
from sm_bench_widgets.emulator.registry import CannotHost, ModelRegistry
from sm_bench_widgets.emulator.runtimes import (
    ContainerError,
    ContainerOutOfMemory,
    ContainerTimeout,
    StartFailed,
)
from sm_bench_widgets.limits import MAX_PAYLOAD_BYTES

INVOKABLE_STATUSES = ("InService", "Updating", "SystemUpdating", "RollingBack")
OVERHEAD_MS = 4.0
OVERHEAD_SIGMA = 0.25


@dataclass
class Invocation:
    """A successful answer and its emulated timings (ms)."""

    body: bytes
    content_type: str
    variant: str
    model_ms: float
    overhead_ms: float
    setup_ms: float | None


class DataPlane:
    """Endpoint pools of one emulator account, and the InvokeEndpoint logic."""

    def __init__(
        self,
        account: str,
        registry: ModelRegistry,
        clock: Clock,
        seed: int | None,
        idle_timeout_s: float,
    ):
        self.account = account
        self.registry = registry
        self.clock = clock
        self.seed = seed
        self.idle_timeout_s = idle_timeout_s
        self.metrics = MetricsSink(account)
        self.snapshots = SnapshotStore()
        # pool of each endpoint with the snapshot generation it was built for
        self._pools: dict[tuple[str, str], tuple[int, EndpointPool]] = {}
        self._lock = threading.Lock()
        self._overhead_rng = SeededRandom(seed, "overhead")

    # -- pools -----------------------------------------------------------------------
    def build_pool(self, region: str, state: VariantState) -> EndpointPool:
        """A new pool for an endpoint variant (``CannotHost`` if the model is not runnable)."""
        if state.model is None:
            raise CannotHost(f"Could not find model {state.model_name}.")
        spec = self.registry.resolve(state.model_name, state.model, self.account)
        rng = SeededRandom(self.seed, f"{region}/{state.endpoint.endpoint_name}")
        return EndpointPool(spec, state.settings, self.clock, rng, self.idle_timeout_s)

    def install_pool(self, region: str, name: str, generation: int, pool: EndpointPool) -> None:
        """Make ``pool`` serve endpoint ``name``; the pool it replaces is drained."""
        with self._lock:
            old = self._pools.get((region, name))
            self._pools[(region, name)] = (generation, pool)
        if old is not None and old[1] is not pool:
            old[1].drain()

    def pool_of(self, region: str, name: str) -> EndpointPool | None:
        """The pool serving endpoint ``name`` now, if any."""
        with self._lock:
            entry = self._pools.get((region, name))
        return entry[1] if entry is not None else None

    def drop_pool(self, region: str, name: str) -> None:
        """Stop the instances of endpoint ``name`` (deleted) and forget its snapshot."""
        with self._lock:
            old = self._pools.pop((region, name), None)
        self.snapshots.drop(region, name)
        if old is not None:
            old[1].close()

    def close(self) -> None:
        """Stop every instance of every endpoint."""
        with self._lock:
            pools, self._pools = list(self._pools.values()), {}
        self.snapshots.clear()
        for _, pool in pools:
            pool.close()

    def reap_idle(self) -> int:
        """Reclaim idle on-demand instances everywhere; how many."""
        with self._lock:
            pools = [pool for _, pool in self._pools.values()]
        return sum(pool.reap() for pool in pools)

    def instance_count(self, region: str, name: str) -> int:
        """How many instances endpoint ``name`` holds now; 0 when it has none."""
        with self._lock:
            entry = self._pools.get((region, name))
        return entry[1].instance_count if entry is not None else 0

    def _pool_for(self, region: str, state: VariantState) -> EndpointPool:
        key = (region, state.endpoint.endpoint_name)
        with self._lock:
            entry = self._pools.get(key)
        if entry is not None and entry[0] == state.generation:
            return entry[1]
        pool = self.build_pool(region, state)
        with self._lock:
            entry = self._pools.get(key)
            if entry is not None and entry[0] == state.generation:
                return entry[1]
            self._pools[key] = (state.generation, pool)
        if entry is not None:
            entry[1].drain()
        return pool

    def snapshot_of(self, region: str, endpoint: Any) -> ConfigSnapshot:
        """What ``endpoint`` runs: its snapshot, else one of its config taken now."""
        name = endpoint.endpoint_name
        found = self.snapshots.get(region, name)
        if found is not None:
            return found
        backend = sagemaker_backend(self.account, region)
        return self.snapshots.setdefault(
            region, name, config_snapshot(backend, endpoint.endpoint_config_name)
        )

    # -- invoke ----------------------------------------------------------------------
    def invoke(
        self,
        region: str,
        endpoint_name: str,
        body: bytes,
        content_type: str,
        accept: str,
        target_variant: str | None = None,
    ) -> Invocation:
        """Serve one InvokeEndpoint request; raise ``InvokeError`` as AWS would fail."""
        backend = sagemaker_backend(self.account, region)
        endpoint = backend.endpoints.get(endpoint_name)
        if endpoint is None or endpoint.endpoint_status not in INVOKABLE_STATUSES:
            raise errors.endpoint_not_found(endpoint_name, self.account)
        if len(body) > MAX_PAYLOAD_BYTES:
            raise errors.validation_error(
                f"Request payload of {len(body)} bytes exceeds the maximum of "
                f"{MAX_PAYLOAD_BYTES} bytes (4 MB) for serverless inference."
            )
        try:
            state = variant_state(
                backend, endpoint, self.snapshot_of(region, endpoint), target_variant
            )
        except NotServerless as exc:
            raise errors.validation_error(str(exc)) from exc
        variant = state.settings.variant_name
        try:
            pool = self._pool_for(region, state)
        except CannotHost as exc:
            self._record(region, endpoint_name, variant, error_5xx=True)
            raise errors.model_error(
                500, str(exc), region=region, account=self.account, endpoint=endpoint_name
            ) from exc
        return self._serve(region, endpoint_name, pool, body, content_type, accept)

    def _serve(
        self,
        region: str,
        endpoint_name: str,
        pool: EndpointPool,
        body: bytes,
        content_type: str,
        accept: str,
    ) -> Invocation:
        settings = pool.settings
        where = {"region": region, "account": self.account, "endpoint": endpoint_name}
        overhead_ms = OVERHEAD_MS * lognormal_factor(self._overhead_rng, OVERHEAD_SIGMA)
        try:
            lease = pool.acquire()
        except Throttled as exc:
            self._record(region, endpoint_name, settings.variant_name, error_4xx=True)
            raise errors.throttled(settings.max_concurrency) from exc
        except PoolClosed as exc:
            raise errors.endpoint_not_found(endpoint_name, self.account) from exc
        except StartFailed as exc:
            self._record(
                region, endpoint_name, settings.variant_name, error_5xx=True, reached_model=True
            )
            if exc.out_of_memory:
                detail = "" if exc.footprint_mb else str(exc)
                raise errors.out_of_memory(
                    exc.footprint_mb, settings.memory_mb, **where, detail=detail
                ) from exc
            raise errors.model_error(500, f"model failed to load: {exc}", **where) from exc
        discard = False
        try:
            self.clock.sleep_ms(overhead_ms)
            runtime = lease.instance.runtime
            try:
                answer = runtime.invoke(body, content_type, accept)
            except ContainerTimeout as exc:
                discard = True
                self._record_lease(
                    region, endpoint_name, pool, lease, overhead_ms, None, error_5xx=True
                )
                raise errors.timed_out(**where) from exc
            except ContainerOutOfMemory as exc:
                discard = True
                self._record_lease(
                    region, endpoint_name, pool, lease, overhead_ms, None, error_5xx=True
                )
                raise errors.out_of_memory(
                    exc.footprint_mb, settings.memory_mb, **where, detail=str(exc)
                ) from exc
            except ContainerError as exc:
                discard = not runtime.healthy
                client = 400 <= exc.status_code < 500
                self._record_lease(
                    region,
                    endpoint_name,
                    pool,
                    lease,
                    overhead_ms,
                    None,
                    error_4xx=client,
                    error_5xx=not client,
                )
                raise errors.model_error(exc.status_code, str(exc), **where) from exc
            if len(answer.body) > MAX_PAYLOAD_BYTES:
                self._record_lease(
                    region, endpoint_name, pool, lease, overhead_ms, answer.model_ms, error_4xx=True
                )
                raise errors.validation_error(
                    f"Response payload of {len(answer.body)} bytes exceeds the maximum of "
                    f"{MAX_PAYLOAD_BYTES} bytes (4 MB) for serverless inference."
                )
            self._record_lease(region, endpoint_name, pool, lease, overhead_ms, answer.model_ms)
            total_overhead = overhead_ms + (lease.setup_ms if lease.cold else 0.0)
            return Invocation(
                body=answer.body,
                content_type=answer.content_type,
                variant=settings.variant_name,
                model_ms=answer.model_ms,
                overhead_ms=total_overhead,
                setup_ms=lease.setup_ms if lease.cold else None,
            )
        finally:
            pool.release(lease, discard=discard)

    # -- metrics ---------------------------------------------------------------------
    def _record(
        self,
        region: str,
        endpoint: str,
        variant: str,
        *,
        reached_model: bool = False,
        error_4xx: bool = False,
        error_5xx: bool = False,
    ) -> None:
        rec = InvocationRecord(
            endpoint=endpoint,
            variant=variant,
            reached_model=reached_model,
            error_4xx=error_4xx,
            error_5xx=error_5xx,
        )
        self.metrics.publish(region, rec)

    def _record_lease(
        self,
        region: str,
        endpoint: str,
        pool: EndpointPool,
        lease: Lease,
        overhead_ms: float,
        model_ms: float | None,
        *,
        error_4xx: bool = False,
        error_5xx: bool = False,
    ) -> None:
        s = pool.settings
        runtime = lease.instance.runtime
        footprint = runtime.footprint_mb if runtime is not None else 0.0
        rec = InvocationRecord(
            endpoint=endpoint,
            variant=s.variant_name,
            reached_model=True,
            error_4xx=error_4xx,
            error_5xx=error_5xx,
            model_ms=model_ms,
            overhead_ms=overhead_ms + (lease.setup_ms if lease.cold else 0.0),
            setup_ms=lease.setup_ms if lease.cold else None,
            memory_utilization=min(100.0, 100.0 * footprint / s.memory_mb),
            concurrency_utilization=lease.busy_after_acquire / s.max_concurrency,
            provisioned=s.provisioned_concurrency,
            provisioned_busy=lease.provisioned_busy,
            served_by_provisioned=lease.instance.provisioned,
        )
        self.metrics.publish(region, rec)
