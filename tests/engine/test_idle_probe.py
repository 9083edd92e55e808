"""The idle-reclaim probe's schedule and estimate, with known answers.

The probe's requests go through a real ``Invoker`` whose runtime client is stubbed
(botocore's Stubber): each answer states its service time as the local emulator does, so
the test decides which idle gap met a reclaimed instance.
"""

from __future__ import annotations

import io
import threading

import pandas as pd
import pytest
from botocore.response import StreamingBody
from botocore.stub import Stubber

from sm_bench_widgets.analysis import traffic
from sm_bench_widgets.analysis.pricing import get_prices
from sm_bench_widgets.aws.clients import Target
from sm_bench_widgets.engine.idle_probe import PHASE, idle_gaps, probe_idle_window
from sm_bench_widgets.engine.loads import Invoker
from sm_bench_widgets.payloads import PayloadSampler

WARM_MS = 300.0
COLD_MS = 7300.0  # a 7 s cold start on top


def test_gaps_double_from_a_minute_up_to_the_longest_asked():
    assert idle_gaps(600.0) == [60.0, 120.0, 240.0, 480.0, 960.0]
    assert idle_gaps(480.0) == [60.0, 120.0, 240.0, 480.0]
    assert idle_gaps(60.0) == [60.0]
    assert idle_gaps(61.0) == [60.0, 120.0]
    assert idle_gaps(100.0, first_s=10.0) == [10.0, 20.0, 40.0, 80.0, 160.0]
    for bad in ((0.0,), (-1.0,), (60.0, 0.0)):
        with pytest.raises(ValueError):
            idle_gaps(*bad)


def _answer(service_ms: float) -> dict:
    body = b"[0.5]"
    return {
        "Body": StreamingBody(io.BytesIO(body), len(body)),
        "ContentType": "application/json",
        "ResponseMetadata": {
            "HTTPStatusCode": 200,
            "HTTPHeaders": {
                "x-sm-bench-emulated": "1",
                "x-sm-bench-time-scale": "1.0",
                "x-sm-bench-model-latency-us": str(int(service_ms * 1000)),
                "x-sm-bench-overhead-latency-us": "0",
            },
        },
    }


def _probe(window_s: float, gaps: list[float]) -> tuple[tuple[float, float | None], list[dict]]:
    """Run the probe against a stubbed endpoint that reclaims an instance idle longer than
    ``window_s``; the answers are queued in the order the probe must ask for them."""
    client = Target.for_emulator("http://127.0.0.1:9").client("sagemaker-runtime")
    stub = Stubber(client)
    stub.add_response("invoke_endpoint", _answer(COLD_MS))  # the first request starts it
    stub.add_response("invoke_endpoint", _answer(WARM_MS))  # the warm reference
    for gap in gaps:
        cold = gap > window_s
        stub.add_response("invoke_endpoint", _answer(COLD_MS if cold else WARM_MS))
        if cold:
            break  # the probe stops at the first cold one
    sampler = PayloadSampler([{"Body": "1,2,3", "ContentType": "text/csv"}], seed=1)
    invoker = Invoker(client, "probe", sampler, {"trial_id": "idle", "memory_size": 2048})
    rows: list[dict] = []
    with stub:
        found = probe_idle_window(invoker, gaps, rows.append, threading.Event(), 1e-4)
        stub.assert_no_pending_responses()
    return found, rows


def test_probe_finds_the_window_between_the_last_warm_and_first_cold_gap():
    gaps = idle_gaps(4 * 150.0)  # 60, 120, 240, 480, 960 s
    found, rows = _probe(300.0, gaps)
    assert found == (240.0, 480.0)
    assert [r["phase"] for r in rows] == [PHASE] * 6  # no request after the first cold one
    assert [r["cold"] for r in rows] == [True, False, False, False, False, True]
    assert all(r["outcome"] == "ok" for r in rows)
    # an instance never reclaimed within the gaps: warm after the longest, no cold bound
    assert _probe(10_000.0, gaps)[0] == (960.0, None)
    # reclaimed within the first minute: no gap found it warm
    found, rows = _probe(30.0, gaps)
    assert found == (0.0, 60.0) and len(rows) == 3


def _rows_with_gaps(gaps: list[float], cold: list[bool]) -> pd.DataFrame:
    """Probe rows (service clock) whose requests follow the previous answer by ``gaps``."""
    rows, t = [], 0.0
    for i, (gap, is_cold) in enumerate(zip([0.0, 0.0, *gaps], [True, False, *cold], strict=True)):
        start = t + gap
        latency = COLD_MS if is_cold else WARM_MS
        rows.append(
            {
                "trial_id": "idle",
                "phase": PHASE,
                "memory_size": 2048,
                "provisioned_concurrency": 0,
                "start": start,
                "end": start + latency / 1000.0,
                "latency_ms": latency,
                "outcome": "ok",
                "cold": is_cold,
                "client_id": i,
            }
        )
        t = rows[-1]["end"]
    return pd.DataFrame(rows)


def test_estimate_reads_the_window_from_the_probe_rows_and_feeds_the_cold_share():
    rows = _rows_with_gaps([60.0, 120.0, 240.0, 480.0], [False, False, False, True])
    assert traffic.measured_idle_window(rows) == pytest.approx((240.0, 480.0))
    assert traffic.measured_idle_window(rows.iloc[:2]) is None  # no gap probed
    first_cold = _rows_with_gaps([60.0], [True])
    assert traffic.measured_idle_window(first_cold) == pytest.approx((0.0, 60.0))

    # the answer's cold-start estimate takes the longest gap found warm (the cautious
    # window), or half the first gap when even that found the instance cold
    stability = pd.DataFrame(
        {
            "phase": "stability",
            "memory_size": 2048,
            "provisioned_concurrency": 0,
            "outcome": "ok",
            "cold": False,
            "latency_ms": WARM_MS,
            "start": range(50),
        }
    )
    needs = traffic.TrafficNeeds(average_rps=0.01, peak_rps=1.0, idle_window_s=600.0)
    cold_starts = pd.DataFrame(
        [{"memory_size": 2048, "provisioned_concurrency": 0, "cold_penalty_ms": 7000.0}]
    )
    for probe, window in ((rows, 240.0), (first_cold, 30.0)):
        inv = pd.concat([stability, probe], ignore_index=True)
        answer = traffic.answer_from_frames(
            inv, cold_starts, pd.DataFrame(), needs, get_prices(), 2048
        )
        on_demand = answer.options.set_index("provisioned_concurrency").loc[0, "cold_share"]
        expected = traffic.cold_share(0.01, WARM_MS, answer.max_concurrency, window)
        assert on_demand == pytest.approx(expected)
        assert any(f"uses {window:g} s" in e for e in answer.evidence)
