"""Load on one asyncio loop: botocore builds, signs and reads each InvokeEndpoint, aiohttp
carries it.

Why: botocore's full call costs about 1.6 ms of CPU on a 2-vCPU host, most of it in
its per-call machinery (events, endpoint rules, serialising, urllib3), not in SigV4;
``benchmarks/fidelity.py`` measured the same calls signed by botocore and carried by aiohttp
at about a third of that CPU and about 1 ms closer to the service time at p50. So each
example's request is built once by the user's own botocore client (its endpoint
resolution, ``AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME``, config file ``services`` sections,
headers and serialisation), and each call is only signed again, by the client's own
request signer (its credentials chain, refreshed as botocore refreshes it). Error answers
are parsed by the client's own parser into the ``ClientError`` boto3 raises, so
``classify_error`` reads them alike.

Used only where it changes nothing a user configured (``unsupported``): with retries,
a client certificate or a proxy the botocore client sends the requests itself, as then
its own retry handler, TLS set-up and proxy handling apply.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import ssl
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from botocore.awsrequest import AWSRequest, AWSResponse
from botocore.exceptions import ClientError
from botocore.httpsession import get_cert_path

from sm_bench_widgets.adapters import botocore_client
from sm_bench_widgets.engine.loads import (
    ClientClock,
    Invoker,
    Row,
    RowSink,
    Sent,
    TrialLoad,
    classify_error,
)
from sm_bench_widgets.engine.openloop import LATE_MS, PHASE, OpenLoopStats

OPERATION = "InvokeEndpoint"
EVENT = "sagemaker-runtime.InvokeEndpoint"
# headers aiohttp would add by itself; botocore sends none of them (http.client's
# "Accept-Encoding: identity" means the same as none)
SKIP_AUTO_HEADERS = frozenset({"Accept", "Accept-Encoding", "Content-Type"})
# how often the credentials are asked for off the loop, so a refresh (an STS or IMDS
# call) never runs on the loop while requests are in flight
CREDENTIALS_EVERY_S = 30.0


def available() -> bool:
    """Whether aiohttp can be imported."""
    try:
        import aiohttp  # noqa: F401
    except ImportError:
        return False
    return True


def max_attempts(client: Any) -> int:
    """The attempts botocore makes per call with ``client``'s retry settings."""
    retries = client.meta.config.retries or {}
    if "total_max_attempts" in retries:
        return int(retries["total_max_attempts"])
    if "max_attempts" in retries:
        return int(retries["max_attempts"]) + 1
    return 3 if retries.get("mode", "legacy") == "standard" else 5


def unsupported(client: Any) -> str:
    """Why ``client``'s calls must go through botocore itself (``""``: they need not)."""
    if not available():
        return "aiohttp is not installed"
    if max_attempts(client) > 1:
        return "retries are configured"
    if client.meta.config.client_cert:
        return "a client certificate is configured"
    if botocore_client.proxy(client):
        return "a proxy is configured"
    return ""


@dataclass(frozen=True)
class Prepared:
    """One example's request as the botocore client builds it, before signing."""

    url: str
    headers: dict[str, str]
    body: bytes
    context: dict[str, Any]


_capturing = threading.local()


class _Captured(Exception):
    """Ends a call whose request was captured."""


def _capture(request: AWSRequest, **kwargs: Any) -> None:
    if getattr(_capturing, "into", None) is None:
        return
    body = request.body if isinstance(request.body, bytes) else (request.body or b"")
    if isinstance(body, str):
        body = body.encode("utf-8")
    _capturing.into.append(
        Prepared(request.url, dict(request.headers.items()), body, dict(request.context))
    )
    raise _Captured


def prepare(client: Any, endpoint_name: str, examples: Sequence[dict[str, Any]]) -> list[Prepared]:
    """Each example's unsigned request, built by ``client`` (nothing is sent)."""
    events = client.meta.events
    events.register_first(f"before-sign.{EVENT}", _capture, unique_id="sm-bench-capture")
    out: list[Prepared] = []
    _capturing.into = out
    try:
        for example in examples:
            try:
                client.invoke_endpoint(EndpointName=endpoint_name, **example)
            except _Captured:
                continue
            raise RuntimeError("the request was sent instead of captured")
    finally:
        _capturing.into = None
    return out


