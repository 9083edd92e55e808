"""Load fidelity: what the client records against an endpoint answering after exactly N ms.

A stub endpoint (``sm_bench_widgets.engine.load_stub``, asyncio, its own process, almost
no CPU per request) answers InvokeEndpoint after the service time. Each load-engine
candidate drives it with closed-loop clients for a few seconds per cell:

- ``threads``: today's in-process engine, one thread and one boto3 call per client;
- ``httpx`` and ``aiohttp``: one asyncio loop in-process, botocore's SigV4 signing over
  that async HTTP client (aiohttp is optional: ``pip install aiohttp``);
- ``process``: the engine a run uses, one worker process (``engine/load_process.py``)
  sending on one asyncio loop with aiohttp, each request built and signed by botocore
  (``engine/async_loads.py``);
- ``process-boto3``: the same worker with threads and boto3 calls (used when the user's
  settings need botocore to send: retries, proxies, a client certificate);
- ``2procs``: two worker processes sharing the clients;
- ``threads+busy`` and ``process+busy``: the same while the benchmark's own process
  analyses (pandas summaries and full garbage collections in a loop), as a run does while
  its trials load.

Per cell: p50 and p99 of the recorded latency over the service time, throughput against
the ideal (clients / service time), and client CPU per call. The stub tells how long it
held each request, from reading it to answering; ``stub late`` is how much longer than
asked (its timers wake within about 0.1 ms), and ``client p50/p99`` the client's own part
of each round trip (round trip - what the stub held; this part also holds the time a
request waits for the stub's loop to read it). Targets (issue 12): p50 within 2 ms, p99
within 5 ms, throughput at least 95%.

    python benchmarks/fidelity.py [--quick] [--seconds 6] [--service-ms 50,200]
        [--clients 1,8,32,64,128,200] [--engines threads,async,process,2procs] [--pin]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import os
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sm_bench_widgets.aws.clients import Target  # noqa: E402
from sm_bench_widgets.engine.load_check import (  # noqa: E402
    WAVE_CPU_MS,
    WORKER_UTILISATION,
    load_capacity,
)
from sm_bench_widgets.engine.load_process import Go, LoadProcess, job_for  # noqa: E402
from sm_bench_widgets.engine.load_stub import held_ms, stub_endpoint  # noqa: E402
from sm_bench_widgets.engine.loads import Invoker, TrialLoad, closed_loop  # noqa: E402
from sm_bench_widgets.payloads import PayloadSampler  # noqa: E402

EXAMPLES = [
    {"Body": '{"inputs": "a short sentence to classify"}', "ContentType": "application/json"}
]
PINNED = False  # --pin: this process and the stub on one core, the workers on the others
ENGINES = ("threads", "httpx", "aiohttp", "process", "process-boto3", "2procs")


@dataclass
class Cell:
    """One engine at one service time and client count."""

    engine: str
    service_ms: float
    clients: int
    p50_over: float
    p99_over: float
    throughput: float  # share of the ideal rate
    cpu_ms_per_call: float
    calls: int
    errors: int
    stub_late_ms: float = float("nan")  # p50 of how much longer than asked the stub held
    client_p50: float = float("nan")  # p50 and p99 of the client's part: round trip - held
    client_p99: float = float("nan")

    def meets(self) -> bool:
        return self.p50_over <= 2 and self.p99_over <= 5 and self.throughput >= 0.95

    def client_meets(self) -> bool:
        """The targets read on the client's own part (round trip - what the stub held)."""
        return self.client_p50 <= 2 and self.client_p99 <= 5 and self.throughput >= 0.95

    @property
    def cores_at_ideal(self) -> float:
        """Cores the client's interpreter(s) would be busy at the ideal rate: ideal calls a
        second x CPU per call."""
        return self.clients / (self.service_ms / 1000.0) * self.cpu_ms_per_call / 1000.0

    def limit(self) -> str:
        """Why a missed cell missed, as far as its figures tell: the client's CPU when it
        needs more than WORKER_UTILISATION of a core per interpreter at the ideal rate
        (queueing for the interpreter then grows without bound); the answer wave when the
        clients of one interpreter cost it more than WAVE_CPU_MS of CPU for one round of
        answers (timed one after another); else the machine."""
        if self.meets():
            return ""
        interpreters = 2 if self.engine.startswith("2procs") else 1
        if self.cores_at_ideal > WORKER_UTILISATION * interpreters:
            return "client CPU"
        if self.clients / interpreters * self.cpu_ms_per_call > WAVE_CPU_MS:
            return "answer wave"
        return "shared cores"


