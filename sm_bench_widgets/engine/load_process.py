"""The load engine: closed-loop clients in a worker process of the run's own.

Chosen on the evidence of ``benchmarks/fidelity.py`` (a fixed-latency stub, the candidates
side by side in one table, on a quiet 2-vCPU machine; the table is in the README):

- Isolation: while the benchmark's own process analysed (pandas and full collections in
  a loop, as a run's racing, summaries and widgets do), threads in that process fell to
  35% of the ideal throughput at 50 ms x 8 clients with p99 +241 ms over the service time;
  a worker process kept 97% and +3.0 ms. Every client in the run's process shares one
  interpreter lock and one garbage collector with the analysis; a worker has its own.
- CPU per call, from 32 clients up: boto3 1.6-1.9 ms, botocore's signing over aiohttp
  0.4-0.6 ms, over httpx 2-22 ms. Recorded p50 / p99 over the service time, worker with
  aiohttp against worker with boto3: +1.4 / +2.0 against +4.4 / +11.8 ms at 50 ms x 8,
  +1.4 / +4.0 (96% of the ideal rate) against +38.8 / +154 ms (52%) at 50 ms x 64,
  +1.5 / +14.1 (98%) against +106 / +482 ms (60%) at 200 ms x 200.

So the load runs in a worker process, and inside it the requests go out on one asyncio
loop with aiohttp, each built and signed by the user's own botocore client
(``async_loads``). When the user's settings need botocore to send the requests itself
(retries, a proxy, a client certificate: ``async_loads.unsupported``) the worker runs
threads with boto3 calls instead, so those settings hold, and says so; by default a
throttle is not retried: it is a result. Past the capacity of one host
(``load_check.load_capacity``) a trial belongs on more hosts (a Processing job).

One worker per run (``LoadProcess``), started when the run opens, so its start-up
overlaps the endpoints' deployment and never sits between a trial's probe and its load;
it serves every trial's load, several at once (the stability phase's). The worker is a
plain subprocess (``python -m``): nothing of the caller's ``__main__`` (a script, a
notebook) runs again. Rows come back through a pipe and are handed on in this process,
off the sending path; the worker stops a load itself at its budget and error threshold.
"""

from __future__ import annotations

import contextlib
import gc
import itertools
import logging
import os
import pickle
import queue
import random
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, BinaryIO

from sm_bench_widgets.aws.clients import Target
from sm_bench_widgets.engine import async_loads
from sm_bench_widgets.engine.loads import (
    EmulatorClock,
    Invoker,
    Row,
    RowSink,
    TrialLoad,
    closed_loop,
)
from sm_bench_widgets.engine.openloop import OpenLoopStats, open_loop
from sm_bench_widgets.payloads import PayloadSampler

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TargetSpec:
    """What a worker needs to build the same ``Target`` (no credentials: the worker finds
    them through the same chain)."""

    region: str | None
    profile: str | None
    endpoint_url: str | None
    endpoint_explicit: bool
    emulated: bool

    @classmethod
    def of(cls, target: Target) -> TargetSpec:
        """The description of ``target``."""
        return cls(
            target.region,
            target.profile,
            target.endpoint_url,
            target.endpoint_explicit,
            target.emulated,
        )

    def build(self) -> Target:
        """A ``Target`` like the one described."""
        return Target(
            region=self.region,
            profile=self.profile,
            endpoint_url=self.endpoint_url,
            endpoint_explicit=self.endpoint_explicit,
            emulated=self.emulated,
        )


@dataclass(frozen=True)
class LoadJob:
    """One load: which endpoint, which payloads, how many clients. With ``offsets`` an
    open-loop load (``openloop.open_loop``): one request at each offset (service-clock
    seconds, waited ``time_scale`` times as long), from up to ``clients`` senders."""

    endpoint_name: str
    examples: list[dict[str, Any]]
    weights: list[float]
    seed: int
    labels: dict[str, Any]
    clients: int
    pause: Callable[[], float] | None = None
    offsets: tuple[float, ...] | None = None
    time_scale: float = 1.0
    engine: str | None = None  # "boto3" or "aiohttp"; None: aiohttp where it may be used


@dataclass(frozen=True)
class Go:
    """The word that starts a load: its budget and when it stops by itself."""

    max_invocations: int
    error_limit: int | None = None  # stop after this many failures (as ``TrialState``)
    count_throttles: bool = False  # throttles count as failures (stability trials)


