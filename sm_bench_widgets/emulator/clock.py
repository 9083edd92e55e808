"""Emulated time: every emulated duration passes ``time_scale`` times faster or slower.

Durations inside the emulator are expressed in emulated time (what AWS would take); the
clock turns them into real sleeps, so a test with ``time_scale=0.01`` sees a 7 s cold start
take 70 ms while the metrics still report 7 s.
"""

from __future__ import annotations

import threading
import time

import numpy as np


class Clock:
    """Sleeps emulated durations in real time scaled by ``time_scale``.

    The emulated (service's) clock meets the wall clock at ``origin``, the clock's creation,
    and runs ``1 / time_scale`` times as fast from there: every client of one emulator can
    state its figures on that one clock.
    """

    def __init__(self, time_scale: float = 1.0):
        if not isinstance(time_scale, int | float) or time_scale <= 0:
            raise ValueError(f"time_scale={time_scale!r}: must be a number > 0")
        self.time_scale = float(time_scale)
        self.origin = time.time()

    def sleep_ms(self, emulated_ms: float) -> None:
        """Sleep for ``emulated_ms`` emulated milliseconds."""
        if emulated_ms > 0:
            time.sleep(emulated_ms / 1000.0 * self.time_scale)

    def real_seconds(self, emulated_seconds: float) -> float:
        """Real seconds that ``emulated_seconds`` take."""
        return emulated_seconds * self.time_scale

    @staticmethod
    def now() -> float:
        """Monotonic real time in seconds."""
        return time.monotonic()


class SeededRandom:
    """A thread-safe numpy generator; the same seed and key give the same draws."""

    def __init__(self, seed: int | None, key: str = ""):
        material = [] if seed is None else [int(seed), *key.encode()]
        self._rng = np.random.default_rng(material or None)
        self._lock = threading.Lock()

    def normal(self, mean: float, sigma: float) -> float:
        """One draw from N(mean, sigma)."""
        with self._lock:
            return float(self._rng.normal(mean, sigma))