def summarize(
    engine: str, service_ms: float, clients: int, rows: list[dict], window: tuple, cpu: float
) -> Cell:
    """A cell from the rows recorded between ``window``'s start and stop."""
    t0, t1 = window
    ok = [r for r in rows if r["outcome"] == "ok"]
    steady = [r["latency_ms"] for r in ok if r["start"] >= t0]
    # each client's rate over the spans between its completions in the window (counting
    # completions in a fixed window over-counts clients that finish in step: 8 clients
    # at 200 ms put 64 completions, not 60, in 1.5 s)
    ends: dict[int, list[float]] = {}
    for r in ok:
        if t0 <= r["end"] <= t1:
            ends.setdefault(r.get("client_id", 0), []).append(r["end"])
    rate = sum((len(e) - 1) / (max(e) - min(e)) for e in ends.values() if max(e) > min(e))
    ideal = clients / (service_ms / 1000.0)
    lat = np.array(steady or [float("nan")])
    told = [r for r in ok if r["start"] >= t0 and r.get("overhead_ms") is not None]
    held = [r["latency_ms"] - r["overhead_ms"] for r in told]  # what the stub says it held
    part = np.array([r["overhead_ms"] for r in told] or [float("nan")])
    return Cell(
        engine,
        service_ms,
        clients,
        float(np.percentile(lat, 50) - service_ms),
        float(np.percentile(lat, 99) - service_ms),
        rate / ideal if ideal else float("nan"),
        cpu * 1000.0 / max(1, len(rows)),
        len(rows),
        len(rows) - len(ok),
        float(np.median(held)) - service_ms if held else float("nan"),
        float(np.percentile(part, 50)),
        float(np.percentile(part, 99)),
    )


def timed_stop(seconds: float, warm: float) -> tuple[threading.Event, list[float]]:
    """An event set after ``seconds``; the list gets the steady window (start, stop)."""
    stop = threading.Event()
    window: list[float] = []

    def later() -> None:
        now = time.time()
        window.append(now + warm)
        time.sleep(seconds)
        window.append(time.time())
        stop.set()

    threading.Thread(target=later, daemon=True).start()
    return stop, window


def invoker(url: str) -> tuple[Target, Invoker]:
    target = Target.for_emulator(url)
    sampler = PayloadSampler(EXAMPLES, seed=1)
    return target, Invoker(target.runtime_client(1), "stub", sampler, {"trial_id": "fidelity"})


def run_threads(url: str, clients: int, seconds: float, warm: float) -> tuple[list, tuple, float]:
    target, inv = invoker(url)
    inv.client = target.runtime_client(clients)
    rows: list[dict] = []
    stop, window = timed_stop(seconds, warm)
    cpu0 = time.process_time()
    closed_loop(inv, clients, TrialLoad(10**9, stop), rows.append)
    return rows, tuple(window), time.process_time() - cpu0


