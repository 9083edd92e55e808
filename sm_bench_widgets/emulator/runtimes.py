"""What runs inside one emulated instance: a profile model, or a real inference.py worker.

A ``ModelSpec`` knows how to start an instance of a model at a memory size (the cold
start); the ``Runtime`` it returns serves one request at a time. Profile runtimes sleep
their emulated service time; handler runtimes call a worker process from
``handler_host`` whose cold start, compute and memory are real.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Protocol

from sm_bench_widgets.emulator import demo_io
from sm_bench_widgets.emulator.clock import Clock, SeededRandom
from sm_bench_widgets.emulator.profiles import ModelProfile, lognormal_factor
from sm_bench_widgets.limits import INVOCATION_TIMEOUT_S


class StartFailed(Exception):
    """The instance could not start (``out_of_memory`` when the model does not fit)."""

    def __init__(self, message: str, out_of_memory: bool = False, footprint_mb: float = 0.0):
        self.out_of_memory = out_of_memory
        self.footprint_mb = footprint_mb
        super().__init__(message)


class ContainerError(Exception):
    """The model answered with an error status (surfaced to clients as ModelError)."""

    def __init__(self, message: str, status_code: int):
        self.status_code = status_code
        super().__init__(message)


class ContainerTimeout(Exception):
    """The model did not answer within the 60 s invocation limit."""


class ContainerOutOfMemory(Exception):
    """The model ran out of memory while serving; the instance is gone."""

    def __init__(self, message: str, footprint_mb: float = 0.0):
        self.footprint_mb = footprint_mb
        super().__init__(message)


@dataclass
class Answer:
    """A model's answer: body, content type and model latency in (emulated) ms."""

    body: bytes
    content_type: str
    model_ms: float


class Runtime(Protocol):
    """One started instance of a model."""

    setup_ms: float
    footprint_mb: float

    @property
    def healthy(self) -> bool:
        """Whether the instance can serve again (a crashed worker cannot)."""

    def invoke(self, body: bytes, content_type: str, accept: str) -> Answer:
        """Serve one request."""

    def close(self) -> None:
        """Free the instance's resources."""


class ModelSpec(Protocol):
    """A model the emulator can host."""

    name: str

    def start(self, memory_mb: int, *, warm: bool, clock: Clock, rng: SeededRandom) -> Runtime:
        """Start an instance (a cold start unless ``warm``); raise ``StartFailed``."""


# -- profile models --------------------------------------------------------------------


@dataclass
class ProfileSpec:
    """A model emulated from a ``ModelProfile``."""

    name: str
    profile: ModelProfile

    def start(
        self, memory_mb: int, *, warm: bool, clock: Clock, rng: SeededRandom
    ) -> ProfileRuntime:
        """Pay the emulated cold start (unless warm); fail if the footprint does not fit."""
        setup_ms = self.profile.cold_start_ms * lognormal_factor(rng, self.profile.cold_start_sigma)
        if not warm:
            clock.sleep_ms(setup_ms)
        if not self.profile.fits(memory_mb):
            raise StartFailed(
                f"model {self.name} needs {self.profile.footprint_mb:.0f} MB, "
                f"more than MemorySizeInMB={memory_mb}",
                out_of_memory=True,
                footprint_mb=self.profile.footprint_mb,
            )
        return ProfileRuntime(self.profile, memory_mb, clock, rng, setup_ms)


class ProfileRuntime:
    """An instance of a profile model: parses the body, sleeps its service time, answers."""

    def __init__(
        self,
        profile: ModelProfile,
        memory_mb: int,
        clock: Clock,
        rng: SeededRandom,
        setup_ms: float,
    ):
        self.profile = profile
        self.memory_mb = memory_mb
        self.clock = clock
        self.rng = rng
        self.setup_ms = setup_ms
        self.footprint_mb = profile.footprint_mb
        self.healthy = True

    def invoke(self, body: bytes, content_type: str, accept: str) -> Answer:
        """Answer after the emulated service time for this many rows at this memory size."""
        try:
            out, out_type, rows = demo_io.predict(body, content_type, accept, self.profile.kind)
        except demo_io.BadRequest as exc:
            self.clock.sleep_ms(1.0)
            raise ContainerError(str(exc), exc.status_code) from exc
        model_ms = self.profile.median_service_ms(self.memory_mb, rows) * lognormal_factor(
            self.rng, self.profile.sigma
        )
        if model_ms > INVOCATION_TIMEOUT_S * 1000:
            self.clock.sleep_ms(INVOCATION_TIMEOUT_S * 1000)
            raise ContainerTimeout(f"model took {model_ms / 1000:.1f} s")
        self.clock.sleep_ms(model_ms)
        return Answer(out, out_type, model_ms)

    def close(self) -> None:
        """Nothing to free."""


# -- inference.py handler models -------------------------------------------------------


@dataclass
class HandlerSpec:
    """A user's SageMaker inference script (``model_fn``/``input_fn``/...) in a directory."""

    name: str
    source_dir: str
    program: str = "inference.py"
    env: dict[str, str] | None = None

    def start(self, memory_mb: int, *, warm: bool, clock: Clock, rng: SeededRandom) -> Runtime:
        """Start a worker process: the cold start is real (spawn, imports, ``model_fn``)."""
        from sm_bench_widgets.emulator import handler_host

        try:
            worker = handler_host.HandlerWorker.start(
                self.source_dir,
                self.program,
                memory_limit_mb=memory_mb,
                env=dict(self.env or {}),
            )
        except handler_host.HandlerStartError as exc:
            raise StartFailed(exc.message, out_of_memory=exc.out_of_memory) from exc
        return HandlerRuntime(worker)


class HandlerRuntime:
    """An instance of a handler model: one worker process, timed for real."""

    def __init__(self, worker):
        self.worker = worker
        self.setup_ms = float(worker.setup_seconds) * 1000.0

    @property
    def footprint_mb(self) -> float:
        """The worker's measured resident memory."""
        return float(self.worker.footprint_mb)

    @property
    def healthy(self) -> bool:
        """Whether the worker process still runs."""
        return bool(self.worker.alive)

    def invoke(self, body: bytes, content_type: str, accept: str) -> Answer:
        """Call the worker with the 60 s limit; map its failures to container failures."""
        from sm_bench_widgets.emulator import handler_host

        start = time.perf_counter()
        try:
            out, out_type = self.worker.invoke(body, content_type, accept, INVOCATION_TIMEOUT_S)
        except handler_host.HandlerTimeout as exc:
            raise ContainerTimeout(str(exc)) from exc
        except handler_host.HandlerOutOfMemory as exc:
            raise ContainerOutOfMemory(str(exc), float(exc.peak_mb)) from exc
        except handler_host.HandlerInvokeError as exc:
            raise ContainerError(exc.message, int(exc.status_code)) from exc
        return Answer(out, out_type, (time.perf_counter() - start) * 1000.0)

    def close(self) -> None:
        """Stop the worker process."""
        self.worker.close()
