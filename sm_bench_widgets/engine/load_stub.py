"""A fixed-latency stand-in for a SageMaker runtime endpoint, for measuring the load path.

An asyncio HTTP/1.1 server (keep-alive, no framework) that answers every
``POST /endpoints/<name>/invocations`` after exactly ``latency_ms``, costing tens of
microseconds of CPU per request, so what a client records above that latency is the
client's own. Each answer tells the time the stub held the request in the
``x-sm-bench-stub-held-us`` header (the time on the wire side), so a client can split its
round trip into the stub's part and its own. ``StubEndpoint`` runs it in its own process.

    python -m sm_bench_widgets.engine.load_stub --latency-ms 200 [--port 0]
"""

from __future__ import annotations

import argparse
import asyncio
import selectors
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

HELD_HEADER = "x-sm-bench-stub-held-us"
_BODY = b'{"stub": true}'
_INVOKE = b"POST /endpoints/"


def _answer(ok: bool, held_us: int) -> bytes:
    status, body = (b"200 OK", _BODY) if ok else (b"404 Not Found", b"{}")
    return (
        b"HTTP/1.1 " + status + b"\r\nContent-Type: application/json\r\n"
        b"x-amzn-Invoked-Production-Variant: stub\r\n"
        + HELD_HEADER.encode()
        + b": "
        + str(held_us).encode()
        + b"\r\nContent-Length: "
        + str(len(body)).encode()
        + b"\r\n\r\n"
        + body
    )


def _content_length(head: bytes) -> int:
    for line in head.split(b"\r\n")[1:]:
        if line[:15].lower() == b"content-length:":
            return int(line[15:])
    return 0


class _Connection(asyncio.Protocol):
    """One keep-alive connection: each request is answered ``latency`` seconds after its
    bytes were read, by a timer on the loop (no task, no stream per request)."""

    def __init__(self, latency: float):
        self.latency = latency
        self.buffer = b""
        self.timers: list[asyncio.TimerHandle] = []

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport
        self.loop = asyncio.get_running_loop()

    def data_received(self, data: bytes) -> None:
        received = self.loop.time()
        self.buffer += data
        while (end := self.buffer.find(b"\r\n\r\n")) >= 0:
            head = self.buffer[:end]
            size = end + 4 + _content_length(head)
            if len(self.buffer) < size:
                return
            self.buffer = self.buffer[size:]
            ok = head.startswith(_INVOKE) and b"/invocations " in head[:300]
            due = received + (self.latency if ok else 0.0)
            self.timers = [t for t in self.timers if t.when() > received]  # not yet fired
            self.timers.append(self.loop.call_at(due, self._answer, ok, received))

    def _answer(self, ok: bool, received: float) -> None:
        held_us = int((self.loop.time() - received) * 1e6)
        self.transport.write(_answer(ok, held_us))  # type: ignore[attr-defined]

    def connection_lost(self, exc: Exception | None) -> None:
        for timer in self.timers:
            timer.cancel()


async def _main(latency_ms: float, host: str, port: int) -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: _Connection(latency_ms / 1000.0), host, port, backlog=1024
    )
    bound = server.sockets[0].getsockname()[1]
    print(f"http://{host}:{bound}", flush=True)
    async with server:
        await server.serve_forever()


def serve(latency_ms: float, host: str = "127.0.0.1", port: int = 0) -> None:
    """Serve until killed, first printing the URL served. The loop waits in select(2),
    whose timeout is in microseconds; epoll's is in whole milliseconds, rounded up, which
    held every answer about half a millisecond longer than asked. select(2) takes up to
    about a thousand connections."""
    with asyncio.Runner(
        loop_factory=lambda: asyncio.SelectorEventLoop(selectors.SelectSelector())
    ) as runner:
        runner.run(_main(latency_ms, host, port))


class StubEndpoint:
    """The stub in its own process (a plain subprocess: nothing of the caller's ``__main__``
    is imported again); ``url`` once started, ``close()`` ends it."""

    def __init__(self, latency_ms: float):
        self.latency_ms = latency_ms
        self.process = subprocess.Popen(
            [sys.executable, "-m", __name__, "--latency-ms", str(latency_ms)],
            stdout=subprocess.PIPE,
            text=True,
        )
        line = self.process.stdout.readline().strip()  # type: ignore[union-attr]
        if not line.startswith("http://"):
            self.close()
            raise RuntimeError(f"the stub endpoint did not start: {line!r}")
        self.url = line

    def close(self) -> None:
        """Stop the stub's process."""
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)
        if self.process.stdout is not None:
            self.process.stdout.close()


@contextmanager
def stub_endpoint(latency_ms: float) -> Iterator[StubEndpoint]:
    """A stub answering after ``latency_ms``, in its own process, for a ``with`` block."""
    stub = StubEndpoint(latency_ms)
    try:
        yield stub
    finally:
        stub.close()


def held_ms(headers: dict[str, str]) -> float | None:
    """How long the stub held a request, from its answer's headers (None: not the stub)."""
    value = headers.get(HELD_HEADER)
    return None if value is None else int(value) / 1000.0


def main(argv: list[str] | None = None) -> None:
    """Serve a stub from the command line, printing its URL."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency-ms", type=float, default=200.0)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args(argv)
    started = time.time()
    try:
        serve(args.latency_ms, args.host, args.port)
    except KeyboardInterrupt:
        print(f"stub stopped after {time.time() - started:.0f} s")


if __name__ == "__main__":
    main()
