"""Waiting in tests: poll a condition until a deadline, and fail saying what did not happen."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

import pytest

T = TypeVar("T")


def wait_until(condition: Callable[[], T], timeout: float, message: str, poll: float = 0.02) -> T:
    """Call ``condition`` until it returns something truthy, and return that.

    Fails the test with ``message`` if it is still falsy after ``timeout`` seconds.
    """
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() >= deadline:
            pytest.fail(f"{message} (waited {timeout:g} s)")
        time.sleep(poll)
