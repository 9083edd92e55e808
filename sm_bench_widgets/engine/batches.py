"""Collect invocation rows from load threads and hand them on in batches.

Rows are written to the run store and published as ``InvocationBatch`` events every
``interval`` seconds or every ``size`` rows, whichever comes first, from one background
thread: load threads only append to a list.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from sm_bench_widgets.engine.events import InvocationBatch

log = logging.getLogger(__name__)

Row = dict[str, Any]


class Batcher:
    """Buffers rows; a flusher thread passes them to ``sink`` and ``publish`` in batches."""

    def __init__(
        self,
        sink: Callable[[list[Row]], None],
        publish: Callable[[Any], None],
        interval: float = 0.2,
        size: int = 50,
    ):
        self._sink = sink
        self._publish = publish
        self.interval = interval
        self.size = size
        self._pending: list[Row] = []
        self._cond = threading.Condition()
        self._closed = False
        self._flush_lock = threading.Lock()
        self._thread = threading.Thread(target=self._loop, name="sm-bench-batches", daemon=True)
        self._thread.start()

    def add(self, row: Row) -> None:
        """Queue one row (cheap: called once per invocation from load threads)."""
        with self._cond:
            self._pending.append(row)
            if len(self._pending) >= self.size:
                self._cond.notify()

    def add_many(self, rows: list[Row]) -> None:
        """Queue several rows."""
        with self._cond:
            self._pending.extend(rows)
            self._cond.notify()

    def flush(self) -> None:
        """Hand every queued row on now (rows keep their order)."""
        with self._flush_lock:
            with self._cond:
                rows, self._pending = self._pending, []
            if not rows:
                return
            self._sink(rows)
            by_trial: dict[str, list[Row]] = {}
            for r in rows:
                by_trial.setdefault(str(r.get("trial_id", "")), []).append(r)
            for trial_id, trial_rows in by_trial.items():
                self._publish(InvocationBatch(trial_id=trial_id, rows=trial_rows))

    def close(self) -> None:
        """Flush what is left and stop the flusher thread."""
        with self._cond:
            self._closed = True
            self._cond.notify()
        self._thread.join(timeout=10)
        self.flush()

    def _loop(self) -> None:
        while True:
            with self._cond:
                if not self._closed and len(self._pending) < self.size:
                    self._cond.wait(self.interval)
                closed = self._closed
            try:
                self.flush()
            except Exception:
                log.exception("could not hand on a batch of invocations")
            if closed:
                return
