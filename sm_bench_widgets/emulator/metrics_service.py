"""CloudWatch in a process of its own, so metric queries never hold the data plane's GIL.

moto spends tens of milliseconds of Python per CloudWatch request (parsing, the query,
serialising the answer); in the emulator's own interpreter that time stalls invocations in
flight. ``MetricsService`` runs moto's CloudWatch, with the emulator's per-minute
aggregates and percentiles, in a child process: the emulator forwards every CloudWatch
request to it over HTTP and sends it the invocations' metric values in batches over a
socket pair (``add``), flushed before each forwarded request so a query sees every
invocation answered before it. The child ends with the emulator, and on its own when its
socket closes (the emulator's process is gone).
"""

from __future__ import annotations

import contextlib
import http.client
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Callable, Iterable
from multiprocessing.connection import Connection
from typing import Any

from sm_bench_widgets.emulator.cw_percentiles import ValueSketch

StartResponse = Callable[..., Any]
START_TIMEOUT_S = 120.0
# (account, region, namespace, metric, dimensions, unit, minute)
Key = tuple[str, str, str, str, tuple[tuple[str, str], ...], str, Any]
HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "te", "upgrade"}


class MinuteAggregates:
    """One moto data point per metric, dimensions and minute, updated in place."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._open: dict[Key, tuple[Any, Any]] = {}
        self._minute: Any = None

    def add(self, key: Key, values: list[float]) -> None:
        """Add ``values`` to the data point of ``key`` (made, and stored in moto, if new)."""
        from sm_bench_widgets.emulator import moto_adapter

        account, region, namespace, name, dims, unit, minute = key
        backend = moto_adapter.cloudwatch_backend(account, region)
        with self._lock:
            if self._minute is None or minute > self._minute:
                self._open = {k: v for k, v in self._open.items() if k[-1] >= minute}
                self._minute = minute
            point = self._open.get(key)
            if point is None or point[0] is not backend:  # new, or its account was wiped
                aggregate = moto_adapter.new_metric_aggregate(
                    namespace,
                    name,
                    [{"Name": n, "Value": v} for n, v in dims],
                    unit,
                    minute,
                    ValueSketch(),
                )
                moto_adapter.add_metric_datum(backend, aggregate)
                point = self._open[key] = (backend, aggregate)
            aggregate = point[1]
            for value in values:
                aggregate.sketch.add(value)
            aggregate.sample_count += len(values)
            aggregate.sum += sum(values)
            aggregate.min = min(aggregate.min, *values)
            aggregate.max = max(aggregate.max, *values)

    def forget(self, account: str) -> None:
        """Drop the open data points of ``account`` (its backends are wiped)."""
        with self._lock:
            self._open = {k: v for k, v in self._open.items() if k[0] != account}


class MetricsService:
    """The CloudWatch child process: started at once, waited for on first use."""

    def __init__(self) -> None:
        # a plain subprocess, not multiprocessing's spawn, which would re-run the caller's
        # main script in the child
        mine, theirs = socket.socketpair()
        self._process = subprocess.Popen(
            [sys.executable, "-m", __name__, str(theirs.fileno())],
            pass_fds=(theirs.fileno(),),
            stdin=subprocess.DEVNULL,
        )
        theirs.close()
        self._conn = Connection(mine.detach())
        _keep_from_forks(self._conn.fileno())
        self._lock = threading.Lock()
        self._port: int | None = None
        self._local = threading.local()

    @property
    def port(self) -> int:
        """The port the child serves CloudWatch on (waits for it to be ready)."""
        with self._lock:
            return self._ready()

    def _ready(self) -> int:
        if self._port is None:
            if not self._conn.poll(START_TIMEOUT_S):
                raise RuntimeError("the emulator's CloudWatch process did not start")
            self._port = int(self._conn.recv())
        return self._port

    def call(self, message: tuple[Any, ...]) -> Any:
        """Send one message to the child and return its answer."""
        with self._lock:
            self._ready()
            self._conn.send(message)
            return self._conn.recv()

    def add(self, batch: dict[Key, list[float]]) -> None:
        """Add metric values to the child's data points."""
        self.call(("add", batch))

    def wipe(self, account: str) -> None:
        """Forget every metric of ``account``."""
        self.call(("wipe", account))

    def data_points(self, account: str, region: str) -> int:
        """How many data points the child holds for ``account`` in ``region``."""
        return int(self.call(("points", account, region)))

    def forward(
        self, environ: dict[str, Any], body: bytes, start_response: StartResponse
    ) -> Iterable[bytes]:
        """Answer a CloudWatch request through the child."""
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._local.conn = http.client.HTTPConnection(
                "127.0.0.1", self.port, timeout=120
            )
        path = environ.get("PATH_INFO", "/") or "/"
        if environ.get("QUERY_STRING"):
            path += "?" + environ["QUERY_STRING"]
        headers = {
            key[5:].replace("_", "-").lower(): value
            for key, value in environ.items()
            if key.startswith("HTTP_") and key != "HTTP_CONNECTION"
        }
        if environ.get("CONTENT_TYPE"):
            headers["content-type"] = environ["CONTENT_TYPE"]
        headers["content-length"] = str(len(body))
        try:
            conn.request(environ.get("REQUEST_METHOD", "POST"), path, body=body, headers=headers)
            resp = conn.getresponse()
            answer = resp.read()
        except (OSError, http.client.HTTPException):
            conn.close()  # a stale keep-alive connection: once more on a new one
            conn.request(environ.get("REQUEST_METHOD", "POST"), path, body=body, headers=headers)
            resp = conn.getresponse()
            answer = resp.read()
        out = [(k, v) for k, v in resp.getheaders() if k.lower() not in HOP_BY_HOP]
        start_response(f"{resp.status} {resp.reason}", out)
        return [answer]

    def stop(self) -> None:
        """Stop the child."""
        if self._process.poll() is None:
            with contextlib.suppress(OSError, EOFError, RuntimeError):
                self.call(("stop",))
            try:
                self._process.wait(10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        self._conn.close()


def _keep_from_forks(fd: int) -> None:
    """Close ``fd`` in processes forked from this one, so the child still sees its end."""

    def close_in_child() -> None:
        with contextlib.suppress(OSError):
            os.close(fd)

    os.register_at_fork(after_in_child=close_in_child)


def cloudwatch_app(moto_app: Callable[..., Iterable[bytes]]) -> Callable[..., Iterable[bytes]]:
    """moto's app, with an action moto lacks refused as unsupported and a fault a 500."""
    from botocore.model import OperationNotFoundError

    from sm_bench_widgets.emulator import operations
    from sm_bench_widgets.emulator.wsgi import read_body

    def app(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        body = read_body(environ)
        try:
            return moto_app(environ, start_response)
        except (NotImplementedError, OperationNotFoundError) as exc:
            refusal = operations.refuse_unsupported(environ, body, str(exc))
        except Exception as exc:  # noqa: BLE001 - a fault is answered as AWS answers one
            refusal = operations.internal_failure(environ, body, repr(exc))
        start_response(refusal.status, refusal.headers)
        return [refusal.body]

    return app


def serve(conn: Any) -> None:
    """The child: serve CloudWatch over HTTP and apply the messages of the socket."""
    from werkzeug.serving import make_server

    from sm_bench_widgets.emulator import cw_percentiles, moto_adapter
    from sm_bench_widgets.emulator.server import _QuietHandler

    cw_percentiles.install()
    moto_adapter.fix_list_metrics()
    aggregates = MinuteAggregates()
    server = make_server(
        "127.0.0.1",
        0,
        cloudwatch_app(moto_adapter.server_app()),
        threaded=True,
        request_handler=_QuietHandler,
    )
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name="sm-bench-cloudwatch", daemon=True).start()
    conn.send(server.server_port)
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            os._exit(0)  # the emulator is gone (its end of the socket closed)
        kind = message[0]
        if kind == "add":
            for key, values in message[1].items():
                aggregates.add(key, values)
            conn.send(True)
        elif kind == "wipe":
            moto_adapter.wipe_account(message[1])
            aggregates.forget(message[1])
            conn.send(True)
        elif kind == "points":
            conn.send(len(moto_adapter.cloudwatch_backend(message[1], message[2]).metric_data))
        elif kind == "stop":
            conn.send(True)
            server.shutdown()
            os._exit(0)


if __name__ == "__main__":
    serve(Connection(int(sys.argv[1])))
