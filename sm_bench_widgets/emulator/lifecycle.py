"""Endpoint creation, update and deletion as the service does them, on top of moto's state.

moto makes an endpoint ``InService`` at once. Here a new endpoint is ``Creating`` for a
short (time-scaled) delay while the emulator checks it can run the model and starts the
provisioned-concurrency instances; it then becomes ``InService``, or ``Failed`` with a
``FailureReason`` when the model cannot be hosted, as on AWS. Waiters therefore poll.

An update is ``Updating`` for the same delay. UpdateEndpoint brings up the new config's
instances (provisioned ones warm, the rest cold on first use) while the old ones serve,
then switches and drains the old ones; UpdateEndpointWeightsAndCapacities changes
MaxConcurrency and ProvisionedConcurrency of the running instances in place. An update
that fails rolls back: the endpoint is ``InService`` as before, with a ``FailureReason``.

Creation and updates are admitted against the account's serverless quotas first
(``quotas``): past one, the request fails with ``ResourceLimitExceeded``. An injected
creation failure (``faults``) makes a new endpoint ``Failed`` with the fault's reason.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

from moto.core.utils import utcnow

from sm_bench_widgets.emulator.clock import Clock
from sm_bench_widgets.emulator.dataplane import DataPlane
from sm_bench_widgets.emulator.deployments import ConfigSnapshot
from sm_bench_widgets.emulator.faults import FaultBook
from sm_bench_widgets.emulator.moto_state import (
    NotServerless,
    config_snapshot,
    sagemaker_backend,
    variant_settings,
    variant_state,
)
from sm_bench_widgets.emulator.pool import EndpointPool
from sm_bench_widgets.emulator.quotas import AccountQuotas
from sm_bench_widgets.emulator.registry import CannotHost
from sm_bench_widgets.emulator.runtimes import StartFailed


class EndpointLifecycle:
    """Drives endpoints through Creating/Updating to InService/Failed; tears pools down."""

    def __init__(
        self,
        dataplane: DataPlane,
        clock: Clock,
        creation_delay_s: float,
        quotas: AccountQuotas | None = None,
        faults: FaultBook | None = None,
    ):
        self.dataplane = dataplane
        self.clock = clock
        self.creation_delay_s = creation_delay_s
        self.quotas = quotas or AccountQuotas()
        self.faults = faults or FaultBook()
        self._stopping = threading.Event()
        self._threads: set[threading.Thread] = set()
        self._lock = threading.Lock()
        # held from "is the endpoint still there?" to installing its pool, and while a
        # deleted endpoint's pool is dropped: a delete in between would leak the pool
        self._install_lock = threading.Lock()

    # -- requests --------------------------------------------------------------------
    @contextlib.contextmanager
    def admitting(self, region: str, params: dict[str, Any]) -> Iterator[None]:
        """Hold the account's quotas while a CreateEndpoint is carried out; raise
        ``RequestError`` (ResourceLimitExceeded) first when it would pass one."""
        backend = sagemaker_backend(self.dataplane.account, region)
        name = params.get("EndpointName")
        config = backend.endpoint_configs.get(params.get("EndpointConfigName"))
        if not isinstance(name, str) or config is None or name in backend.endpoints:
            yield  # moto refuses it with its own error
            return
        new = ConfigSnapshot.of(config.endpoint_config_name, config.production_variants or [])
        with self.quotas.admitting(region, lambda: self._holdings(region), name, new):
            yield

    def _holdings(self, region: str) -> dict[str, ConfigSnapshot | None]:
        """What each endpoint of ``region`` runs now (None when that cannot be told)."""
        out: dict[str, ConfigSnapshot | None] = {}
        for name, endpoint in list(
            sagemaker_backend(self.dataplane.account, region).endpoints.items()
        ):
            try:
                out[name] = self.dataplane.snapshot_of(region, endpoint)
            except NotServerless:
                out[name] = None
        return out

    def _admit_update(self, region: str, name: str, snapshot: ConfigSnapshot) -> None:
        with self.quotas.admitting(region, lambda: self._holdings(region), name, snapshot):
            self.quotas.reserve(region, name, snapshot)

    def endpoint_created(self, region: str, name: str) -> None:
        """moto just created endpoint ``name``: snapshot its config, mark it Creating."""
        backend = sagemaker_backend(self.dataplane.account, region)
        endpoint = backend.endpoints.get(name)
        if endpoint is None:
            return
        snapshot = config_snapshot(backend, endpoint.endpoint_config_name)
        self.dataplane.snapshots.put(region, name, snapshot)
        endpoint.endpoint_status = "Creating"
        endpoint.failure_reason = None
        injected = self.faults.creation_failure(name)
        self._run(_creator_name(name), self._bring_up, region, name, endpoint, snapshot, injected)

    def endpoint_updated(self, region: str, name: str, snapshot: ConfigSnapshot) -> None:
        """UpdateEndpoint was asked: admit it against the quotas (``RequestError``), mark it
        Updating and switch it to ``snapshot``."""
        endpoint = sagemaker_backend(self.dataplane.account, region).endpoints[name]
        self._admit_update(region, name, snapshot)
        _mark_updating(endpoint)
        self._run(_updater_name(name), self._switch, region, name, endpoint, snapshot)

    def capacity_updated(self, region: str, name: str, snapshot: ConfigSnapshot) -> None:
        """UpdateEndpointWeightsAndCapacities was asked: admit it against the quotas
        (``RequestError``) and apply ``snapshot`` in place."""
        endpoint = sagemaker_backend(self.dataplane.account, region).endpoints[name]
        self._admit_update(region, name, snapshot)
        _mark_updating(endpoint)
        self._run(_updater_name(name), self._resize, region, name, endpoint, snapshot)

    def creating(self, name: str) -> bool:
        """True while endpoint ``name`` is still being brought up (its Creating delay)."""
        with self._lock:
            return any(t.name == _creator_name(name) for t in self._threads)

    def endpoint_deleted(self, region: str, name: str) -> None:
        """moto just deleted endpoint ``name``: stop its instances."""
        with self._install_lock:
            self.dataplane.drop_pool(region, name)
        self.quotas.release(region, name)

    def stop(self, timeout: float = 5.0) -> None:
        """Abandon endpoints still being created or updated."""
        self._stopping.set()
        with self._lock:
            threads = list(self._threads)
        deadline = time.monotonic() + timeout
        for t in threads:
            t.join(max(0.0, deadline - time.monotonic()))

    # -- work ------------------------------------------------------------------------
    def _run(self, thread_name: str, work: Callable[..., None], *args: Any) -> None:
        def body() -> None:
            try:
                work(*args)
            finally:
                with self._lock:
                    self._threads.discard(threading.current_thread())

        thread = threading.Thread(target=body, daemon=True, name=thread_name)
        with self._lock:
            self._threads.add(thread)
        thread.start()

    def _start_pool(
        self, region: str, endpoint: Any, snapshot: ConfigSnapshot
    ) -> tuple[EndpointPool | None, str | None]:
        """A warmed-up pool for ``snapshot``, or the reason it cannot run."""
        backend = sagemaker_backend(self.dataplane.account, region)
        pool = None
        memory = 0
        try:
            state = variant_state(backend, endpoint, snapshot)
            memory = state.settings.memory_mb
            pool = self.dataplane.build_pool(region, state)
            pool.warm_up()
            return pool, None
        except (CannotHost, NotServerless) as exc:
            reason = str(exc)
        except StartFailed as exc:
            if exc.out_of_memory:
                reason = (
                    f"Insufficient memory: the model does not fit in MemorySizeInMB="
                    f"{memory} ({exc})."
                )
            else:
                reason = f"The primary container failed to start: {exc}"
        except Exception as exc:  # noqa: BLE001 - any failure becomes the endpoint's reason
            reason = f"The emulator could not deploy the endpoint: {exc!r}"
        if pool is not None:
            pool.close()
        return None, reason

    def _wait_delay(self, started: float) -> None:
        remaining = self.clock.real_seconds(self.creation_delay_s) - (time.monotonic() - started)
        if remaining > 0:
            self._stopping.wait(remaining)

    def _still_current(self, region: str, name: str, endpoint: Any) -> bool:
        # looked up afresh: after reset() moto holds a new backend without it
        current = sagemaker_backend(self.dataplane.account, region).endpoints.get(name)
        return current is endpoint and not self._stopping.is_set()

    def _bring_up(
        self,
        region: str,
        name: str,
        endpoint: Any,
        snapshot: ConfigSnapshot,
        injected: str | None = None,
    ) -> None:
        started = time.monotonic()
        if injected is not None:
            pool, reason = None, injected
        else:
            pool, reason = self._start_pool(region, endpoint, snapshot)
        self._wait_delay(started)
        with self._install_lock:
            current = self._still_current(region, name, endpoint)
            if current and pool is not None:
                self.dataplane.install_pool(region, name, snapshot.generation, pool)
                endpoint.endpoint_status = "InService"
        if not current:
            if pool is not None:
                pool.close()
            return
        if reason is not None:
            endpoint.failure_reason = reason
            endpoint.endpoint_status = "Failed"
        endpoint.last_modified_time = utcnow()

    def _switch(self, region: str, name: str, endpoint: Any, snapshot: ConfigSnapshot) -> None:
        try:
            self._switch_to(region, name, endpoint, snapshot)
        finally:
            self.quotas.release(region, name)

    def _switch_to(self, region: str, name: str, endpoint: Any, snapshot: ConfigSnapshot) -> None:
        started = time.monotonic()
        pool, reason = self._start_pool(region, endpoint, snapshot)
        self._wait_delay(started)
        with self._install_lock:
            current = self._still_current(region, name, endpoint)
            if current and pool is not None:
                self.dataplane.snapshots.put(region, name, snapshot)
                self.dataplane.install_pool(region, name, snapshot.generation, pool)
                endpoint.endpoint_config_name = snapshot.config_name
                endpoint.production_variants = snapshot.described()
        if not current:
            if pool is not None:
                pool.close()
            return
        rolled_back = self.dataplane.pool_of(region, name) is not None
        _finish_update(endpoint, reason, "InService" if rolled_back else "Failed")

    def _resize(self, region: str, name: str, endpoint: Any, snapshot: ConfigSnapshot) -> None:
        try:
            self._resize_to(region, name, endpoint, snapshot)
        finally:
            self.quotas.release(region, name)

    def _resize_to(self, region: str, name: str, endpoint: Any, snapshot: ConfigSnapshot) -> None:
        started = time.monotonic()
        reason = None
        pool = self.dataplane.pool_of(region, name)
        if pool is not None:
            before = pool.settings
            variant = snapshot.variant(before.variant_name) or snapshot.variants[0]
            try:
                pool.reconfigure(variant_settings(variant))
            except StartFailed as exc:
                reason = f"The primary container failed to start: {exc}"
                with contextlib.suppress(StartFailed):
                    pool.reconfigure(before)
        self._wait_delay(started)
        with self._install_lock:
            current = self._still_current(region, name, endpoint)
            if current and reason is None:
                self.dataplane.snapshots.put(region, name, snapshot)
                endpoint.production_variants = snapshot.described()
        if current:
            _finish_update(endpoint, reason, "InService")


def _mark_updating(endpoint: Any) -> None:
    endpoint.endpoint_status = "Updating"
    endpoint.failure_reason = None
    endpoint.last_modified_time = utcnow()


def _finish_update(endpoint: Any, reason: str | None, status_if_failed: str) -> None:
    """InService after an update; a failed one rolled back (``status_if_failed``), with why."""
    endpoint.failure_reason = reason
    endpoint.endpoint_status = "InService" if reason is None else status_if_failed
    endpoint.last_modified_time = utcnow()


def _creator_name(endpoint: str) -> str:
    """The name of the thread that brings endpoint ``endpoint`` up."""
    return f"sm-bench-emulator-create-{endpoint}"


def _updater_name(endpoint: str) -> str:
    """The name of the thread that updates endpoint ``endpoint``."""
    return f"sm-bench-emulator-update-{endpoint}"
