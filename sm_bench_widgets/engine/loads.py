"""Load patterns: timed invocations, outcome classification, sequential and closed-loop load.

One ``Invoker`` sends requests to one endpoint and turns each into an invocation row; the
load functions decide how many go out at once and when to stop. No pause is made between
invocations unless a pause is asked for.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from sm_bench_widgets.engine.load_stub import held_ms
from sm_bench_widgets.payloads import PayloadSampler

Row = dict[str, Any]
RowSink = Callable[[Row], None]


def classify_error(exc: BaseException) -> tuple[str, str]:
    """(outcome, error_code) for a failed InvokeEndpoint call.

    ``ThrottlingException`` is ``throttled``; a ``ModelError`` whose message (the
    container's ``OriginalMessage`` when given) speaks of memory is
    ``insufficient_memory``, any other ``ModelError`` is ``model_error``; the rest is
    ``error`` with the AWS error code (or the exception type) kept.
    """
    if isinstance(exc, ClientError):
        err = exc.response.get("Error", {})
        code = str(err.get("Code", "")) or type(exc).__name__
        message = str(err.get("Message", ""))
        if code == "ThrottlingException":
            return "throttled", code
        if code == "ModelError":
            # the container's own words when AWS passes them on; the full message also
            # holds a log URL with the endpoint name, which may itself say "memory"
            said = str(exc.response.get("OriginalMessage") or message)
            if "memory" in said.lower():
                return "insufficient_memory", code
            return "model_error", code
        return "error", code
    return "error", type(exc).__name__


EMULATED_HEADER = "x-sm-bench-emulated"
TIME_SCALE_HEADER = "x-sm-bench-time-scale"
CLOCK_ORIGIN_HEADER = "x-sm-bench-clock-origin"
SERVICE_TIME_HEADERS = ("x-sm-bench-model-latency-us", "x-sm-bench-overhead-latency-us")


def _headers(response: dict[str, Any] | None) -> dict[str, str]:
    return ((response or {}).get("ResponseMetadata") or {}).get("HTTPHeaders") or {}


@dataclass(frozen=True)
class EmulatorClock:
    """What an answer of the local emulator says of its clock, and of the request's
    duration on it (``service_ms``, when told)."""

    time_scale: float
    origin: float | None
    service_ms: float | None

    def service_time(self, t: float) -> float:
        """Wall-clock time ``t`` on the emulator's clock."""
        if self.origin is None:
            return t
        return self.origin + (t - self.origin) / self.time_scale


def emulator_clock(response: dict[str, Any] | None) -> EmulatorClock | None:
    """The clock an answer of the local emulator tells of; None for any other answer."""
    headers = _headers(response)
    if headers.get(EMULATED_HEADER) != "1":
        return None
    try:
        scale = float(headers.get(TIME_SCALE_HEADER, 1.0))
        origin = float(headers[CLOCK_ORIGIN_HEADER]) if CLOCK_ORIGIN_HEADER in headers else None
    except ValueError:
        scale, origin = 1.0, None
    parts = [headers.get(name) for name in SERVICE_TIME_HEADERS]
    service_ms = None if any(p is None for p in parts) else sum(int(p) for p in parts) / 1000.0
    return EmulatorClock(scale, origin, service_ms)


_wire = threading.local()  # this thread's last InvokeEndpoint: sent, answered (perf_counter)


def _sent(**kwargs: Any) -> None:
    _wire.sent = time.perf_counter()


def _answered(**kwargs: Any) -> None:
    _wire.answered = time.perf_counter()


def watch_wire(client: Any) -> None:
    """Time when ``client`` hands each InvokeEndpoint request to the socket and when its
    answer's headers are in (botocore's before-send and before-parse events), once."""
    events = getattr(getattr(client, "meta", None), "events", None)
    if events is None or getattr(client, "_sm_bench_wire", False):
        return
    events.register("before-send.sagemaker-runtime.InvokeEndpoint", _sent)
    events.register("before-parse.sagemaker-runtime.InvokeEndpoint", _answered)
    client._sm_bench_wire = True


def client_overhead(
    round_trip_ms: float,
    response: dict[str, Any] | None,
    clock: EmulatorClock | None,
    wire_ms: float | None = None,
) -> float | None:
    """What the client added to a round trip: the round trip minus the time the server
    says it held the request (the emulator's service time, in wall time: the client's
    own time passes alike at any time scale; the stub's hold), else minus the time on
    the wire (``wire_ms``: from handing the request to the socket to the answer's
    headers; a lower bound, as a client too busy to read an answer that came is counted
    on the wire); None when nothing tells."""
    if clock is not None and clock.service_ms is not None:
        return round_trip_ms - clock.service_ms * clock.time_scale
    held = held_ms(_headers(response))
    if held is not None:
        return round_trip_ms - held
    return None if wire_ms is None else round_trip_ms - wire_ms


def _wire_ms(response: dict[str, Any] | None) -> float | None:
    """This thread's last request's time on the wire, when it was sent once."""
    sent, answered = getattr(_wire, "sent", None), getattr(_wire, "answered", None)
    retried = ((response or {}).get("ResponseMetadata") or {}).get("RetryAttempts", 0)
    if sent is None or answered is None or answered < sent or retried:
        return None
    return (answered - sent) * 1000.0


class ClientClock:
    """Places one closed-loop client's requests on the service's clock.

    At a time scale below 1 the emulator's clock runs faster than the wall clock, but the
    client's own time (its share of each round trip, pauses, backoffs, the loop between
    requests) is what it would be in a real-time run. Read off the emulator's clock that
    time would be stretched ``1 / time_scale`` times, and a closed loop's throughput
    understated; so each request is moved back by the stretch of the client time before
    it, and consecutive requests lie ``service time + client time`` apart, as in real time.
    """

    def __init__(self) -> None:
        self._stretch = 0.0
        self._last_end: float | None = None

    def start(self, wall_start: float, wall_end: float, clock: EmulatorClock) -> float:
        """The service-clock start of a request sent at ``wall_start`` (``time.time()``)
        that answered at ``wall_end``; records its client time for the next one."""
        scale = clock.time_scale
        factor = 1.0 / scale - 1.0 if 0 < scale < 1 else 0.0
        if self._last_end is not None:
            self._stretch += max(0.0, wall_start - self._last_end) * factor
        start = clock.service_time(wall_start) - self._stretch
        if clock.service_ms is not None:
            held = clock.service_ms * scale / 1000.0
            self._stretch += max(0.0, wall_end - wall_start - held) * factor
        self._last_end = wall_end
        return start


@dataclass(frozen=True)
class Sent:
    """One request as sent and answered: which example, when (``time.time()``), how long
    (seconds of wall time), the answer (a boto3 response or error response), and its
    time on the wire (ms) when known."""

    index: int
    start: float
    elapsed: float
    response: dict[str, Any] | None
    outcome: str
    error_code: str
    bytes_out: int
    wire_ms: float | None


class Invoker:
    """Sends timed requests to one endpoint and builds invocation rows for one trial.

    Against the local emulator, a row is stated on the service's own clock whatever the
    emulator's time scale: its latency is the emulated duration of the request (or the
    round trip divided by the time scale, for an answer that does not tell it), and its
    start and end are on the emulator's clock. ``on_emulated(clock)`` is called with each
    such answer, so that results reached through a plain ``AWS_ENDPOINT_URL`` are labelled
    emulated too.
    """

    def __init__(
        self,
        runtime_client: Any,
        endpoint_name: str,
        sampler: PayloadSampler,
        labels: dict[str, Any],
        on_emulated: Callable[[EmulatorClock], None] | None = None,
    ):
        self.client = runtime_client
        watch_wire(runtime_client)
        self.endpoint_name = endpoint_name
        self.sampler = sampler
        self.labels = dict(labels)
        self.on_emulated = on_emulated

    def invoke(
        self,
        client_id: int = 0,
        cold: bool = False,
        phase: str | None = None,
        client_clock: ClientClock | None = None,
    ) -> Row:
        """Send one request and return its row; never raises for AWS or network errors.
        A closed-loop client passes its ``client_clock`` to be placed as in real time."""
        index, kwargs = self.sampler.draw()
        kwargs["EndpointName"] = self.endpoint_name
        outcome, code, bytes_out = "ok", "", 0
        start = time.time()
        _wire.sent = _wire.answered = None
        t0 = time.perf_counter()
        response = None
        try:
            response = self.client.invoke_endpoint(**kwargs)
            bytes_out = len(response["Body"].read())
        except Exception as exc:  # every failure becomes a row; nothing is lost
            outcome, code = classify_error(exc)
            response = getattr(exc, "response", None)
        elapsed = time.perf_counter() - t0
        sent = Sent(index, start, elapsed, response, outcome, code, bytes_out, _wire_ms(response))
        return self.row(sent, client_id, cold, phase, client_clock)

    def row(
        self,
        sent: Sent,
        client_id: int = 0,
        cold: bool = False,
        phase: str | None = None,
        client_clock: ClientClock | None = None,
    ) -> Row:
        """The invocation row of ``sent``, on the service's clock."""
        start, response = sent.start, sent.response
        latency_ms = sent.elapsed * 1000.0
        clock = emulator_clock(response)
        overhead_ms = client_overhead(latency_ms, response, clock, sent.wire_ms)
        if clock is not None:
            if self.on_emulated is not None:
                self.on_emulated(clock)
            latency_ms = clock.service_ms if clock.service_ms is not None else latency_ms
            if clock.service_ms is None:
                latency_ms /= clock.time_scale
            if client_clock is not None:
                start = client_clock.start(start, start + sent.elapsed, clock)
            else:
                start = clock.service_time(start)
        row = {
            **self.labels,
            "client_id": client_id,
            "endpoint_name": self.endpoint_name,
            "start": start,
            "end": start + latency_ms / 1000.0,
            "latency_ms": latency_ms,
            "outcome": sent.outcome,
            "error_code": sent.error_code,
            "cold": cold,
            "bytes_in": self.sampler.sizes[sent.index],
            "bytes_out": sent.bytes_out,
            "payload_index": sent.index,
            "overhead_ms": overhead_ms,
        }
        if phase is not None:
            row["phase"] = phase
        return row


def burst(invoker: Invoker, k: int) -> list[Row]:
    """Send ``k`` requests at once (one thread each) and return their rows, all marked cold.

    Against a fresh endpoint with MaxConcurrency >= k, each request lands on a new
    instance and pays a cold start.
    """
    if k <= 0:
        return []
    if k == 1:
        return [invoker.invoke(client_id=0, cold=True, phase="cold_start")]
    gate = threading.Barrier(k)

    def one(i: int) -> Row:
        gate.wait()
        return invoker.invoke(client_id=i, cold=True, phase="cold_start")

    with ThreadPoolExecutor(max_workers=k, thread_name_prefix="sm-bench-burst") as pool:
        return list(pool.map(one, range(k)))


class TrialLoad:
    """Shared counters of one trial's load: how many may still go out, and stop flags."""

    def __init__(
        self,
        max_invocations: int,
        stop_event: threading.Event,
        pause: Callable[[], float] | None = None,
    ):
        self.max_invocations = max_invocations
        self.run_stop = stop_event
        self.trial_stop = threading.Event()
        self.pause = pause
        self._lock = threading.Lock()
        self._issued = 0

    def take(self) -> bool:
        """Reserve one invocation; False once the budget is spent or a stop was asked."""
        if self.trial_stop.is_set() or self.run_stop.is_set():
            return False
        with self._lock:
            if self._issued >= self.max_invocations:
                return False
            self._issued += 1
            return True

    def reserve(self, k: int) -> int:
        """Reserve up to ``k`` invocations at once; returns how many were granted."""
        if self.trial_stop.is_set() or self.run_stop.is_set():
            return 0
        with self._lock:
            granted = max(0, min(k, self.max_invocations - self._issued))
            self._issued += granted
            return granted

    def give_back(self, k: int) -> None:
        """Return ``k`` reserved invocations that were never sent."""
        with self._lock:
            self._issued -= max(0, min(k, self._issued))

    def wait_pause(self) -> bool:
        """Sleep the configured pause (if any); False when a stop came meanwhile."""
        if self.pause is None:
            return True
        seconds = self.pause()
        if seconds <= 0:
            return True
        return not (self.run_stop.wait(seconds) or self.trial_stop.is_set())

    @property
    def issued(self) -> int:
        """Invocations reserved so far."""
        return self._issued


def sequential(invoker: Invoker, load: TrialLoad, sink: RowSink) -> None:
    """One client, one request after another, until the load says stop."""
    placed = ClientClock()
    while load.wait_pause() and load.take():
        sink(invoker.invoke(client_id=0, client_clock=placed))


def closed_loop(
    invoker: Invoker,
    clients: int,
    load: TrialLoad,
    sink: RowSink,
    backoff: Callable[[], float] | None = None,
) -> None:
    """``clients`` threads, each sending its next request as soon as the last one answers.

    A throttled client waits ``backoff()`` seconds before its next request (as AWS SDKs
    back off on throttling), so rejected requests do not spin in a tight loop.
    """

    def client(i: int) -> None:
        placed = ClientClock()
        while load.wait_pause() and load.take():
            row = invoker.invoke(client_id=i, client_clock=placed)
            sink(row)
            if backoff is not None and row["outcome"] == "throttled":
                load.run_stop.wait(backoff())

    threads = [
        threading.Thread(target=client, args=(i,), name=f"sm-bench-client-{i}", daemon=True)
        for i in range(clients)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def mark_slowest_cold(rows: list[Row], cold: int) -> None:
    """Mark the ``cold`` slowest ok rows cold and the other ok rows warm."""
    ok = sorted((r for r in rows if r["outcome"] == "ok"), key=lambda r: r["latency_ms"])
    cold = max(0, min(cold, len(ok)))
    for i, row in enumerate(ok):
        row["cold"] = i >= len(ok) - cold


class FirstWave:
    """Holds each client's first row until all clients answered, then marks cold starts.

    When ``clients`` closed-loop clients start against an endpoint with fewer warm
    instances than concurrent requests, the endpoint scales up: ``cold_slots`` of the
    first wave land on new instances and pay a cold start. The client cannot tell which;
    the slowest ok rows of the wave are the ones marked cold.
    """

    def __init__(self, clients: int, cold_slots: int, sink: RowSink):
        self.clients = clients
        self.cold_slots = cold_slots
        self.sink = sink
        self._lock = threading.Lock()
        self._seen: set[int] = set()
        self._held: list[Row] = []
        self._open = cold_slots > 0

    def __call__(self, row: Row) -> None:
        """Pass ``row`` on, or hold it while the first wave is still arriving."""
        release: list[Row] = []
        with self._lock:
            if self._open and row["client_id"] not in self._seen:
                self._seen.add(row["client_id"])
                self._held.append(row)
                if len(self._seen) >= self.clients:
                    release = self._resolve()
                row = None
        for r in release:
            self.sink(r)
        if row is not None:
            self.sink(row)

    def _resolve(self) -> list[Row]:
        self._open = False
        held, self._held = self._held, []
        mark_slowest_cold(held, self.cold_slots)
        return sorted(held, key=lambda r: r["start"])

    def close(self) -> None:
        """Release what is still held (some clients never sent: stop or budget)."""
        with self._lock:
            release = self._resolve() if self._open else []
        for r in release:
            self.sink(r)
