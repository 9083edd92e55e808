"""The instance pool of one serverless endpoint variant.

Each instance serves one request at a time. A request that finds no idle instance starts a
new one (a cold start it pays for) while there are fewer than MaxConcurrency instances;
beyond that it is throttled. Idle on-demand instances are reclaimed after the idle
timeout; provisioned-concurrency instances are started warm and never reclaimed.
"""

from __future__ import annotations

import contextlib
import threading
from dataclasses import dataclass, field

from sm_bench_widgets.emulator.clock import Clock, SeededRandom
from sm_bench_widgets.emulator.runtimes import ModelSpec, Runtime


class Throttled(Exception):
    """Every instance up to MaxConcurrency is busy."""


class PoolClosed(Exception):
    """The endpoint was deleted (or replaced) while the request was on its way."""


@dataclass(eq=False)
class Instance:
    """One instance of the pool; ``runtime`` is None while it is starting."""

    provisioned: bool
    busy: bool = True
    runtime: Runtime | None = None
    last_used: float = field(default_factory=Clock.now)


@dataclass
class Lease:
    """An instance held by one request, and whether that request paid a cold start."""

    instance: Instance
    cold: bool
    setup_ms: float
    busy_after_acquire: int
    provisioned_busy: int


@dataclass(frozen=True)
class VariantSettings:
    """The serverless settings of a variant."""

    variant_name: str
    memory_mb: int
    max_concurrency: int
    provisioned_concurrency: int = 0


class EndpointPool:
    """Instances of one endpoint variant, shared by the request threads."""

    def __init__(
        self,
        spec: ModelSpec,
        settings: VariantSettings,
        clock: Clock,
        rng: SeededRandom,
        idle_timeout_s: float,
    ):
        self.spec = spec
        self.settings = settings
        self.clock = clock
        self.rng = rng
        self.idle_timeout_real_s = clock.real_seconds(idle_timeout_s)
        self._lock = threading.Lock()
        self._instances: list[Instance] = []
        self._closed = False

    @property
    def instance_count(self) -> int:
        """How many instances the pool holds now: starting, busy or idle."""
        with self._lock:
            return len(self._instances)

    # -- lifecycle -------------------------------------------------------------------
    def warm_up(self) -> None:
        """Start the provisioned-concurrency instances it lacks (raises ``StartFailed``)."""
        with self._lock:
            held = sum(i.provisioned for i in self._instances)
        for _ in range(max(0, self.settings.provisioned_concurrency - held)):
            runtime = self.spec.start(
                self.settings.memory_mb, warm=True, clock=self.clock, rng=self.rng
            )
            with self._lock:
                self._instances.append(Instance(provisioned=True, busy=False, runtime=runtime))

    def close(self) -> None:
        """Stop every instance; later acquires fail."""
        with self._lock:
            self._closed = True
            gone, self._instances = self._instances, []
        _close_all(gone)

    def drain(self) -> None:
        """Take no new request; stop idle instances now and busy ones when their request ends."""
        with self._lock:
            self._closed = True
            idle = [i for i in self._instances if not i.busy]
            self._instances = [i for i in self._instances if i.busy]
        _close_all(idle)

    def reconfigure(self, settings: VariantSettings) -> None:
        """New MaxConcurrency and ProvisionedConcurrency in place, instances kept.

        Provisioned instances beyond the new count become on-demand ones (reclaimed when
        idle); missing ones are started warm (raises ``StartFailed``).
        """
        with self._lock:
            self.settings = settings
            provisioned = [i for i in self._instances if i.provisioned]
            for inst in provisioned[settings.provisioned_concurrency :]:
                inst.provisioned = False
                inst.last_used = Clock.now()
        self.warm_up()

    # -- serving ---------------------------------------------------------------------
    def acquire(self) -> Lease:
        """An idle instance, or a newly started one (cold start); ``Throttled``, ``PoolClosed``."""
        self.reap()
        with self._lock:
            if self._closed:
                raise PoolClosed()
            idle = self._pick_idle()
            if idle is not None:
                idle.busy = True
                return Lease(idle, False, 0.0, *self._busy_counts())
            if len(self._instances) >= self.settings.max_concurrency:
                raise Throttled()
            starting = Instance(provisioned=False)
            self._instances.append(starting)
            counts = self._busy_counts()
        try:
            starting.runtime = self.spec.start(
                self.settings.memory_mb, warm=False, clock=self.clock, rng=self.rng
            )
        except BaseException:
            self._remove(starting)
            raise
        return Lease(starting, True, starting.runtime.setup_ms, *counts)

    def release(self, lease: Lease, discard: bool = False) -> None:
        """Give the instance back (or drop it, when it broke)."""
        inst = lease.instance
        if discard:
            self._remove(inst)
            if inst.runtime is not None:
                _close_all([inst])
            return
        with self._lock:
            inst.busy = False
            inst.last_used = Clock.now()
            closed = self._closed
            if closed:
                self._instances = [i for i in self._instances if i is not inst]
        if closed:
            _close_all([inst])

    def reap(self) -> int:
        """Reclaim on-demand instances idle longer than the idle timeout; how many."""
        now = Clock.now()
        with self._lock:
            stale = [
                i
                for i in self._instances
                if not i.busy and not i.provisioned and now - i.last_used > self.idle_timeout_real_s
            ]
            self._instances = [i for i in self._instances if i not in stale]
        _close_all(stale)
        return len(stale)

    # -- state -----------------------------------------------------------------------
    def _pick_idle(self) -> Instance | None:
        idle = [i for i in self._instances if not i.busy and i.runtime is not None]
        if not idle:
            return None
        # provisioned first (AWS serves from provisioned concurrency before spilling over),
        # then the most recently used on-demand instance so the others can go idle
        return max(idle, key=lambda i: (i.provisioned, i.last_used))

    def _busy_counts(self) -> tuple[int, int]:
        busy = sum(i.busy for i in self._instances)
        prov = sum(i.busy and i.provisioned for i in self._instances)
        return busy, prov

    def _remove(self, inst: Instance) -> None:
        with self._lock:
            self._instances = [i for i in self._instances if i is not inst]


def _close_all(instances: list[Instance]) -> None:
    """Close instances; a failure to close one must not fail a request."""
    for inst in instances:
        if inst.runtime is not None:
            with contextlib.suppress(Exception):
                inst.runtime.close()
