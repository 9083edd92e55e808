"""A local HTTP server answering InvokeEndpoint that records what clients send."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Recorder(ThreadingHTTPServer):
    """A local server answering InvokeEndpoint, recording requests (method, path, headers,
    body) and connections.

    ``hold`` requests wait until that many are in flight (clients really concurrent);
    ``throttle`` answers every request with a ThrottlingException; while ``release`` is
    clear, answers wait for it.
    """

    daemon_threads = True
    request_queue_size = 512  # every client connects at once

    def __init__(self, hold: int = 0, throttle: bool = False):
        super().__init__(("127.0.0.1", 0), Handler)
        self.paths: list[str] = []
        self.requests: list[tuple[str, str, dict[str, str], bytes]] = []  # method, path, ...
        self.connections: set[int] = set()
        self.throttle = throttle
        self.gate = threading.Barrier(hold) if hold > 1 else None
        self.release = threading.Event()
        self.release.set()
        self.lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: connections are reused by the pool

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        server: Recorder = self.server  # type: ignore[assignment]
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        with server.lock:
            server.paths.append(self.path)
            server.requests.append((self.command, self.path, dict(self.headers.items()), body))
            server.connections.add(self.client_address[1])
        if server.gate is not None:
            server.gate.wait(timeout=60)
        server.release.wait(timeout=60)
        if server.throttle:
            body = json.dumps({"message": "slow down"}).encode()
            self.send_response(400)
            self.send_header("x-amzn-ErrorType", "ThrottlingException")
        else:
            body = b'{"ok": true}'
            self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def serve(**kwargs: object) -> Recorder:
    server = Recorder(**kwargs)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server
