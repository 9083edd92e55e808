"""Events of a run read from its run store folder as it grows (a job's results, mirrored).

``RunFollower.events()`` returns what appeared since the last call, as the event types a
thread run publishes: ``RunStarted`` once the run's config and plan are there,
``InvocationBatch`` with the new rows of each trial, ``TrialEnded`` per finished trial.
A torn last line (a file caught mid-upload) is read on a later call, once complete.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from sm_bench_widgets.engine.events import InvocationBatch, RunStarted, TrialEnded

_PART = re.compile(r"part-(\d+)\.jsonl$")


def _complete_lines(path: Path) -> list[dict[str, Any]]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        return []
    rows = []
    for line in text.splitlines(keepends=True):
        if not line.endswith("\n"):
            break  # still being written or uploaded
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return rows


def read_stream(run_dir: Path, name: str) -> list[dict[str, Any]]:
    """The complete records of one run-store stream: its file, then its segment files."""
    rows = _complete_lines(run_dir / f"{name}.jsonl")
    parts = [p for p in (run_dir / name).glob("part-*.jsonl") if _PART.search(p.name)]
    for part in sorted(parts, key=lambda p: int(_PART.search(p.name).group(1))):
        rows.extend(_complete_lines(part))
    return rows


def read_json(path: Path) -> dict[str, Any]:
    """A JSON file's object, or an empty dict while it is missing or partial."""
    try:
        data = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        return {}
    return data if isinstance(data, dict) else {}


class RunFollower:
    """Turns the growth of one run directory into events, each reported once."""

    def __init__(self, run_dir: Path):
        self.run_dir = Path(run_dir)
        self.started = False
        self._invocations = 0
        self._ended: set[str] = set()

    def events(self) -> list[Any]:
        """The events of what appeared in the run directory since the last call."""
        out: list[Any] = []
        config = read_json(self.run_dir / "config.json")
        trials = read_stream(self.run_dir, "trials")
        if not self.started:
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
        rows = read_stream(self.run_dir, "invocations")
        new, self._invocations = rows[self._invocations :], len(rows)
        by_trial: dict[str, list[dict[str, Any]]] = {}
        for row in new:
            by_trial.setdefault(str(row.get("trial_id")), []).append(row)
        out += [InvocationBatch(trial_id, batch) for trial_id, batch in by_trial.items()]
        for record in trials:
            trial_id = record.get("trial_id")
            if record.get("event") == "ended" and trial_id not in self._ended:
                self._ended.add(trial_id)
                summary = record.get("summary") or {}
                out.append(TrialEnded(trial_id, record.get("stop_reason", ""), summary))
        return out
