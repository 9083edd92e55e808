"""The fixed-latency stub answers InvokeEndpoint after its latency, says how long it held
each request, and reads requests however their bytes arrive."""

from __future__ import annotations

import http.client
import socket
import time
from urllib.parse import urlsplit

from sm_bench_widgets.engine.load_stub import HELD_HEADER, held_ms, stub_endpoint

LATENCY_MS = 30.0


def test_invocations_are_held_for_the_latency_and_say_so():
    with stub_endpoint(LATENCY_MS) as stub:
        address = urlsplit(stub.url)
        connection = http.client.HTTPConnection(address.hostname, address.port, timeout=30)
        for _ in range(3):  # one keep-alive connection
            t0 = time.perf_counter()
            connection.request("POST", "/endpoints/e/invocations", body=b'{"x": 1}')
            answer = connection.getresponse()
            body = answer.read()
            round_trip_ms = (time.perf_counter() - t0) * 1000.0
            held = held_ms({k.lower(): v for k, v in answer.getheaders()})
            assert answer.status == 200 and body == b'{"stub": true}'
            assert held is not None and LATENCY_MS <= held <= round_trip_ms
        connection.request("GET", "/ping")
        answer = connection.getresponse()
        answer.read()
        assert answer.status == 404
        connection.close()


def test_a_request_split_over_writes_and_two_in_one_write_are_both_answered():
    request = b"POST /endpoints/e/invocations HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\n1234"
    with stub_endpoint(LATENCY_MS) as stub:
        address = urlsplit(stub.url)
        with socket.create_connection((address.hostname, address.port), timeout=30) as sock:
            sock.sendall(request[:20])
            sock.sendall(request[20:-2])
            sock.sendall(request[-2:] + request)
            received = b""
            while received.count(HELD_HEADER.encode()) < 2:
                chunk = sock.recv(4096)
                assert chunk, "the stub closed the connection"
                received += chunk
        assert received.count(b"HTTP/1.1 200 OK") == 2