def job_for(invoker: Invoker, clients: int, pause: Callable[[], float] | None = None) -> LoadJob:
    """The job of sending ``invoker``'s requests from ``clients`` clients in the worker.

    The worker draws payloads from its own generator, seeded from ``invoker``'s sampler, so
    a seeded run draws the same way each time.
    """
    sampler = invoker.sampler
    with sampler._lock:
        seed = sampler._rng.getrandbits(63)
    return LoadJob(
        endpoint_name=invoker.endpoint_name,
        examples=sampler.examples,
        weights=sampler.weights,
        seed=seed,
        labels=invoker.labels,
        clients=clients,
        pause=pause,
    )


def picklable(obj: Any) -> bool:
    """Whether ``obj`` can be sent to the worker."""
    try:
        pickle.dumps(obj)
    except Exception:
        return False
    return True


class LoadProcess:
    """The run's worker process; ``load()`` prepares one trial's load in it."""

    def __init__(self, target: Target):
        self.process = subprocess.Popen(
            [sys.executable, "-m", __name__],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )
        self._ids = itertools.count(1)
        self._inboxes: dict[int, queue.Queue] = {}
        self._lock = threading.Lock()
        self._closed = False
        self.send(("target", 0, TargetSpec.of(target)))
        self._reader = threading.Thread(target=self._read, name="sm-bench-load-rows", daemon=True)
        self._reader.start()

    def send(self, message: tuple) -> None:
        """Send one message to the worker (any thread)."""
        with self._lock:
            if self._closed:
                raise RuntimeError("the load worker is closed")
            pickle.dump(message, self.process.stdin)
            self.process.stdin.flush()

    def load(self, job: LoadJob) -> Load:
        """A load of ``job`` in the worker, ready to ``run``."""
        job_id = next(self._ids)
        inbox: queue.Queue = queue.Queue()
        with self._lock:
            self._inboxes[job_id] = inbox
        self.send(("job", job_id, job))
        return Load(self, job_id, inbox)

    def _read(self) -> None:
        """Hand each message of the worker to its load's inbox."""
        stdout = self.process.stdout
        while True:
            try:
                kind, job_id, payload, clock = pickle.load(stdout)
            except (EOFError, OSError, pickle.UnpicklingError):
                break
            with self._lock:
                inbox = self._inboxes.get(job_id)
            if inbox is not None:
                inbox.put((kind, payload, clock))
            elif kind == "error":
                log.error("load worker: %s", payload)
        with self._lock:
            inboxes = list(self._inboxes.values())
        for inbox in inboxes:
            inbox.put(("gone", "the load worker ended", None))

    def forget(self, job_id: int) -> None:
        with self._lock:
            self._inboxes.pop(job_id, None)

    def close(self) -> None:
        """End the worker: loads still running stop, their requests in flight finish."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            with contextlib.suppress(OSError, ValueError):
                self.process.stdin.close()
        try:
            self.process.wait(90)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)
        self._reader.join(10)


class Load:
    """One trial's load in the worker."""

    def __init__(self, worker: LoadProcess, job_id: int, inbox: queue.Queue):
        self.worker = worker
        self.job_id = job_id
        self.inbox = inbox
        self.issued = 0
        self.cpu_seconds = 0.0  # the worker's CPU time while this load ran
        self.open_loop: OpenLoopStats | None = None  # how an open-loop job kept its times
        self.engine = ""  # what sent the requests ("aiohttp" or "boto3"), once done
        self._stopped = False

    def stop(self) -> None:
        """Send no more requests (those in flight finish)."""
        if not self._stopped:
            self._stopped = True
            with contextlib.suppress(RuntimeError, OSError, ValueError):
                self.worker.send(("stop", self.job_id, None))

    def run(
        self,
        go: Go,
        sink: RowSink,
        on_emulated: Callable[[EmulatorClock], None] | None = None,
        should_stop: Callable[[], bool] | None = None,
    ) -> int:
        """Start the load and hand every row to ``sink`` (in this thread) until it ends;
        returns how many invocations it sent. ``should_stop`` is asked after each batch of
        rows and every 0.1 s."""
        try:
            self.worker.send(("go", self.job_id, go))
            while True:
                try:
                    kind, payload, clock = self.inbox.get(timeout=0.1)
                except queue.Empty:
                    if should_stop is not None and should_stop():
                        self.stop()
                    continue
                if clock is not None and on_emulated is not None:
                    on_emulated(clock)
                if kind == "rows":
                    for row in payload:
                        sink(row)
                    if should_stop is not None and should_stop():
                        self.stop()
                elif kind == "done":
                    self.issued, self.cpu_seconds = int(payload[0]), float(payload[1])
                    self.open_loop = payload[2]
                    self.engine = payload[3]
                    return self.issued
                elif kind in ("error", "gone"):
                    raise RuntimeError(f"load worker failed: {payload}")
        finally:
            self.worker.forget(self.job_id)


