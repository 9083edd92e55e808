"""The load path's self-check: what the client added to the figures, and how many clients
one host drives faithfully.

Every row tells ``overhead_ms``: the client's round trip minus the time the server says
it held the request (the emulator, the fidelity stub), or else minus its time on the wire
(botocore's events: sent to answered; on AWS a lower bound, as a client too busy to read
an answer that came counts it on the wire). ``client_overhead`` sums it up for a result
and warns when the client's part passes 5% of the p50 latency.
``load_capacity`` is the per-host capacity: the clients one load worker drives while it
stays at most half busy and a wave of answers costs it at most ``WAVE_CPU_MS``, from its
CPU per call (measured against the stub by ``calibrate``, once per process); a
Processing job splits bigger trials over hosts.
"""

from __future__ import annotations

import functools
import math
import threading
from dataclasses import dataclass

import pandas as pd

# the client's share of the p50 latency past which figures are distorted
OVERHEAD_LIMIT = 0.05
# the busy share of the load worker up to which it adds next to no queueing of its own
WORKER_UTILISATION = 0.5
# the worker's CPU for one wave of answers up to which the p99 stays within 5 ms of the
# service time. Clients in step get their answers together and one loop times them one
# after another, so the last waits for the others' share of the loop: at 200 ms,
# benchmarks/fidelity.py measured +3.2 ms at 64 clients x 0.51 ms of CPU per call (33 ms
# a wave) and +6.9 ms at 128 x 0.53 ms (68 ms), at a sixth and a third of a core.
WAVE_CPU_MS = 35.0


@dataclass(frozen=True)
class ClientOverhead:
    """What the client added to the recorded latencies of a run (its ok invocations)."""

    p50_ms: float
    p99_ms: float
    p50_latency_ms: float
    samples: int
    # False when the recorded latencies are a server's own account of its time (the
    # emulator's): the client's part is then not in them, only in each client's pace
    in_latency: bool = True

    @property
    def share(self) -> float:
        """The client's part of the p50 latency."""
        return self.p50_ms / self.p50_latency_ms if self.p50_latency_ms > 0 else math.nan

    @property
    def distorting(self) -> bool:
        """True when the client's part is in the latencies and passes ``OVERHEAD_LIMIT``
        of the p50 latency."""
        return self.in_latency and self.share > OVERHEAD_LIMIT

    @property
    def warning(self) -> str:
        """What to say about it (``""`` when it does not distort the figures)."""
        if not self.distorting:
            return ""
        return (
            f"The load generator added {self.p50_ms:.1f} ms at p50 ({self.share:.0%} of the "
            f"p50 latency, over {OVERHEAD_LIMIT:.0%}) and {self.p99_ms:.1f} ms at p99: the "
            "figures include the client's own queueing. Run it as a Processing job with "
            "more hosts, or with fewer clients per host."
        )

    def to_dict(self) -> dict[str, float | int | str]:
        """The figures as plain values (result exports)."""
        return {
            "p50_ms": self.p50_ms,
            "p99_ms": self.p99_ms,
            "p50_latency_ms": self.p50_latency_ms,
            "share": self.share,
            "samples": self.samples,
            "in_latency": self.in_latency,
            "warning": self.warning,
        }


def client_overhead(invocations: pd.DataFrame, emulated: bool = False) -> ClientOverhead | None:
    """The client's part of the ok, warm invocations' round trips; None when no row
    tells it (rows of older runs). ``emulated``: the latencies are the emulator's account
    of its time, which the client's part does not enter."""
    if invocations.empty or "overhead_ms" not in invocations.columns:
        return None
    ok = invocations[(invocations["outcome"] == "ok") & ~invocations["cold"].astype(bool)]
    told = pd.to_numeric(ok["overhead_ms"], errors="coerce")
    mask = told.notna()
    if not mask.any():
        return None
    overhead = told[mask].clip(lower=0)
    latency = pd.to_numeric(ok.loc[mask, "latency_ms"], errors="coerce")
    return ClientOverhead(
        p50_ms=float(overhead.quantile(0.5)),
        p99_ms=float(overhead.quantile(0.99)),
        p50_latency_ms=float(latency.quantile(0.5)),
        samples=int(mask.sum()),
        in_latency=not emulated,
    )


def load_capacity(service_ms: float, cpu_ms_per_call: float | None = None) -> int:
    """Clients one host's load worker drives faithfully at ``service_ms`` per request.

    Closed-loop clients send ``clients / service time`` calls a second; at ``cpu_ms_per_call``
    the worker is busy that share of one core (one interpreter), and it is kept at most
    ``WORKER_UTILISATION`` busy. The clients' answers can come in one wave, timed one
    after another, so their CPU is also kept within ``WAVE_CPU_MS``: that bound is the
    lower one from about 70 ms per request. ``cpu_ms_per_call`` defaults to
    ``calibrate()``'s.
    """
    cpu = cpu_ms_per_call if cpu_ms_per_call is not None else calibrate()
    if service_ms <= 0 or cpu <= 0:
        raise ValueError("service_ms and cpu_ms_per_call must be positive")
    busy = WORKER_UTILISATION * service_ms / cpu
    return max(1, int(min(busy, WAVE_CPU_MS / cpu)))


_calibrating = threading.Lock()


@functools.lru_cache(maxsize=1)
def calibrate(clients: int = 8, invocations: int = 400, service_ms: float = 5.0) -> float:
    """CPU ms the load worker spends per call on this host, measured once per process
    against the fixed-latency stub (a second or two)."""
    from sm_bench_widgets.aws.clients import Target
    from sm_bench_widgets.engine.load_process import LoadProcess, job_for, run_closed_loop
    from sm_bench_widgets.engine.load_stub import stub_endpoint
    from sm_bench_widgets.engine.loads import Invoker, TrialLoad
    from sm_bench_widgets.payloads import PayloadSampler

    with _calibrating, stub_endpoint(service_ms) as stub:
        target = Target.for_emulator(stub.url)
        sampler = PayloadSampler([{"Body": "{}", "ContentType": "application/json"}], seed=1)
        invoker = Invoker(target.runtime_client(clients), "calibration", sampler, {})
        worker = LoadProcess(target)
        try:
            warm = worker.load(job_for(invoker, clients))
            run_closed_loop(warm, TrialLoad(clients, threading.Event()), lambda row: None)
            load = worker.load(job_for(invoker, clients))
            run_closed_loop(load, TrialLoad(invocations, threading.Event()), lambda row: None)
        finally:
            worker.close()
        return load.cpu_seconds * 1000.0 / max(1, load.issued)
