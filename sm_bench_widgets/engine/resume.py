"""Where a run left off, read from its run directory, so the same steps can carry it on.

Trials that ended for a reason of their own (precision, dominated, infeasible, budget,
errors) are done, and so is a trial whose endpoint failed because the model does not fit
its memory size. Of a stopped, failed or killed run, every other trial runs again on a
fresh endpoint, with the invocations already stored counted towards its budget. Of a
completed run, only the trials that failed for a reason a retry may cure run again (an
exception in the trial, an endpoint that could not be created or started, a quota hit);
its stopped trials stay stopped, and a completed run with no such trial is refused.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from sm_bench_widgets.config import BenchmarkConfig, ConfigError
from sm_bench_widgets.engine import stopping
from sm_bench_widgets.engine.plan import Trial
from sm_bench_widgets.engine.store import (
    PAYLOADS_FILENAME,
    StoredRun,
    ensure_free,
    host_directories,
    load_run,
    read_stream,
)

# a trial that ended for one of these reasons has its answer; the others run again
FINAL_REASONS = frozenset(
    {
        stopping.PRECISION,
        stopping.DOMINATED,
        stopping.INFEASIBLE,
        stopping.MAX_INVOCATIONS,
        stopping.ERRORS,
    }
)
# an endpoint whose failure says one of these could not hold the model: no retry cures it
NO_FIT = ("insufficient memory", "out of memory", "does not fit")


def retryable(reason: str, detail: str = "") -> bool:
    """Whether a trial that ended for ``reason`` (``detail``: why its endpoint failed) may
    succeed when run again: it raised, or its endpoint could not be created or started
    (a quota hit included), unless the model did not fit its memory size."""
    if reason == stopping.FAILED:
        return True
    if reason == stopping.ENDPOINT_FAILED:
        return not any(words in detail.lower() for words in NO_FIT)
    return False


@dataclass
class ResumePoint:
    """A run directory read back: what to run again and what is already measured."""

    run_dir: Path
    run_id: str
    config: BenchmarkConfig
    trials: list[Trial]
    finished: dict[str, str]
    rows: pd.DataFrame  # the invocations stored so far
    cloudwatch: pd.DataFrame
    errors: list[str] = field(default_factory=list)
    retrying: dict[str, str] = field(default_factory=dict)  # trial_id -> why it failed before
    emulated: bool = False
    status: str = ""
    time_scale: float | None = None
    clock_origin: float | None = None

    def unfinished(self, trials: list[Trial]) -> list[Trial]:
        """``trials`` that still need load."""
        return [t for t in trials if t.trial_id not in self.finished]

    def describe(self) -> str:
        """One line saying what the resume carries on."""
        if self.status != "completed":
            return f"resuming {self.status or 'interrupted'} run {self.run_id}"
        failed = ", ".join(f"{t} ({r})" for t, r in sorted(self.retrying.items()))
        return (
            f"run {self.run_id} completed; retrying its {len(self.retrying)} failed "
            f"trial(s): {failed}"
        )


def runs_again(run_dir: str | os.PathLike[str]) -> dict[str, str]:
    """trial_id -> why it ended, for the trials a resume of ``run_dir`` would run again
    (all unfinished ones of an interrupted run; the cured-by-a-retry failures of a
    completed one); empty when the run has no store yet."""
    return _again(load_run(run_dir))


def _again(stored: StoredRun) -> dict[str, str]:
    status = str(stored.status.get("status", ""))
    details = _details(stored.run_dir)
    return {
        t: r for t, r in stored.stop_reasons.items() if _runs_again(r, details.get(t, ""), status)
    }


def resume_point(run_dir: str | os.PathLike[str]) -> ResumePoint:
    """Read ``run_dir`` (a run store directory) back; ``ConfigError`` if it cannot resume,
    ``RunInUse`` while another process still writes it."""
    if not Path(run_dir).is_dir():
        raise ConfigError("run_dir", str(run_dir), "an existing run directory")
    ensure_free(Path(run_dir))
    stored = load_run(run_dir)
    if not stored.config:
        raise ConfigError("run_dir", str(run_dir), "a run directory with a config.json")
    status = str(stored.status.get("status", ""))
    again = _again(stored)
    if status == "completed" and not again:
        raise ConfigError(
            "run_dir",
            str(run_dir),
            "a run that did not complete, or a completed run with trials that failed for a "
            "reason a retry may cure (an exception, endpoint creation, a quota hit); this "
            "run completed with none, so its results are final",
        )
    known = {f.name for f in dataclasses.fields(BenchmarkConfig)}
    options = {k: v for k, v in stored.config.items() if k in known}
    payloads = stored.run_dir / PAYLOADS_FILENAME
    if payloads.exists():
        options["invoke_args_examples_file"] = str(payloads)
        options["invoke_args_examples"] = None
    options["result_save_path"] = str(stored.run_dir.parent.parent)
    config = BenchmarkConfig.from_dict(options)
    trials = [Trial(**{k: t[k] for k in _TRIAL_FIELDS}) for t in stored.trials]
    finished = {t: r for t, r in stored.stop_reasons.items() if t not in again}
    return ResumePoint(
        run_dir=stored.run_dir,
        run_id=stored.run_id,
        config=config,
        trials=trials,
        finished=finished,
        rows=stored.invocations,
        cloudwatch=stored.cloudwatch,
        errors=list(stored.status.get("errors") or []),
        retrying=again if status == "completed" else {},
        emulated=bool(stored.config.get("emulated")),
        status=status,
        time_scale=stored.config.get("time_scale"),
        clock_origin=stored.config.get("clock_origin"),
    )


def _runs_again(reason: str, detail: str, status: str) -> bool:
    """Whether a trial that ended for ``reason`` runs again when a run of ``status`` is
    resumed: a stop stands in a completed run, not in one that was interrupted."""
    if reason in FINAL_REASONS:
        return False
    if reason in (stopping.FAILED, stopping.ENDPOINT_FAILED):
        return retryable(reason, detail)
    return status != "completed"


def _details(run_dir: Path) -> dict[str, str]:
    """trial_id -> the detail of its last end (why its endpoint failed), from every store
    of the run (one per host)."""
    details: dict[str, str] = {}
    for store in host_directories(run_dir) or [run_dir]:
        for record in read_stream(store, "trials"):
            if record.get("event") == "ended":
                details[record["trial_id"]] = str(record.get("detail") or "")
    return details


_TRIAL_FIELDS = [f.name for f in dataclasses.fields(Trial)]