def ssl_context(client: Any) -> ssl.SSLContext | bool | None:
    """TLS as ``client`` verifies it: its CA bundle (``AWS_CA_BUNDLE``, ``ca_bundle``), or
    no verification when the user turned it off; None for a plain-HTTP endpoint. Loaded
    once per bundle (about 50 ms), so ``warm_up`` can take it out of a load's start."""
    if not str(client.meta.endpoint_url).startswith("https:"):
        return None
    verify = botocore_client.tls_verify(client)
    if verify is False:
        return False
    return _context(get_cert_path(verify))


def warm_up(client: Any) -> None:
    """Do now what the first load on ``client`` would otherwise do at its start."""
    if available():
        ssl_context(client)


@functools.lru_cache(maxsize=8)
def _context(cafile: str | None) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=cafile)


def _error(client: Any, status: int, headers: dict[str, str], body: bytes) -> ClientError:
    """The ``ClientError`` boto3 raises for this answer, parsed by ``client``'s parser."""
    operation = client.meta.service_model.operation_model(OPERATION)
    raw = AWSResponse("", status, headers, None)
    parsed = botocore_client.response_parser(client).parse(
        {"status_code": status, "headers": raw.headers, "body": body}, operation.output_shape
    )
    parsed.setdefault("ResponseMetadata", {})["HTTPStatusCode"] = status
    parsed["ResponseMetadata"]["HTTPHeaders"] = headers
    code = parsed.get("Error", {}).get("Code", "")
    return client.exceptions.from_code(code)(parsed, OPERATION)


class AsyncInvoker(Invoker):
    """An ``Invoker`` whose requests are signed by botocore and sent by aiohttp."""

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.prepared = prepare(self.client, self.endpoint_name, self.sampler.examples)
        self._signer = botocore_client.request_signer(self.client)
        self._attempts = f"attempt=1; max={max_attempts(self.client)}"

    def signed(self, index: int) -> Signed:
        """Example ``index``'s request, signed now."""
        prepared = self.prepared[index]
        request = AWSRequest("POST", prepared.url, data=prepared.body, headers=prepared.headers)
        request.context = dict(prepared.context)
        self._signer.sign(OPERATION, request)
        headers = dict(request.headers.items())
        headers["amz-sdk-invocation-id"] = str(uuid.uuid4())
        headers["amz-sdk-request"] = self._attempts
        return Signed(index, prepared.url, headers, prepared.body, time.monotonic())

    def next_signed(self) -> Signed:
        """The next drawn example's request, signed now."""
        return self.signed(self.sampler.draw()[0])

    async def invoke_async(
        self,
        http: Any,
        client_id: int = 0,
        phase: str | None = None,
        client_clock: ClientClock | None = None,
        ahead: SignAhead | None = None,
    ) -> Row:
        """Send one request on ``http`` (an aiohttp session) and return its row, as
        ``Invoker.invoke`` does; the round trip is timed from the signed request's hand-off
        to aiohttp to its body read, the time on the wire to its headers. With ``ahead``,
        the request it signed meanwhile is sent, and the next one is signed while this
        one is in flight."""
        import aiohttp

        outcome, code, bytes_out, response = "ok", "", 0, None
        signed = ahead.take() if ahead is not None else None
        if signed is None:
            index = self.sampler.draw()[0]
            try:
                signed = self.signed(index)
            except Exception as exc:  # no credentials to sign with: a row, as boto3 gives
                sent = Sent(index, time.time(), 0.0, None, "error", type(exc).__name__, 0, None)
                return self.row(sent, client_id=client_id, phase=phase, client_clock=client_clock)
        index, url, headers, body = signed.index, signed.url, signed.headers, signed.body
        if ahead is not None:
            ahead.sent()
        start = time.time()
        t0 = time.perf_counter()
        wire_ms = None
        try:
            async with http.post(
                url, data=body, headers=headers, skip_auto_headers=SKIP_AUTO_HEADERS
            ) as answer:
                wire_ms = (time.perf_counter() - t0) * 1000.0
                payload = await answer.read()
                elapsed = time.perf_counter() - t0
                told = {k.lower(): v for k, v in answer.headers.items()}
                status = answer.status
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            elapsed = time.perf_counter() - t0
            outcome, code = "error", _connection_error(exc)
        else:
            response = {"ResponseMetadata": {"HTTPHeaders": told, "RetryAttempts": 0}}
            if status >= 300:
                error = _error(self.client, status, told, payload)
                outcome, code = classify_error(error)
                response = error.response
            else:
                bytes_out = len(payload)
        if ahead is not None:
            ahead.answered(elapsed)
        # answers that came in together are each timed before any of them is handled
        # further (its row, the client's next request): one pass of the loop
        await asyncio.sleep(0)
        sent = Sent(index, start, elapsed, response, outcome, code, bytes_out, wire_ms)
        return self.row(sent, client_id=client_id, phase=phase, client_clock=client_clock)


