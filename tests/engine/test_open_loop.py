"""Open-loop load on the emulator: the measured throttle share is Erlang-B's."""

from __future__ import annotations

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
from sm_bench_widgets.engine.loads import Invoker, TrialLoad, burst
from sm_bench_widgets.engine.openloop import open_loop, poisson_offsets, trace_offsets
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
