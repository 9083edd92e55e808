"""Open-loop load on the emulator: the measured throttle share is Erlang-B's."""

from __future__ import annotations

import dataclasses
import math
import os
import threading
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import sm_bench_widgets
from sm_bench_widgets.analysis import traffic
from sm_bench_widgets.aws.clients import Target
from sm_bench_widgets.aws.endpoints import EndpointSpec, create_endpoint, wait_endpoints
from sm_bench_widgets.emulator import DEMO_PROFILES
from sm_bench_widgets.emulator.process import served
from sm_bench_widgets.engine.load_process import LoadProcess, job_for, run_closed_loop
from sm_bench_widgets.engine.loads import Invoker, TrialLoad, burst
from sm_bench_widgets.engine.openloop import (
    busiest_stretch,
    open_loop,
    poisson_offsets,
    trace_offsets,
    trace_replay_offsets,
)
from sm_bench_widgets.payloads import PayloadSampler

# demo-nlp at 2048 MB: about 315 ms a request, 63 ms of wall time at a time scale of 0.2.
# Ten servers at 6 Erlangs block 4.3%; with many servers the share depends less on the
# machine's timing (d ln B / d ln E = c/E - 1 + B = 0.71, against 1.7 for 4 at 1.5).
MODEL = "demo-nlp"
TIME_SCALE = 0.2
MAX_CONCURRENCY = 10
OFFERED = 6.0
REQUESTS = 3000
BATCHES = 20


def test_poisson_and_trace_offsets():
    gaps = np.diff(poisson_offsets(10.0, 20_000, seed=1))
    assert gaps.mean() == pytest.approx(0.1, rel=0.03)
    assert gaps.std() == pytest.approx(0.1, rel=0.03)  # exponential: sd = mean
    # a trace whose second minute is 3x the first, squeezed into 60 s
    offsets = trace_offsets([100, 300], 60.0, 4000, seed=2)
    first = (offsets < 30).sum()
    assert len(offsets) == pytest.approx(4000, rel=0.05)
    assert (len(offsets) - first) / first == pytest.approx(3.0, rel=0.1)
    assert np.all(np.diff(offsets) >= 0)


@pytest.fixture(scope="module")
def own_process_emulator():
    # in a process of its own, so that the load's threads and the emulator's do not share
    # one interpreter; no instance is reclaimed mid-trial
    root = str(Path(sm_bench_widgets.__file__).resolve().parents[1])
    with pytest.MonkeyPatch.context() as patch:  # the process runs this checkout's code
        patch.setenv(
            "PYTHONPATH", os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")]))
        )
        with served("--idle-timeout", "36000", time_scale=TIME_SCALE, seed=11) as emu:
            yield emu


def test_open_loop_throttle_share_matches_erlang_b(own_process_emulator):
    target = Target.for_emulator(own_process_emulator.url)
    spec = EndpointSpec(MODEL, 2048, MAX_CONCURRENCY)
    name = "open-loop-erlang-c4"
    create_endpoint(target, spec, name, "run-openloop")
    assert wait_endpoints(target, [name], timeout=120)[name].status == "InService"
    labels = {
        "trial_id": "open-c4",
        "phase": "open_loop",
        "memory_size": 2048,
        "max_concurrency": MAX_CONCURRENCY,
        "provisioned_concurrency": 0,
    }
    sampler = PayloadSampler([{"Body": "1,2,3", "ContentType": "text/csv"}], seed=5)
    invoker = Invoker(target.client("sagemaker-runtime"), name, sampler, labels)
    warm_up = burst(invoker, MAX_CONCURRENCY)  # every instance started before the trial
    assert all(r["outcome"] == "ok" for r in warm_up)
    profile = DEMO_PROFILES[MODEL]
    mean_ms = profile.median_service_ms(2048) * math.exp(profile.sigma**2 / 2)
    rate = OFFERED / (mean_ms / 1000.0)  # requests per second on the service's clock
    rows: list[dict] = []
    lock = threading.Lock()

    def sink(row):
        with lock:
            rows.append(row)

    load = TrialLoad(REQUESTS, threading.Event())
    stats = open_loop(
        invoker, poisson_offsets(rate, REQUESTS, seed=3), load, sink, time_scale=TIME_SCALE
    )
    assert stats.sent == REQUESTS == len(rows)
    inv = pd.DataFrame(rows).sort_values("start", ignore_index=True)
    assert set(inv["outcome"]) <= {"ok", "throttled"}
    check = traffic.throttle_check(inv).iloc[0]
    # the model is fed the measured rate and service time, as a report shows it
    assert check["rate_rps"] == pytest.approx(rate, rel=0.1)
    predicted = check["predicted_throttle_share"]
    measured = check["measured_throttle_share"]
    # throttles come in clusters, so the binomial error understates the spread: the
    # standard error comes from the shares of consecutive batches (batch means)
    throttled = (inv["outcome"] == "throttled").to_numpy(dtype=float)
    shares = [b.mean() for b in np.array_split(throttled, BATCHES)]
    se = float(np.std(shares, ddof=1) / math.sqrt(BATCHES))
    # How long a request holds its instance lies between the service time the emulator
    # states and the client's round trip (HTTP and the machine's scheduling included);
    # on a quiet machine the two agree within a few percent.
    held_ms = stats.mean_round_trip_ms / TIME_SCALE
    upper = traffic.erlang_b(check["rate_rps"] * held_ms / 1000.0, MAX_CONCURRENCY)
    print(
        f"open loop: {REQUESTS} requests at {check['rate_rps']:.2f}/s, "
        f"E[S] {check['mean_service_ms']:.1f} ms (round trip {held_ms:.1f} ms), "
        f"load {check['offered_load']:.3f}; Erlang-B {predicted:.4f} "
        f"(at the round trip {upper:.4f}), measured {measured:.4f} "
        f"(batch-means SE {se:.4f}, binomial SE {check['standard_error']:.4f}); "
        f"late {stats.late}, max late {stats.max_late_ms:.1f} ms"
    )
    assert 0.02 < predicted < 0.09
    # 4.5 standard errors each side: a false alarm about once in 300,000 runs
    assert predicted - 4.5 * se <= measured <= upper + 4.5 * se


