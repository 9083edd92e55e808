"""Hand runner events to the widgets without slowing the run or the kernel.

Runner threads only append to an ``EventBuffer`` (a lock and a list: cheap). A
``Refresher`` thread wakes a few times a second, takes everything buffered and applies it
in one go, so many invocations become one widget update. It backs off when applying gets
expensive, keeping its share of the interpreter small; ``flush()`` applies what is left
at once (used when a run ends). Errors while applying are reported, never lost. An
optional ``tick`` (a job monitor's poll) runs on the same thread every ``tick_interval``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

DEFAULT_INTERVAL_S = 0.25  # at most four refreshes a second
DEFAULT_TICK_S = 3.0
BUSY_SHARE = 0.5  # a refresh that took t seconds waits at least t / BUSY_SHARE - t after


class EventBuffer:
    """A thread-safe list of events: ``put`` from any thread, ``drain`` takes them all."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._items: list[Any] = []
        self._arrived = threading.Event()

    def put(self, event: Any) -> None:
        """Add one event (called from runner threads)."""
        with self._lock:
            self._items.append(event)
        self._arrived.set()

    def drain(self) -> list[Any]:
        """Every buffered event, oldest first, leaving the buffer empty."""
        with self._lock:
            items, self._items = self._items, []
            self._arrived.clear()
        return items

    def wake(self) -> None:
        """Release a ``wait`` without adding an event."""
        self._arrived.set()

    def wait(self, timeout: float) -> bool:
        """Wait until something was put or ``timeout`` passed; whether something came."""
        return self._arrived.wait(timeout)

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)


class Refresher:
    """A daemon thread applying buffered events in batches, at most every ``interval``."""

    def __init__(
        self,
        buffer: EventBuffer,
        apply: Callable[[list[Any]], None],
        on_error: Callable[[BaseException], None],
        interval: float = DEFAULT_INTERVAL_S,
        tick: Callable[[], None] | None = None,
        tick_interval: float = DEFAULT_TICK_S,
    ):
        self.buffer = buffer
        self._tick = tick
        self.tick_interval = tick_interval
        self._last_tick = float("-inf")
        self._apply = apply
        self._on_error = on_error
        self.interval = interval
        self._lock = threading.RLock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.refreshes = 0
        self.busy_s = 0.0

    def start(self) -> None:
        """Start the thread (once)."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, name="smb-refresher", daemon=True)
            self._thread.start()

    def _loop(self) -> None:
        while not self._stop.is_set():
            arrived = self.buffer.wait(self.interval)
            self._tick_if_due()
            if not arrived:
                continue
            took = self.flush()
            pause = max(self.interval, took / BUSY_SHARE - took)
            self._stop.wait(pause)

    def _tick_if_due(self) -> None:
        """Run ``tick`` when ``tick_interval`` has passed since the last one."""
        if self._tick is None or self._stop.is_set():
            return
        now = time.monotonic()
        if now - self._last_tick < self.tick_interval:
            return
        self._last_tick = now
        try:
            self._tick()
        except Exception as exc:  # reported in the panel; the next tick tries again
            self._on_error(exc)

    def flush(self) -> float:
        """Apply everything buffered now; the seconds it took."""
        with self._lock:
            events = self.buffer.drain()
            if not events:
                return 0.0
            started = time.perf_counter()
            try:
                self._apply(events)
            except BaseException as exc:  # reported in the panel instead of dying silently
                self._on_error(exc)
            took = time.perf_counter() - started
            self.refreshes += 1
            self.busy_s += took
            return took

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the thread after applying what is left (from any thread, also its own)."""
        self._stop.set()
        self.buffer.wake()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout)
        self.flush()
