"""Events the runner publishes while a benchmark goes on.

Progress bars, the run store and live charts subscribe to these; none of them calls the
runner back. Events are immutable and cheap to pass between threads.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class RunStarted:
    """A run began: its id, directory and the planned trials (as dicts)."""

    run_id: str
    run_dir: str
    trials: list[dict[str, Any]]
    emulated: bool


@dataclass(frozen=True)
class PhaseStarted:
    """A phase (``cold_start``, ``stability`` or ``concurrency``) began."""

    phase: str
    trials: int
    max_invocations: int


@dataclass(frozen=True)
class TrialStarted:
    """A trial's endpoint is InService and load begins."""

    trial_id: str
    phase: str
    memory_size: int
    max_concurrency: int
    provisioned_concurrency: int
    clients: int
    endpoint_name: str
    max_invocations: int


@dataclass(frozen=True)
class InvocationBatch:
    """Invocations that completed since the last batch (rows of ``INVOCATION_COLUMNS``)."""

    trial_id: str
    rows: list[dict[str, Any]]


@dataclass(frozen=True)
class TrialEnded:
    """A trial stopped; ``stop_reason`` says why and ``summary`` is its summary row."""

    trial_id: str
    stop_reason: str
    summary: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class RunError:
    """Something failed; the run may go on (``fatal`` False) or not."""

    message: str
    trial_id: str | None = None
    fatal: bool = False


@dataclass(frozen=True)
class RunEnded:
    """The run is over: ``status`` is ``completed``, ``stopped`` or ``failed``."""

    status: str
    run_dir: str


Event = (
    RunStarted | PhaseStarted | TrialStarted | InvocationBatch | TrialEnded | RunError | RunEnded
)