def test_trace_replay_keeps_the_busiest_stretch_at_the_peak_rate():
    # a quiet day with a busy hour: minutes 10-12 hold the peak (120/min), the rest 6/min
    per_minute = [6.0] * 30
    per_minute[10:13] = [60.0, 120.0, 90.0]
    assert busiest_stretch(per_minute, 100) == (11, 12)
    assert busiest_stretch(per_minute, 250) == (10, 13)
    assert busiest_stretch(per_minute, 10_000) == (0, 30)
    # the peak minute arrives at 4 req/s: 40 requests in its 10 s, 20 and 30 beside it
    offsets = trace_replay_offsets(per_minute, 4.0, 90, minute_s=10.0, seed=3)
    assert len(offsets) == pytest.approx(90, abs=25)
    counts = np.histogram(offsets, bins=[0, 10, 20, 30])[0]
    assert counts[0] < counts[1] and counts[2] < counts[1]
    many = trace_replay_offsets(per_minute, 4.0, 9000, minute_s=10.0, seed=4)
    assert np.histogram(many, bins=np.arange(0, 310, 10))[0].max() == pytest.approx(40, rel=0.4)


def test_open_loop_job_in_the_load_worker(own_process_emulator):
    # the dispatcher runs in the worker process: rows come back marked open loop, the
    # budget holds, and the worker says how well it kept the arrival times
    target = Target.for_emulator(own_process_emulator.url)
    name = "open-loop-worker"
    create_endpoint(target, EndpointSpec(MODEL, 2048, 4), name, "run-openloop")
    assert wait_endpoints(target, [name], timeout=120)[name].status == "InService"
    labels = {"trial_id": "open-w", "phase": "open_loop", "memory_size": 2048}
    sampler = PayloadSampler([{"Body": "1,2,3", "ContentType": "text/csv"}], seed=5)
    invoker = Invoker(target.client("sagemaker-runtime"), name, sampler, labels)
    offsets = poisson_offsets(10.0, 200, seed=7)
    worker = LoadProcess(target)
    try:
        job = dataclasses.replace(
            job_for(invoker, 16), offsets=tuple(offsets), time_scale=TIME_SCALE
        )
        load_in_worker = worker.load(job)
        rows: list[dict] = []
        load = TrialLoad(150, threading.Event())
        run_closed_loop(load_in_worker, load, rows.append)
    finally:
        worker.close()
    assert len(rows) == 150 == load.issued  # the budget ends it before the offsets do
    assert {r["phase"] for r in rows} == {"open_loop"}
    stats = load_in_worker.open_loop
    assert stats is not None and stats.sent == 150 and stats.answered >= 1
    starts = np.sort([r["start"] for r in rows])
    # sent at the arrival times, on the service's clock: ~10 a second
    assert (len(starts) - 1) / (starts[-1] - starts[0]) == pytest.approx(10.0, rel=0.25)
