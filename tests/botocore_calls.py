"""Record the AWS calls of a run, also those made in processes it starts (a load worker, a
Processing job's hosts), with botocore's ``before-call`` event.

In this process the hook is registered on the run's session; a child process gets it from
a ``sitecustomize`` module put first on its ``PYTHONPATH``, which registers the same hook
on every botocore session it creates and appends ``service operation`` lines to a file.
"""

from __future__ import annotations

import os
import threading
from collections import Counter
from pathlib import Path

import pytest

LOG_VARIABLE = "SM_BENCH_CALL_LOG"

SITECUSTOMIZE = """
import os

if os.environ.get("SM_BENCH_CALL_LOG"):
    import threading

    import botocore.session

    _init = botocore.session.Session.__init__
    _lock = threading.Lock()

    def _record(model, **kwargs):
        line = f"{model.service_model.service_name} {model.name}\\n"
        with _lock, open(os.environ["SM_BENCH_CALL_LOG"], "a") as log:
            log.write(line)

    def __init__(self, *args, **kwargs):
        _init(self, *args, **kwargs)
        self.register("before-call", _record)

    botocore.session.Session.__init__ = __init__
"""


class CallRecorder:
    """Counts (service, operation) of the calls made here and in child processes."""

    def __init__(self, folder: Path, monkeypatch: pytest.MonkeyPatch):
        hook = folder / "call-hook"
        hook.mkdir(parents=True, exist_ok=True)
        (hook / "sitecustomize.py").write_text(SITECUSTOMIZE)
        self.log = folder / "calls.txt"
        self.log.write_text("")
        monkeypatch.setenv(LOG_VARIABLE, str(self.log))
        paths = [str(hook), os.environ.get("PYTHONPATH")]
        monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, paths)))
        self._here: Counter[tuple[str, str]] = Counter()
        self._lock = threading.Lock()

    def watch(self, session) -> None:
        """Record the calls of clients made from boto3 ``session`` in this process."""
        session.events.register("before-call", self._record)

    def _record(self, model, **kwargs) -> None:
        with self._lock:
            self._here[(model.service_model.service_name, model.name)] += 1

    def counts(self) -> Counter[tuple[str, str]]:
        """How often each (service, operation) was called, here and in child processes."""
        with self._lock:
            total = Counter(self._here)
        for line in self.log.read_text().splitlines():
            service, operation = line.split()
            total[(service, operation)] += 1
        return total
