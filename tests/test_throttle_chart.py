"""The throttle check's chart: Erlang-B beside the measured share of open-loop trials."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import vl_convert

from sm_bench_widgets import charts
from sm_bench_widgets.analysis import traffic


def open_loop_rows() -> pd.DataFrame:
    # 10 req/s of 100 ms requests: 1 Erlang; c = 2 throttles 20% by Erlang-B, c = 4 1.5%
    frames = []
    for c, every in ((2, 5), (4, 50)):
        starts = np.arange(0.0, 100.0, 0.1)
        frames.append(
            pd.DataFrame(
                {
                    "trial_id": f"open-m2048-c{c}",
                    "phase": "open_loop",
                    "memory_size": 2048,
                    "max_concurrency": c,
                    "start": starts,
                    "outcome": ["throttled" if i % every == 0 else "ok" for i in range(1000)],
                    "cold": False,
                    "latency_ms": 100.0,
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def test_throttle_chart_sets_erlang_b_beside_the_measured_interval():
    check = traffic.throttle_check(open_loop_rows())
    data = charts.throttle_check_data(check)
    assert list(data["label"]) == ["2048 MB · MC 2", "2048 MB · MC 4"]
    assert data["predicted_throttle_share"].tolist() == pytest.approx(
        [traffic.erlang_b(1.0, 2), traffic.erlang_b(1.0, 4)]
    )
    # measured 20% and 2% of 1000, each with its 95% binomial interval
    assert data["measured_throttle_share"].tolist() == pytest.approx([0.2, 0.02])
    half = 1.96 * np.sqrt(0.02 * 0.98 / 1000)
    assert data.loc[1, "low"] == pytest.approx(0.02 - half)
    assert data.loc[1, "high"] == pytest.approx(0.02 + half)
    spec = charts.throttle_check_chart(check).to_dict()  # validates against Vega-Lite
    assert spec["datasets"][charts.THROTTLE_CHECK_DATASET] == json.loads(
        data.to_json(orient="records", double_precision=15)
    )
    svg = vl_convert.vegalite_to_svg(spec)
    assert svg.startswith("<svg") and "role-axis" in svg and charts.WAITING_TEXT not in svg


def test_throttle_chart_without_open_loop_trials_is_a_note():
    for empty in (None, pd.DataFrame(), traffic.throttle_check(pd.DataFrame())):
        spec = charts.throttle_check_chart(empty, waiting=False).to_dict()
        assert spec["datasets"] == {charts.THROTTLE_CHECK_DATASET: []}
        assert charts.NO_DATA_TEXT in json.dumps(spec, ensure_ascii=False)
