"""A Processing job seen through the run interface the panel drives (``RunHandle``'s).

The panel subscribes, stops, waits and reads results the same way for a thread run and a
job; this wraps ``ProcessingJobHandle`` (its status words, its ``result()`` method) so the
panel's run control stays one code path.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from sm_bench_widgets.api import ProcessingJobHandle

RUN_STATUS = {"Completed": "completed", "Stopped": "stopped", "Failed": "failed"}


class JobRun:
    """``RunHandle``'s interface over a ``ProcessingJobHandle``."""

    def __init__(self, job: ProcessingJobHandle):
        self.job = job

    @property
    def run_id(self) -> str | None:
        """The benchmark run's id, once the job has written its run store."""
        return self.job.run_id

    @property
    def run_dir(self) -> Path | None:
        """The local mirror of the job's run store."""
        return self.job.run_dir

    @property
    def status(self) -> str:
        """running, stopping, completed, stopped or failed (a run's words)."""
        status = self.job.status()
        return RUN_STATUS.get(status, "stopping" if status == "Stopping" else "running")

    @property
    def done(self) -> bool:
        """True once the job is over."""
        return self.job.done

    def subscribe(self, callback: Callable[[Any], None]) -> Callable[[], None]:
        """The run's events as they reach S3, ending with ``RunEnded``."""
        return self.job.subscribe(callback)

    def stop(self) -> None:
        """Stop the job; it deletes its endpoints before it ends."""
        self.job.stop()

    def wait(self, timeout: float | None = None) -> Any:
        """The result once the job is over (None on timeout); ``JobFailed`` without results."""
        return self.job.wait(timeout)

    @property
    def result(self) -> Any:
        """The result so far (partial while the job runs)."""
        return self.job.result()
