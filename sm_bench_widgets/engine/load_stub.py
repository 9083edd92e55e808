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
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

HELD_HEADER = "x-sm-bench-stub-held-us"
_BODY = b'{"stub": true}'


async def _serve_connection(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, latency: float
) -> None:
    loop = asyncio.get_running_loop()
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            received = loop.time()
            length = 0
            for line in head.split(b"\r\n"):
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            if length:
                await reader.readexactly(length)
            ok = head.startswith(b"POST /endpoints/") and b"/invocations " in head[:300]
            wait = latency - (loop.time() - received)
            if ok and wait > 0:
                await asyncio.sleep(wait)
            held_us = int((loop.time() - received) * 1e6)
            status, body = (b"200 OK", _BODY) if ok else (b"404 Not Found", b"{}")
            writer.write(
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
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
        pass
    finally:
        writer.close()


async def _main(latency_ms: float, host: str, port: int) -> None:
    latency = latency_ms / 1000.0
    server = await asyncio.start_server(
        lambda r, w: _serve_connection(r, w, latency), host, port, backlog=1024
    )
    bound = server.sockets[0].getsockname()[1]
    print(f"http://{host}:{bound}", flush=True)
    async with server:
        await server.serve_forever()


def serve(latency_ms: float, host: str = "127.0.0.1", port: int = 0) -> None:
    """Serve until killed, first printing the URL served."""
    try:
        import uvloop  # type: ignore[import-not-found]

        uvloop.install()
    except ImportError:
        pass
    asyncio.run(_main(latency_ms, host, port))


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