def run_closed_loop(
    load_in_worker: Load,
    load: TrialLoad,
    sink: RowSink,
    on_emulated: Callable[[EmulatorClock], None] | None = None,
    error_limit: int | None = None,
    count_throttles: bool = False,
) -> None:
    """The worker's closed-loop clients, drawing on ``load``'s budget and stopping with
    it; rows go to ``sink`` in this process. The worker itself stops after
    ``error_limit`` failures, so the error threshold holds exactly, as it does in threads."""
    granted = load.reserve(load.max_invocations - load.issued)
    if granted <= 0:
        return
    issued = granted
    try:
        issued = load_in_worker.run(
            Go(granted, error_limit, count_throttles),
            sink,
            on_emulated,
            should_stop=lambda: load.trial_stop.is_set() or load.run_stop.is_set(),
        )
    finally:
        load.give_back(granted - issued)


# -- the worker's side --------------------------------------------------------------------
class _Outbox:
    """Messages to the parent, written by one thread; rows in batches every ``interval``."""

    def __init__(self, out: BinaryIO, interval: float = 0.05):
        self.out = out
        self.interval = interval
        self.rows: dict[int, list[Row]] = {}
        self.clocks: dict[int, EmulatorClock] = {}
        self._sent_clocks: dict[int, EmulatorClock] = {}
        self._cond = threading.Condition()
        self._write_lock = threading.Lock()
        self._closed = False
        self._thread = threading.Thread(target=self._loop, name="sm-bench-outbox", daemon=True)
        self._thread.start()

    def add(self, job_id: int, row: Row) -> None:
        # no wake-up per row: the writer thread would take the interpreter from the
        # sending loop while answers that came together are still being timed
        with self._cond:
            self.rows.setdefault(job_id, []).append(row)

    def saw(self, job_id: int, clock: EmulatorClock) -> None:
        self.clocks[job_id] = clock

    def send(self, kind: str, job_id: int, payload: Any) -> None:
        """Send a message after every row of ``job_id`` queued so far."""
        self.flush()
        with self._write_lock:
            pickle.dump((kind, job_id, payload, None), self.out)
            self.out.flush()

    def flush(self) -> None:
        with self._cond:
            rows, self.rows = self.rows, {}
        with self._write_lock:
            for job_id, batch in rows.items():
                clock = self.clocks.get(job_id)
                told = clock if clock != self._sent_clocks.get(job_id) else None
                pickle.dump(("rows", job_id, batch, told), self.out)
                if told is not None:
                    self._sent_clocks[job_id] = told
            if rows:
                self.out.flush()

    def _loop(self) -> None:
        while True:
            with self._cond:
                if not self._closed:
                    self._cond.wait(self.interval)  # rows go out in batches, every interval
                closed = self._closed
            self.flush()
            if closed:
                return

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify()
        self._thread.join()


ENGINES = ("aiohttp", "boto3")


def engine_for(client: Any, asked: str | None = None) -> tuple[str, str]:
    """(engine, why): aiohttp unless ``asked`` for boto3 or the client's settings need
    botocore to send the requests itself (``async_loads.unsupported``)."""
    if asked not in (None, *ENGINES):
        raise ValueError(f"engine={asked!r}: one of {', '.join(ENGINES)}")
    if asked == "boto3":
        return "boto3", "asked for"
    why = async_loads.unsupported(client)
    if why:
        return "boto3", why
    return "aiohttp", ""


_said: set[str] = set()


def _say_once(message: str) -> None:
    """Warn once per worker (it goes to the run's stderr)."""
    if message not in _said:
        _said.add(message)
        log.warning(message)


