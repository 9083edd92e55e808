"""Progress bars (tqdm.auto: widgets in notebooks, text in a shell), one per phase.

A face of the engine: it subscribes to a run's events (``RunHandle.subscribe``) only. Each
phase's bar starts when its load starts (after its endpoints are deployed, so the first
rate and ETA are the load's), names the trials running side by side, and counts each
outcome by name (throttles apart from failures). A bar's total starts at the phase's
invocation budget; when a trial ends before its budget, a line says why and the total
shrinks by what it will not use, so the bar ends full.
"""

from __future__ import annotations

from collections import Counter
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

SHOWN_RUNNING = 4  # trial names shown in the bar; more are counted


def short_trial(trial_id: str) -> str:
    """A trial id without its phase: ``stability-m2048`` -> ``m2048``."""
    return trial_id.split("-", 1)[1] if "-" in trial_id else trial_id


class ProgressBars:
    """An event subscriber drawing one tqdm bar per phase (``mininterval``: seconds between
    redraws, tqdm's own default unless given)."""

    def __init__(self, file: Any = None, leave: bool = True, mininterval: float = 0.1):
        self.file = file
        self.leave = leave
        self.mininterval = mininterval
        self._bar: Any = None
        self._phase = ""
        self._total = 0
        self._per_trial = 0
        self._budget: dict[str, int] = {}
        self._done: Counter[str] = Counter()
        self._outcomes: Counter[str] = Counter()
        self._running: list[str] = []

    def __call__(self, event: Any) -> None:
        if isinstance(event, RunStarted):
            where = " on the local emulator (results are emulated)" if event.emulated else ""
            verb = "resumed" if event.resumed else "started"
            self._write(f"run {event.run_id} {verb}{where}; files in {event.run_dir}")
        elif isinstance(event, PhaseStarted):
            self._close()
            self._phase, self._total = event.phase, event.max_invocations
            self._per_trial = event.max_invocations // max(1, event.trials)
            self._outcomes.clear()
            self._write(f"{event.phase}: deploying the endpoints of {event.trials} trials...")
        elif isinstance(event, TrialStarted):
            self._budget[event.trial_id] = event.max_invocations
            self._running.append(event.trial_id)
            self._open()
            self._postfix()
        elif isinstance(event, InvocationBatch):
            self._done[event.trial_id] += len(event.rows)
            self._outcomes.update(str(r.get("outcome", "")) for r in event.rows)
            self._open()
            self._postfix()
            self._bar.update(len(event.rows))
        elif isinstance(event, TrialEnded):
            self._trial_ended(event)
        elif isinstance(event, RunError):
            self._write(("error: " if event.fatal else "warning: ") + event.message)
        elif isinstance(event, RunEnded):
            self._close()

    def _trial_ended(self, event: TrialEnded) -> None:
        if event.trial_id in self._running:
            self._running.remove(event.trial_id)
        # a trial that never started (its endpoint failed, or a stop came first) uses nothing
        budget = self._budget.pop(event.trial_id, self._per_trial)
        done = self._done[event.trial_id]
        unused = max(0, budget - done)
        if unused:
            self._open()
            self._write(
                f"{event.trial_id} ended after {done} of {budget} invocations "
                f"({event.stop_reason}); the {self._phase} total drops by {unused}"
            )
            self._bar.total = max(self._bar.n, (self._bar.total or 0) - unused)
            self._bar.refresh()
        self._postfix()

    def _open(self) -> None:
        """The phase's bar, made when its load starts so its rate is the load's."""
        if self._bar is None:
            from tqdm.auto import tqdm

            self._bar = tqdm(
                total=self._total,
                desc=self._phase,
                unit="inv",
                file=self.file,
                leave=self.leave,
                dynamic_ncols=True,
                mininterval=self.mininterval,
                miniters=1,  # updates come per batch of rows, few enough to draw each
            )

    def _postfix(self) -> None:
        if self._bar is None:
            return
        names = [short_trial(t) for t in self._running[:SHOWN_RUNNING]]
        more = len(self._running) - len(names)
        running = ", ".join(names) + (f" +{more}" if more > 0 else "")
        parts = [f"{len(self._running)} running: {running}" if self._running else "0 running"]
        parts += [f"{name} {n}" for name, n in sorted(self._outcomes.items()) if name != "ok"]
        self._bar.set_postfix_str("; ".join(parts), refresh=False)

    def _write(self, text: str) -> None:
        from tqdm.auto import tqdm

        tqdm.write(text, file=self.file)

    def _close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None
