"""Tests that send a real SIGINT need a process that has not been told to ignore it."""

from __future__ import annotations

import signal

import pytest

# A shell starts background jobs with SIGINT ignored, and children inherit that: Ctrl-C
# then never reaches the code under test, which would run until its deadline instead.
needs_sigint = pytest.mark.skipif(
    signal.getsignal(signal.SIGINT) is signal.SIG_IGN,
    reason="SIGINT is ignored in this process (started as a background job): Ctrl-C "
    "cannot be delivered, so its handling cannot be tested here",
)