class _Job:
    """One load in the worker: its invoker, engine, stop flag and thread."""

    def __init__(self, job_id: int, job: LoadJob, target: Target, outbox: _Outbox):
        self.job_id = job_id
        self.job = job
        self.outbox = outbox
        self.stop = threading.Event()
        sampler = PayloadSampler(job.examples, job.weights, seed=job.seed)
        client = target.runtime_client(job.clients)
        self.engine, why = engine_for(client, job.engine)
        if job.engine == "aiohttp" and self.engine != "aiohttp":
            raise ValueError(f"the aiohttp engine cannot be used: {why}")
        if job.engine is None and self.engine != "aiohttp":
            _say_once(
                f"the load goes through boto3 threads ({why}): about 3x the CPU per call of "
                "the aiohttp engine, so fewer clients per host stay faithful"
            )
        kind = async_loads.AsyncInvoker if self.engine == "aiohttp" else Invoker
        self.invoker = kind(
            client,
            job.endpoint_name,
            sampler,
            job.labels,
            on_emulated=lambda clock: outbox.saw(job_id, clock),
        )
        self.thread: threading.Thread | None = None

    def start(self, go: Go) -> None:
        self.thread = threading.Thread(
            target=self._run, args=(go,), name=f"sm-bench-load-{self.job_id}", daemon=True
        )
        self.thread.start()

    def _run(self, go: Go) -> None:
        load = TrialLoad(go.max_invocations, self.stop, self.job.pause)
        typical: list[float] = []
        errors = [0]

        def backoff() -> float:
            # as TrialState.throttle_backoff: about one service time, jittered (0.5-1.5x)
            t = typical[0] if typical else 10.0
            return min(1.0, t / 1000.0) * random.uniform(0.5, 1.5)

        def sink(row: Row) -> None:
            outcome = row["outcome"]
            if outcome == "ok":
                t = row["latency_ms"]
                typical[:] = [t if not typical else 0.9 * typical[0] + 0.1 * t]
            elif outcome != "throttled" or go.count_throttles:
                errors[0] += 1
                if go.error_limit is not None and errors[0] >= go.error_limit:
                    self.stop.set()
            self.outbox.add(self.job_id, row)

        cpu = time.process_time()
        stats = None
        engine = async_loads if self.engine == "aiohttp" else None
        try:
            if self.job.offsets is not None:
                stats = (engine.open_loop if engine else open_loop)(
                    self.invoker,
                    self.job.offsets,
                    load,
                    sink,
                    time_scale=self.job.time_scale,
                    senders=self.job.clients,
                )
            else:
                (engine.closed_loop if engine else closed_loop)(
                    self.invoker, self.job.clients, load, sink, backoff=backoff
                )
        except Exception as exc:
            log.exception("load %s failed", self.job_id)
            self.outbox.send("error", self.job_id, f"{type(exc).__name__}: {exc}")
            return
        cpu = time.process_time() - cpu
        self.outbox.send("done", self.job_id, (load.issued, cpu, stats, self.engine))


def _worker(inp: BinaryIO, out: BinaryIO) -> None:
    outbox = _Outbox(out)
    target: Target | None = None
    jobs: dict[int, _Job] = {}
    while True:
        try:
            kind, job_id, payload = pickle.load(inp)
        except EOFError:
            break
        if kind == "target":
            target = payload.build()
            # build the session and client, import aiohttp and load TLS now, not at a trial
            async_loads.warm_up(target.runtime_client(1))
            gc.collect()
            gc.freeze()  # what setup made is never scanned again: collections stay short
        elif kind == "job":
            try:
                jobs[job_id] = _Job(job_id, payload, target, outbox)
            except Exception as exc:
                outbox.send("error", job_id, f"{type(exc).__name__}: {exc}")
        elif kind == "go" and job_id in jobs:
            jobs[job_id].start(payload)
        elif kind == "stop" and job_id in jobs:
            jobs[job_id].stop.set()
    for job in jobs.values():  # the parent went away or closed: stop and finish
        job.stop.set()
    for job in jobs.values():
        if job.thread is not None:
            job.thread.join()
    outbox.close()


def main() -> None:
    """The worker process: read jobs on stdin, send rows on stdout."""
    out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # anything printed goes to stderr, never into the row stream
    code = 0
    try:
        _worker(sys.stdin.buffer, out)
    except Exception as exc:
        code = 1
        log.exception("load worker failed")
        with contextlib.suppress(OSError):
            pickle.dump(("error", 0, f"{type(exc).__name__}: {exc}", None), out)
    with contextlib.suppress(OSError):
        out.flush()
    os._exit(code)


if __name__ == "__main__":
    # the package's module, not this ``__main__`` copy: the parent's pickles name its classes
    from sm_bench_widgets.engine import load_process

    load_process.main()
