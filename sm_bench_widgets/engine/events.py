"""Events the runner publishes while a benchmark goes on.

Progress bars, the run store and live charts subscribe to these; none of them calls the
runner back. Events are immutable and cheap to pass between threads.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sm_bench_widgets.engine.plan import Trial


@dataclass(frozen=True)
class RunStarted:
    """A run began (or ``resumed`` from its run directory): id, directory, planned trials."""

    run_id: str
    run_dir: str
    trials: list[dict[str, Any]]
    emulated: bool
    resumed: bool = False


@dataclass(frozen=True)
class PhaseStarted:
    """A phase (``cold_start``, ``stability`` or ``concurrency``) began."""

    phase: str
    trials: int
    max_invocations: int


@dataclass(frozen=True)
class TrialStarted(Trial):
    """A trial's endpoint is InService and load begins: the trial and its endpoint's name."""

    endpoint_name: str

    @classmethod
    def of(cls, trial: Trial, endpoint_name: str) -> TrialStarted:
        """The event announcing ``trial`` on ``endpoint_name``."""
        return cls(**trial.to_dict(), endpoint_name=endpoint_name)


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
