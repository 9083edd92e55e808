"""Events of a run read from its run store folder as it grows (a job's results, mirrored).

``RunFollower.events()`` returns what appeared since the last call, as the event types a
thread run publishes: ``RunStarted`` once the run's config and plan are there,
``InvocationBatch`` with the new rows of each trial, ``TrialEnded`` per finished trial.
A torn last line (a file caught mid-upload) is read on a later call, once complete. Each
call reads only what was appended since the one before (``StreamTail``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sm_bench_widgets.engine.events import InvocationBatch, RunStarted, TrialEnded
from sm_bench_widgets.engine.store import StreamTail, read_json, store_folders


class RunFollower:
    """Turns the growth of one run directory into events, each reported once; a run shared
    by several hosts is followed in each host's subfolder."""

    def __init__(self, run_dir: Path):
        self.run_dir = Path(run_dir)
        self.started = False
        self._tails: dict[Path, tuple[StreamTail, StreamTail]] = {}
        self._trials: list[dict[str, Any]] = []  # a few records a trial: kept whole
        self._ended: set[str] = set()

    def _tail(self, folder: Path) -> tuple[StreamTail, StreamTail]:
        if folder not in self._tails:
            self._tails[folder] = (StreamTail(folder, "trials"), StreamTail(folder, "invocations"))
        return self._tails[folder]

    def events(self) -> list[Any]:
        """The events of what appeared in the run directory since the last call."""
        out: list[Any] = []
        folders = store_folders(self.run_dir)
        for folder in folders:
            self._trials += self._tail(folder)[0].read()
        trials = self._trials
        if not self.started:
            config = read_json(folders[0] / "config.json")
            planned = [
                {k: v for k, v in t.items() if k != "event"}
                for t in trials
                if t.get("event") == "planned"
            ]
            if not config or not planned:
                return out
            run_id = str(config.get("run_id", self.run_dir.name))
            emulated = bool(config.get("emulated", False))
            out.append(RunStarted(run_id, str(self.run_dir), planned, emulated))
            self.started = True
        for folder in folders:
            by_trial: dict[str, list[dict[str, Any]]] = {}
            for row in self._tail(folder)[1].read():
                by_trial.setdefault(str(row.get("trial_id")), []).append(row)
            out += [InvocationBatch(trial_id, batch) for trial_id, batch in by_trial.items()]
        for record in trials:
            trial_id = record.get("trial_id")
            if record.get("event") == "ended" and trial_id not in self._ended:
                self._ended.add(trial_id)
                summary = record.get("summary") or {}
                out.append(TrialEnded(trial_id, record.get("stop_reason", ""), summary))
        return out
