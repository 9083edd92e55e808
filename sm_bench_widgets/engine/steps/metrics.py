"""Metrics step: fetch each released endpoint's CloudWatch metrics in the background.

Fetches run in a small pool so the load never waits for them; at the end of the run the
pending ones are awaited (or cancelled after a stop) and nothing arrives after that.
"""

from __future__ import annotations

import logging
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING

import pandas as pd

from sm_bench_widgets.frames import cloudwatch_frame

if TYPE_CHECKING:
    from sm_bench_widgets.engine.context import RunContext

log = logging.getLogger(__name__)


def _on_service_clock(frame: pd.DataFrame, ctx: RunContext) -> pd.DataFrame:
    """``frame`` with its timestamps on the service's clock, like the invocation rows."""
    if not ctx.time_scale or ctx.time_scale == 1.0 or "timestamp" not in frame:
        return frame
    stamps = pd.to_datetime(frame["timestamp"], utc=True)
    seconds = stamps.map(lambda t: ctx.service_clock(t.timestamp()))
    return frame.assign(timestamp=pd.to_datetime(seconds, unit="s", utc=True))


class MetricsCollector:
    """Fetches endpoint metrics for one run and keeps (and stores) what comes back."""

    def __init__(self, ctx: RunContext, frames: list[pd.DataFrame] | None = None):
        self.ctx = ctx
        self._frames: list[pd.DataFrame] = list(frames or [])
        self._futures: list[Future] = []
        self._pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="sm-bench-cw")
        self._lock = threading.Lock()
        self._closed = False
        self._failed = False

    def frame(self) -> pd.DataFrame:
        """CloudWatch rows fetched so far."""
        with self._lock:
            frames = list(self._frames)
        return cloudwatch_frame(frames)

    @property
    def wait_seconds(self) -> float:
        """How long to wait for an endpoint's metrics to show up."""
        if self.ctx.options.cloudwatch_wait is not None:
            return self.ctx.options.cloudwatch_wait
        return 1.0 if self.ctx.emulated else 60.0

    def submit(self, endpoint: str, start: float, end: float, labels: dict[str, int]) -> None:
        """Fetch ``endpoint``'s metrics between ``start`` and ``end`` in the background."""
        with self._lock:
            if self._closed:
                return
            self._futures.append(self._pool.submit(self._fetch, endpoint, start, end, labels))

    def _fetch(self, endpoint: str, start: float, end: float, labels: dict[str, int]) -> None:
        from sm_bench_widgets.aws import cloudwatch

        ctx = self.ctx
        wait = 0.0 if ctx.stop_event.is_set() else self.wait_seconds
        try:
            frame = cloudwatch.fetch_endpoint_metrics(
                ctx.target,
                endpoint,
                start,
                end,
                wait=wait,
                poll=min(15.0, max(0.2, wait / 4)),
                labels=labels,
            )
        except Exception as exc:
            if not self._failed:
                self._failed = True
                ctx.report(f"CloudWatch metrics of {endpoint} could not be fetched: {exc}")
            return
        if frame is None or not len(frame):
            return
        frame = _on_service_clock(frame, ctx)
        with self._lock:
            if self._closed:  # came after the run stopped waiting for it
                return
            self._frames.append(frame)
            ctx.store.append_cloudwatch(frame)

    def collect(self) -> None:
        """Wait for pending fetches (none are awaited after a stop), then accept no more."""
        with self._lock:
            futures = list(self._futures)
        for fut in futures:
            if self.ctx.stop_event.is_set():
                fut.cancel()
        for fut in futures:
            if not fut.cancelled():
                try:
                    fut.result(timeout=max(5.0, 3 * self.wait_seconds))
                except Exception:
                    log.debug("CloudWatch fetch did not finish", exc_info=True)
        self._pool.shutdown(wait=False, cancel_futures=True)
        with self._lock:
            self._closed = True
