"""Where a run left off, read from its run directory, so the same steps can carry it on.

Trials that ended for a reason of their own (precision, dominated, budget, errors) are
done; trials never ended, stopped, failed or whose endpoint failed run again on a fresh
endpoint, with the invocations already stored counted towards their budget.
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
from sm_bench_widgets.engine.store import PAYLOADS_FILENAME, ensure_free, load_run

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
    emulated: bool = False
    status: str = ""
    time_scale: float | None = None
    clock_origin: float | None = None

    def unfinished(self, trials: list[Trial]) -> list[Trial]:
        """``trials`` that still need load."""
        return [t for t in trials if t.trial_id not in self.finished]


def resume_point(run_dir: str | os.PathLike[str]) -> ResumePoint:
    """Read ``run_dir`` (a run store directory) back; ``ConfigError`` if it cannot resume,
    ``RunInUse`` while another process still writes it."""
    if not Path(run_dir).is_dir():
        raise ConfigError("run_dir", str(run_dir), "an existing run directory")
    ensure_free(Path(run_dir))
    stored = load_run(run_dir)
    if not stored.config:
        raise ConfigError("run_dir", str(run_dir), "a run directory with a config.json")
    if stored.status.get("status") == "completed":
        raise ConfigError("run_dir", str(run_dir), "a run that did not complete")
    known = {f.name for f in dataclasses.fields(BenchmarkConfig)}
    options = {k: v for k, v in stored.config.items() if k in known}
    payloads = stored.run_dir / PAYLOADS_FILENAME
    if payloads.exists():
        options["invoke_args_examples_file"] = str(payloads)
        options["invoke_args_examples"] = None
    options["result_save_path"] = str(stored.run_dir.parent.parent)
    config = BenchmarkConfig.from_dict(options)
    trials = [Trial(**{k: t[k] for k in _TRIAL_FIELDS}) for t in stored.trials]
    finished = {t: r for t, r in stored.stop_reasons.items() if r in FINAL_REASONS}
    return ResumePoint(
        run_dir=stored.run_dir,
        run_id=stored.run_id,
        config=config,
        trials=trials,
        finished=finished,
        rows=stored.invocations,
        cloudwatch=stored.cloudwatch,
        errors=list(stored.status.get("errors") or []),
        emulated=bool(stored.config.get("emulated")),
        status=str(stored.status.get("status", "")),
        time_scale=stored.config.get("time_scale"),
        clock_origin=stored.config.get("clock_origin"),
    )


_TRIAL_FIELDS = [f.name for f in dataclasses.fields(Trial)]
