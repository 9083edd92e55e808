"""Endpoint creation and deletion as the service does them, on top of moto's state.

moto makes an endpoint ``InService`` at once. Here a new endpoint is ``Creating`` for a
short (time-scaled) delay while the emulator checks it can run the model and starts the
provisioned-concurrency instances; it then becomes ``InService``, or ``Failed`` with a
``FailureReason`` when the model cannot be hosted, as on AWS. Waiters therefore poll.
"""

from __future__ import annotations

import threading
import time

from moto.core.utils import utcnow

from sm_bench_widgets.emulator.clock import Clock
from sm_bench_widgets.emulator.dataplane import DataPlane
from sm_bench_widgets.emulator.moto_state import NotServerless, sagemaker_backend, variant_state
from sm_bench_widgets.emulator.registry import CannotHost
from sm_bench_widgets.emulator.runtimes import StartFailed


class EndpointLifecycle:
    """Drives endpoints from Creating to InService/Failed and tears pools down on delete."""

    def __init__(self, dataplane: DataPlane, clock: Clock, creation_delay_s: float):
        self.dataplane = dataplane
        self.clock = clock
        self.creation_delay_s = creation_delay_s
        self._stopping = threading.Event()
        self._threads: set[threading.Thread] = set()
        self._lock = threading.Lock()
        # held from "is the endpoint still there?" to installing its pool, and while a
        # deleted endpoint's pool is dropped: a delete in between would leak the pool
        self._install_lock = threading.Lock()

    def endpoint_created(self, region: str, name: str) -> None:
        """moto just created endpoint ``name``: mark it Creating and bring it up."""
        backend = sagemaker_backend(self.dataplane.account, region)
        endpoint = backend.endpoints.get(name)
        if endpoint is None:
            return
        endpoint.endpoint_status = "Creating"
        endpoint.failure_reason = None
        thread = threading.Thread(
            target=self._bring_up,
            args=(region, name, endpoint),
            daemon=True,
            name=_creator_name(name),
        )
        with self._lock:
            self._threads.add(thread)
        thread.start()

    def creating(self, name: str) -> bool:
        """True while endpoint ``name`` is still being brought up (its Creating delay)."""
        with self._lock:
            return any(t.name == _creator_name(name) for t in self._threads)

    def endpoint_deleted(self, region: str, name: str) -> None:
        """moto just deleted endpoint ``name``: stop its instances."""
        with self._install_lock:
            self.dataplane.drop_pool(region, name)

    def stop(self, timeout: float = 5.0) -> None:
        """Abandon endpoints still being created."""
        self._stopping.set()
        with self._lock:
            threads = list(self._threads)
        deadline = time.monotonic() + timeout
        for t in threads:
            t.join(max(0.0, deadline - time.monotonic()))

    def _bring_up(self, region: str, name: str, endpoint) -> None:
        started = time.monotonic()
        backend = sagemaker_backend(self.dataplane.account, region)
        pool = None
        reason = None
        try:
            state = variant_state(backend, endpoint)
            pool = self.dataplane.build_pool(region, state)
            pool.warm_up()
        except (CannotHost, NotServerless) as exc:
            reason = str(exc)
        except StartFailed as exc:
            if exc.out_of_memory:
                reason = (
                    f"Insufficient memory: the model does not fit in MemorySizeInMB="
                    f"{state.settings.memory_mb} ({exc})."
                )
            else:
                reason = f"The primary container failed to start: {exc}"
        except Exception as exc:  # noqa: BLE001 - any failure becomes the endpoint's reason
            reason = f"The emulator could not create the endpoint: {exc!r}"
        remaining = self.clock.real_seconds(self.creation_delay_s) - (time.monotonic() - started)
        if remaining > 0:
            self._stopping.wait(remaining)
        try:
            with self._install_lock:
                # looked up afresh: after reset() moto holds a new backend without it
                current = sagemaker_backend(self.dataplane.account, region).endpoints.get(name)
                gone = current is not endpoint or self._stopping.is_set()
                if not gone and reason is None:
                    self.dataplane.install_pool(region, name, state.config_name, pool)
                    endpoint.endpoint_status = "InService"
            if (gone or reason is not None) and pool is not None:
                pool.close()
            if gone:
                return
            if reason is not None:
                endpoint.failure_reason = reason
                endpoint.endpoint_status = "Failed"
            endpoint.last_modified_time = utcnow()
        finally:
            with self._lock:
                self._threads.discard(threading.current_thread())


def _creator_name(endpoint: str) -> str:
    """The name of the thread that brings endpoint ``endpoint`` up."""
    return f"sm-bench-emulator-create-{endpoint}"
