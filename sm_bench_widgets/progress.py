"""Progress bars (tqdm.auto: widgets in notebooks, text in a shell), one per phase.

A face of the engine: it subscribes to a run's events (``RunHandle.subscribe``) only. A
bar's total starts at the phase's invocation budget and shrinks as trials stop early, so
it ends full.
"""

from __future__ import annotations

from typing import Any

from sm_bench_widgets.api import (
    InvocationBatch,
    PhaseStarted,
    RunEnded,
    RunError,
    RunStarted,
    TrialEnded,
    TrialStarted,
)


class ProgressBars:
    """An event subscriber drawing one tqdm bar per phase."""

    def __init__(self, file: Any = None, leave: bool = True):
        self.file = file
        self.leave = leave
        self._bar: Any = None
        self._per_trial = 0
        self._budget: dict[str, int] = {}
        self._done: dict[str, int] = {}
        self._failures = 0
        self._current = ""

    def __call__(self, event: Any) -> None:
        from tqdm.auto import tqdm

        if isinstance(event, RunStarted):
            where = " on the local emulator (results are emulated)" if event.emulated else ""
            verb = "resumed" if event.resumed else "started"
            text = f"run {event.run_id} {verb}{where}; files in {event.run_dir}"
            tqdm.write(text, file=self.file)
        elif isinstance(event, PhaseStarted):
            self._close()
            self._per_trial = event.max_invocations // max(1, event.trials)
            self._failures = 0
            self._bar = tqdm(
                total=event.max_invocations,
                desc=event.phase,
                unit="inv",
                file=self.file,
                leave=self.leave,
                dynamic_ncols=True,
            )
        elif isinstance(event, TrialStarted):
            self._budget[event.trial_id] = event.max_invocations
            self._done.setdefault(event.trial_id, 0)
            self._current = event.trial_id
            self._postfix()
        elif isinstance(event, InvocationBatch):
            self._done[event.trial_id] = self._done.get(event.trial_id, 0) + len(event.rows)
            self._failures += sum(1 for r in event.rows if r.get("outcome") != "ok")
            if self._bar is not None:
                self._postfix()
                self._bar.update(len(event.rows))
        elif isinstance(event, TrialEnded):
            budget = self._budget.pop(event.trial_id, self._per_trial)
            unused = max(0, budget - self._done.get(event.trial_id, 0))
            if self._bar is not None and unused:
                self._bar.total = max(self._bar.n, (self._bar.total or 0) - unused)
                self._bar.refresh()
        elif isinstance(event, RunError):
            tqdm.write(("error: " if event.fatal else "warning: ") + event.message, file=self.file)
        elif isinstance(event, RunEnded):
            self._close()

    def _postfix(self) -> None:
        if self._bar is not None:
            text = self._current + (f", {self._failures} not ok" if self._failures else "")
            self._bar.set_postfix_str(text, refresh=False)

    def _close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None