@dataclass(frozen=True)
class Signed:
    """A request ready to send: which example, where, its signed headers and body, and
    when it was signed (``time.monotonic()``)."""

    index: int
    url: str
    headers: dict[str, str]
    body: bytes
    at: float


class SignAhead:
    """A request signed before it is due: a closed-loop client's next one halfway through
    its current round trip (by the last round trip's length), when no answer is due to
    it; an open loop's before waiting for its arrival time. Signing is the largest part
    of the loop's work per call; done right after an answer, it lands in the wave of
    answers that clients in step get together and delays their timestamps. A request
    signed more than ``MAX_AGE_S`` ago is signed again (AWS rejects a SigV4 signature
    five minutes old)."""

    MAX_AGE_S = 60.0

    def __init__(self, invoker: AsyncInvoker):
        self.invoker = invoker
        self.request: Signed | None = None
        self.round_trip: float | None = None
        self._handle: asyncio.TimerHandle | None = None

    def take(self) -> Signed | None:
        """The request signed ahead, if there is one still fresh."""
        request, self.request = self.request, None
        if request is None or time.monotonic() - request.at > self.MAX_AGE_S:
            return None
        return request

    def sent(self) -> None:
        """A request went out: sign the next one halfway to its expected answer."""
        if self.round_trip is not None and self.round_trip / 2 < self.MAX_AGE_S:
            self._handle = asyncio.get_running_loop().call_later(self.round_trip / 2, self.sign)

    def answered(self, round_trip: float) -> None:
        """The request's answer came after ``round_trip`` seconds."""
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None
        self.round_trip = round_trip

    def sign(self) -> None:
        """Sign the next request now."""
        self._handle = None
        # a request that cannot be signed now is signed when it is due, and its row says why
        with contextlib.suppress(Exception):
            self.request = self.invoker.next_signed()


def _connection_error(exc: BaseException) -> str:
    """botocore's name for a failure to reach or hear from the endpoint."""
    import aiohttp

    if isinstance(exc, TimeoutError):
        return "ReadTimeoutError"
    if isinstance(exc, aiohttp.ClientConnectorError):
        return "EndpointConnectionError"
    return type(exc).__name__


class Session:
    """An aiohttp session for ``clients`` requests in flight at once, with the botocore
    client's timeouts and TLS, and no cookies, proxies or ``.netrc`` (botocore uses none
    of them here: ``unsupported`` sends through botocore when a proxy applies)."""

    def __init__(self, client: Any, clients: int):
        self.client = client
        self.clients = clients

    async def __aenter__(self) -> Any:
        import aiohttp

        config = self.client.meta.config
        tls = ssl_context(self.client)
        connector = aiohttp.TCPConnector(limit=self.clients, ssl=True if tls is None else tls)
        timeout = aiohttp.ClientTimeout(
            sock_connect=config.connect_timeout, sock_read=config.read_timeout
        )
        self.http = aiohttp.ClientSession(
            connector=connector,
            timeout=timeout,
            cookie_jar=aiohttp.DummyCookieJar(),
            auto_decompress=False,
        )
        return self.http

    async def __aexit__(self, *exc: object) -> None:
        await self.http.close()