def run_processes(
    url: str, clients: int, seconds: float, warm: float, procs: int = 1, engine: str | None = None
) -> tuple[list, tuple, float]:
    target, inv = invoker(url)
    shares = [clients // procs + (1 if i < clients % procs else 0) for i in range(procs)]
    workers = [LoadProcess(target) for n in shares if n > 0]
    if PINNED:  # each worker on a core of its own, away from the stub and this process
        spare = sorted(os.sched_getaffinity(0) ^ set(range(os.cpu_count() or 1)))
        for i, w in enumerate(workers):
            os.sched_setaffinity(w.process.pid, {spare[i % len(spare)]})
    jobs = [replace(job_for(inv, n), engine=engine) for n in shares if n > 0]
    loads = [w.load(job) for w, job in zip(workers, jobs, strict=True)]
    rows: list[dict] = []
    lock = threading.Lock()

    def sink(row: dict) -> None:
        with lock:
            rows.append(row)

    # a worker's start-up is not load: wait until each sent a first row, then time
    probe = [w.load(replace(job_for(inv, 1), engine=engine)) for w in workers]
    for p in probe:
        p.run(Go(1), lambda row: None)
    stop, window = timed_stop(seconds, warm)
    threads = [
        threading.Thread(target=ld.run, args=(Go(10**9), sink, None, stop.is_set), daemon=True)
        for ld in loads
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for w in workers:
        w.close()
    return rows, tuple(window), sum(ld.cpu_seconds for ld in loads)


def run_async(url: str, clients: int, seconds: float, warm: float) -> tuple[list, tuple, float]:
    """Closed-loop clients on one asyncio loop: botocore signs, httpx sends."""
    import boto3
    import httpx
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest

    session = boto3.Session(
        region_name="us-east-1", aws_access_key_id="stub", aws_secret_access_key="stub"
    )
    credentials = session.get_credentials()
    region = session.region_name
    target_url = f"{url}/endpoints/stub/invocations"
    rows: list[dict] = []
    stop, window = timed_stop(seconds, warm)

    async def main() -> None:
        limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
        async with httpx.AsyncClient(limits=limits, timeout=70) as http:

            async def client(i: int) -> None:
                while not stop.is_set():
                    body = EXAMPLES[0]["Body"].encode()
                    request = AWSRequest(
                        "POST",
                        target_url,
                        data=body,
                        headers={"Content-Type": "application/json"},
                    )
                    SigV4Auth(credentials.get_frozen_credentials(), "sagemaker", region).add_auth(
                        request
                    )
                    start = time.time()
                    t0 = time.perf_counter()
                    outcome = "ok"
                    try:
                        response = await http.post(
                            target_url, content=body, headers=dict(request.headers.items())
                        )
                        await response.aread()
                        if response.status_code != 200:
                            outcome = response.headers.get("x-amzn-ErrorType", "error")
                        held = held_ms(dict(response.headers))
                    except httpx.HTTPError:
                        outcome, held = "error", None
                    latency = (time.perf_counter() - t0) * 1000.0
                    rows.append(
                        {
                            "client_id": i,
                            "start": start,
                            "end": start + latency / 1000.0,
                            "latency_ms": latency,
                            "outcome": outcome,
                            "overhead_ms": None if held is None else latency - held,
                        }
                    )

            await asyncio.gather(*(client(i) for i in range(clients)))

    cpu0 = time.process_time()
    asyncio.run(main())
    return rows, tuple(window), time.process_time() - cpu0


def run_aiohttp(url: str, clients: int, seconds: float, warm: float) -> tuple[list, tuple, float]:
    """Closed-loop clients on one asyncio loop: botocore signs, aiohttp sends."""
    import aiohttp
    import boto3
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest

    session = boto3.Session(
        region_name="us-east-1", aws_access_key_id="stub", aws_secret_access_key="stub"
    )
    credentials = session.get_credentials()
    region = session.region_name
    target_url = f"{url}/endpoints/stub/invocations"
    rows: list[dict] = []
    stop, window = timed_stop(seconds, warm)

    async def main() -> None:
        connector = aiohttp.TCPConnector(limit=clients)
        timeout = aiohttp.ClientTimeout(total=70)
        async with aiohttp.ClientSession(connector=connector, timeout=timeout) as http:

            async def client(i: int) -> None:
                while not stop.is_set():
                    body = EXAMPLES[0]["Body"].encode()
                    request = AWSRequest(
                        "POST", target_url, data=body, headers={"Content-Type": "application/json"}
                    )
                    SigV4Auth(credentials.get_frozen_credentials(), "sagemaker", region).add_auth(
                        request
                    )
                    start = time.time()
                    t0 = time.perf_counter()
                    outcome = "ok"
                    try:
                        async with http.post(
                            target_url, data=body, headers=dict(request.headers.items())
                        ) as response:
                            await response.read()
                            if response.status != 200:
                                outcome = response.headers.get("x-amzn-ErrorType", "error")
                            held = held_ms(dict(response.headers))
                    except aiohttp.ClientError:
                        outcome, held = "error", None
                    latency = (time.perf_counter() - t0) * 1000.0
                    rows.append(
                        {
                            "client_id": i,
                            "start": start,
                            "end": start + latency / 1000.0,
                            "latency_ms": latency,
                            "outcome": outcome,
                            "overhead_ms": None if held is None else latency - held,
                        }
                    )

            await asyncio.gather(*(client(i) for i in range(clients)))

    cpu0 = time.process_time()
    asyncio.run(main())
    return rows, tuple(window), time.process_time() - cpu0


class Busy:
    """Analysis in this process while the load runs: pandas summaries and full
    collections over a heap of a few hundred thousand objects, in a loop."""

    def __init__(self) -> None:
        import pandas as pd

        self.pd = pd
        self.heap = [{"a": [i], "b": (i, str(i))} for i in range(300_000)]
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._loop, daemon=True)

    def _loop(self) -> None:
        frame = self.pd.DataFrame({"x": np.random.default_rng(1).normal(size=200_000)})
        while not self.stop.is_set():
            frame["x"].rolling(50).quantile(0.99).sum()
            gc.collect()
            sum(len(str(d)) for d in self.heap[:20_000])

    def __enter__(self) -> Busy:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join()


RUNNERS: dict[str, Callable] = {
    "threads": run_threads,
    "httpx": run_async,
    "aiohttp": run_aiohttp,
    "process": run_processes,
    "process-boto3": lambda *a: run_processes(*a, engine="boto3"),
    "2procs": lambda *a: run_processes(*a, procs=2),
}


def measure(
    engines: list[str], services: list[float], clients: list[int], seconds: float, busy: list[int]
) -> list[Cell]:
    """Every cell, printed as it is measured."""
    cells: list[Cell] = []
    missing: set[str] = set()
    for service_ms in services:
        with stub_endpoint(service_ms) as stub:
            for n in clients:
                plan = [(e, e) for e in engines]
                if n in busy:
                    plan += [("threads+busy", "threads"), ("process+busy", "process")]
                for label, engine in plan:
                    if engine in missing:
                        continue
                    warm = max(0.5, 3 * service_ms / 1000.0)
                    try:
                        with Busy() if label.endswith("+busy") else contextlib.nullcontext():
                            rows, window, cpu = RUNNERS[engine](stub.url, n, seconds, warm)
                    except ImportError as exc:
                        missing.add(engine)
                        print(f"{engine}: skipped, {exc.name} is not installed", flush=True)
                        continue
                    cell = summarize(label, service_ms, n, rows, window, cpu)
                    cells.append(cell)
                    print(line(cell), flush=True)
    return cells


HEADER = (
    f"{'engine':<13} {'service':>7} {'clients':>7} {'p50 over':>9} {'p99 over':>9} "
    f"{'thru/ideal':>10} {'cpu/call':>9} {'cores@ideal':>11} {'calls':>6} {'stub late':>9} "
    f"{'client p50/p99':>15}  target"
)


def line(c: Cell) -> str:
    """One row of the table."""
    return (
        f"{c.engine:<13} {c.service_ms:>5.0f}ms {c.clients:>7} {c.p50_over:>+7.1f}ms "
        f"{c.p99_over:>+7.1f}ms {c.throughput:>9.0%} {c.cpu_ms_per_call:>7.2f}ms "
        f"{c.cores_at_ideal:>11.2f} {c.calls:>6} {c.stub_late_ms:>+7.2f}ms "
        f"{c.client_p50:>+6.1f}/{c.client_p99:>+5.1f}ms  "
        f"{'met' if c.meets() else 'missed: ' + c.limit()}"
        + (f" ({c.errors} errors)" if c.errors else "")
    )


def main(argv: list[str] | None = None) -> int:
    """Measure and print the fidelity table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--quick", action="store_true", help="a rough table in about a minute (8 and 200 clients)"
    )
    parser.add_argument("--seconds", type=float, default=6.0, help="steady seconds per cell")
    parser.add_argument("--service-ms", default="50,200")
    parser.add_argument("--clients", default="1,8,32,64,128,200")
    parser.add_argument("--engines", default=",".join(ENGINES))
    parser.add_argument("--busy", default="8,64", help="client counts also run with analysis")
    parser.add_argument(
        "--pin",
        action="store_true",
        help="run this process and the stub on core 0 and each worker on another core, so a "
        "worker's figures do not wait for the stub's core (process engines only)",
    )
    args = parser.parse_args(argv)
    if args.pin:
        global PINNED
        if (os.cpu_count() or 1) < 2:
            parser.error("--pin needs at least 2 cores")
        os.sched_setaffinity(0, {0})
        PINNED = True
    clients = [int(x) for x in args.clients.split(",")]
    seconds = args.seconds
    busy = [int(x) for x in args.busy.split(",") if x]
    engines = args.engines.split(",")
    if args.quick:
        clients, seconds, busy = [8, 200], 1.5, [8]
        engines = [e for e in engines if e in ("threads", "process", "process-boto3")]
    print(f"fidelity on {os.cpu_count()} cores (measured while other work may run)")
    print(HEADER)
    cells = measure(
        engines,
        [float(x) for x in args.service_ms.split(",")],
        clients,
        seconds,
        busy,
    )
    met = sum(c.meets() for c in cells)
    print(f"targets met in {met} of {len(cells)} cells")
    own = [c for c in cells if c.client_meets()]
    late = np.nanmedian([c.stub_late_ms for c in cells])
    print(
        f"on the client's own part (round trip - what the stub held; the stub held a median "
        f"{late:+.2f} ms over the service time): met in {len(own)} of {len(cells)} cells"
    )
    limits = Counter(c.limit() for c in cells)
    print(
        f"missed for client CPU: {limits['client CPU']} (the ideal rate x CPU per call needs "
        f"more than {WORKER_UTILISATION:.0%} of a core per interpreter); for the answer wave: "
        f"{limits['answer wave']} (an interpreter's clients x CPU per call pass "
        f"{WAVE_CPU_MS:g} ms); on shared cores: {limits['shared cores']} (the client, the "
        f"stub and other work share {os.cpu_count()} cores: the figures include waiting "
        "for a core)"
    )
    worker = [c.cpu_ms_per_call for c in cells if c.engine == "process" and c.clients >= 8]
    if worker:
        cpu = float(np.median(worker))
        fits = ", ".join(f"{s:g} ms: {load_capacity(s, cpu)}" for s in (50, 200))
        print(
            f"per-host projection: the worker spent {cpu:.2f} ms of CPU per call (median); "
            f"kept at most half busy on one core, and a wave of answers within "
            f"{WAVE_CPU_MS:g} ms of its CPU, it drives this many clients ({fits}); more "
            "clients belong on more hosts"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
