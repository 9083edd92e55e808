"""Publish runner events to subscribers; a failing subscriber never stops a run.

Every event but ``InvocationBatch`` is also kept, so a subscriber that comes late (after
``start_benchmark`` returned) can be replayed what it missed; the rows themselves are in
the partial result.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from sm_bench_widgets.engine.events import InvocationBatch

log = logging.getLogger(__name__)

Subscriber = Callable[[Any], None]


class EventBus:
    """Calls every subscriber with each event, in the publishing thread, in order."""

    def __init__(self) -> None:
        self._subscribers: list[Subscriber] = []
        self._lock = threading.Lock()
        self._publish_lock = threading.RLock()
        self._warned: set[int] = set()
        self._history: list[Any] = []

    def subscribe(self, callback: Subscriber, replay: bool = True) -> Callable[[], None]:
        """Add ``callback`` (first replaying past events except invocation batches, unless
        ``replay`` is False); returns a function that removes it again."""
        with self._publish_lock:
            if replay:
                for event in self._history:
                    self._deliver(callback, event)
            with self._lock:
                self._subscribers.append(callback)

        def unsubscribe() -> None:
            with self._lock:
                if callback in self._subscribers:
                    self._subscribers.remove(callback)

        return unsubscribe

    def publish(self, event: Any) -> None:
        """Deliver ``event``; exceptions of subscribers are logged once each and swallowed."""
        with self._publish_lock:  # subscribers see events one at a time, in order
            with self._lock:
                subscribers = list(self._subscribers)
            if not isinstance(event, InvocationBatch):
                self._history.append(event)
            for callback in subscribers:
                self._deliver(callback, event)

    def _deliver(self, callback: Subscriber, event: Any) -> None:
        try:
            callback(event)
        except Exception:
            if id(callback) not in self._warned:
                self._warned.add(id(callback))
                log.exception("event subscriber %r failed; the run goes on", callback)