def _keep_credentials_fresh(client: Any, stop: threading.Event) -> threading.Thread:
    """Ask for the credentials every ``CREDENTIALS_EVERY_S`` in a thread, so botocore
    refreshes them there and not on the loop."""
    credentials = botocore_client.credentials(client)

    def loop() -> None:
        while not stop.wait(CREDENTIALS_EVERY_S):
            # a refresh that fails here fails again when a request is signed: its row says so
            with contextlib.suppress(Exception):
                if credentials is not None:
                    credentials.get_frozen_credentials()

    thread = threading.Thread(target=loop, name="sm-bench-credentials", daemon=True)
    thread.start()
    return thread


def _loop_running() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


def run(invoker: AsyncInvoker, clients: int, work: Callable[[Any], Any]) -> Any:
    """Run ``work(http)`` on a new loop with a session for ``clients`` in flight; on a
    thread of its own when this thread already runs a loop (a notebook's, a browser
    driver's), where a second one cannot run."""
    stop = threading.Event()
    fresh = _keep_credentials_fresh(invoker.client, stop)

    async def main() -> Any:
        async with Session(invoker.client, clients) as http:
            return await work(http)

    try:
        if not _loop_running():
            return asyncio.run(main())
        with ThreadPoolExecutor(1, thread_name_prefix="sm-bench-loop") as pool:
            return pool.submit(asyncio.run, main()).result()
    finally:
        stop.set()
        fresh.join()


async def _pause(load: TrialLoad) -> bool:
    """Wait the configured pause; False when a stop came meanwhile."""
    if load.pause is not None:
        seconds = load.pause()
        if seconds > 0:
            await asyncio.sleep(seconds)
    return not (load.trial_stop.is_set() or load.run_stop.is_set())


def closed_loop(
    invoker: AsyncInvoker,
    clients: int,
    load: TrialLoad,
    sink: RowSink,
    backoff: Callable[[], float] | None = None,
) -> None:
    """``loads.closed_loop`` on one loop: ``clients`` coroutines, each sending its next
    request as soon as the last one answered (after ``backoff()`` seconds when throttled)."""

    async def client(http: Any, i: int) -> None:
        placed = ClientClock()
        ahead = SignAhead(invoker)
        while await _pause(load) and load.take():
            row = await invoker.invoke_async(http, client_id=i, client_clock=placed, ahead=ahead)
            sink(row)
            if backoff is not None and row["outcome"] == "throttled":
                await asyncio.sleep(backoff())

    async def work(http: Any) -> None:
        await asyncio.gather(*(client(http, i) for i in range(clients)))

    run(invoker, clients, work)


def open_loop(
    invoker: AsyncInvoker,
    offsets: Sequence[float],
    load: TrialLoad,
    sink: RowSink,
    *,
    time_scale: float = 1.0,
    senders: int = 64,
) -> OpenLoopStats:
    """``openloop.open_loop`` on one loop: one request at each offset (service-clock
    seconds from now, waited ``time_scale`` times as long), up to ``senders`` in flight."""
    stats = OpenLoopStats()

    async def send(http: Any, free: asyncio.Semaphore, i: int, ahead: SignAhead) -> None:
        try:
            t = time.perf_counter()
            row = await invoker.invoke_async(http, client_id=i, phase=PHASE, ahead=ahead)
            if row["outcome"] == "ok":
                stats.answered += 1
                stats.round_trip_s += time.perf_counter() - t
            sink(row)
        finally:
            free.release()

    async def work(http: Any) -> None:
        free = asyncio.Semaphore(senders)
        tasks = set()
        t0 = time.perf_counter()
        for i, offset in enumerate(offsets):
            due = t0 + float(offset) * time_scale
            ahead = SignAhead(invoker)
            ahead.sign()  # before the wait, not when the request is due
            wait = due - time.perf_counter()
            if wait > 0:
                await asyncio.sleep(wait)
            if load.run_stop.is_set() or load.trial_stop.is_set():
                break
            await free.acquire()
            if not load.take():
                free.release()
                break
            late_ms = (time.perf_counter() - due) * 1000.0
            stats.sent += 1
            stats.max_late_ms = max(stats.max_late_ms, late_ms)
            stats.late += late_ms > LATE_MS
            task = asyncio.create_task(send(http, free, i, ahead))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
        if tasks:
            await asyncio.gather(*tasks)

    run(invoker, senders, work)
    return stats
