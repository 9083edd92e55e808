"""Each run measures what its own client added to the figures, and warns when it distorts."""

from __future__ import annotations

import os
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from sm_bench_widgets.api import run_benchmark
from sm_bench_widgets.aws.clients import Target
from sm_bench_widgets.engine.load_check import OVERHEAD_LIMIT, WAVE_CPU_MS, load_capacity
from sm_bench_widgets.engine.load_stub import stub_endpoint
from sm_bench_widgets.engine.loads import Invoker
from sm_bench_widgets.engine.options import RunOptions
from sm_bench_widgets.payloads import PayloadSampler
from sm_bench_widgets.result import BenchmarkResult
from sm_bench_widgets.widgets import BenchmarkPanel

from .helpers import small_config

STUB_MS = 20


@pytest.fixture
def runtime_on_a_stub(emulator, monkeypatch):
    """The control plane at the emulator, the runtime alone at a fixed-latency stub,
    through botocore's own endpoint settings."""
    for name in list(os.environ):
        if name.startswith("AWS_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ENDPOINT_URL", emulator.endpoint_url)
    with stub_endpoint(STUB_MS) as stub:
        monkeypatch.setenv("AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME", stub.url)
        yield stub


def test_a_run_records_its_client_overhead_and_warns_past_the_limit(runtime_on_a_stub, tmp_path):
    config = small_config(tmp_path, stability_benchmark_invocations=40, adaptive=False)
    options = RunOptions(cloudwatch_wait=0.5, endpoint_poll=0.2)
    result = run_benchmark(config, Target.from_environment(), options=options, progress=False)
    inv = result.invocations
    assert len(inv) == 40 and set(inv["outcome"]) == {"ok"}
    # the runtime went to the stub (its latency, not the emulator's model's)
    assert inv["latency_ms"].min() >= STUB_MS
    overhead = result.client_overhead
    assert overhead is not None and overhead.samples == 39  # the cold probe left out
    assert 0 <= overhead.p50_ms <= overhead.p99_ms
    assert overhead.p50_latency_ms >= STUB_MS
    assert result.meta()["client_overhead"]["samples"] == 39

    # the same rows, had the client added a tenth of each latency: warned, with the fix
    rows = inv.copy()
    rows["overhead_ms"] = rows["latency_ms"] * 2 * OVERHEAD_LIMIT
    result.invocations = rows
    assert result.client_overhead.distorting
    text = result.summary_text()
    assert "load generator added" in text and "Processing job with more hosts" in text
    assert any("fewer clients per host" in n for n in result.notes)
    # on the emulator the latencies are its own account of its time: not in them, no warning
    emulated = BenchmarkResult(result.config, rows, emulated=True)
    assert emulated.client_overhead.share > OVERHEAD_LIMIT
    assert not emulated.client_overhead.distorting
    assert not any("load generator" in n for n in emulated.notes)
    # and the panel says so where it tells how the run ended
    panel = BenchmarkPanel(target=Target.from_environment(), result_save_path=str(tmp_path))
    panel.show(result)
    assert "load generator added" in panel.progress.status.value
    assert "fewer clients per host" in panel.progress.status.value


def test_load_capacity_is_the_clients_a_half_busy_worker_drives_in_one_wave():
    # 500 calls a second at 1 ms of CPU each keep one worker half busy
    assert load_capacity(50, cpu_ms_per_call=1.0) == 25
    assert load_capacity(1, cpu_ms_per_call=5.0) == 1
    # at 200 ms, 200 clients at 0.5 ms would keep it half busy, but a wave of their
    # answers would cost 100 ms of its CPU: 70 clients' cost WAVE_CPU_MS
    assert load_capacity(200, cpu_ms_per_call=0.5) == int(WAVE_CPU_MS / 0.5) == 70
    assert load_capacity(60_000, cpu_ms_per_call=0.5) == 70
    with pytest.raises(ValueError):
        load_capacity(0, cpu_ms_per_call=1.0)


class SlowServer(ThreadingHTTPServer):
    """Answers InvokeEndpoint after 20 ms and tells nothing of its time, as AWS."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Slow)


class _Slow(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        time.sleep(STUB_MS / 1000.0)
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args: object) -> None:
        pass


def test_a_server_that_tells_nothing_still_gets_the_clients_part_from_the_wire():
    server = SlowServer()
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        target = Target.for_emulator(f"http://127.0.0.1:{server.server_address[1]}")
        sampler = PayloadSampler([{"Body": "1", "ContentType": "text/csv"}], seed=1)
        invoker = Invoker(target.runtime_client(1), "ep", sampler, {"trial_id": "t"})
        rows = [invoker.invoke() for _ in range(5)]
    finally:
        server.shutdown()
    for row in rows:
        assert row["outcome"] == "ok" and row["overhead_ms"] is not None
        # the server's 20 ms are on the wire, not in the client's part
        assert row["overhead_ms"] >= 0 and row["latency_ms"] - row["overhead_ms"] >= STUB_MS
