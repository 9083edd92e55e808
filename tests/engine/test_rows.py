"""The run's rows kept compactly: same frames, order and counts as the rows handed in, from
any thread; and a result read back from the run store equals the one built in memory."""

from __future__ import annotations

import random
import threading

import pandas as pd
import pytest

from sm_bench_widgets.engine.context import Rows
from sm_bench_widgets.engine.store import RunStore, load_run
from sm_bench_widgets.frames import FOLD_ROWS, invocations_frame
from sm_bench_widgets.result import BenchmarkResult
from sm_bench_widgets.schema import INVOCATION_COLUMNS
from tests.rows import invocation_row

from .helpers import small_config

TRIALS = ("stability-m1024", "stability-m2048", "concurrency-m2048-c4")


def _rows(n: int, seed: int = 3) -> list[dict]:
    """``n`` rows of three interleaved trials, some failed, some with columns the others lack."""
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        outcome = rng.choice(["ok", "ok", "ok", "throttled", "model_error"])
        row = invocation_row(
            rng.choice(TRIALS),
            rng.lognormvariate(3, 0.4),
            start=1.7e9 + i / 100,
            outcome=outcome,
            client_id=i % 9,
            cold=i % 500 == 0,
            bytes_in=2**40 if i == 17 else 100 + i % 50,  # one beyond 32 bits
        )
        row["overhead_ms"] = None if i % 4 else rng.random()
        if i % 1000 == 999:
            row["note"] = "a column only some rows have"
        if i % 1000 == 500:  # as many keys as the others, one of them another
            row["note"] = "instead of its payload index"
            del row["payload_index"]
        rows.append(row)
    return rows


def _fed(rows: list[dict], reads: bool = True) -> Rows:
    """``rows`` handed to a ``Rows`` in uneven batches, reading now and then as racing does."""
    rng = random.Random(5)
    kept = Rows()
    i = 0
    while i < len(rows):
        n = rng.randrange(1, 120)
        kept.extend(rows[i : i + n])
        i += n
        if reads and rng.random() < 0.05:
            kept.frame({TRIALS[0]})
    return kept


def test_rows_give_the_frames_of_the_rows_handed_in_in_their_order():
    rows = _rows(3 * FOLD_ROWS + 123)
    kept = _fed(rows)
    assert len(kept) == len(rows)
    pd.testing.assert_frame_equal(kept.frame(), invocations_frame(rows))
    for wanted in ({TRIALS[1]}, {TRIALS[0], TRIALS[2]}, set(TRIALS), set(), {"no-such-trial"}):
        expected = invocations_frame([r for r in rows if r["trial_id"] in wanted])
        pd.testing.assert_frame_equal(kept.frame(wanted), expected)
    mine = [r for r in rows if r["trial_id"] == TRIALS[2]]
    assert kept.count(TRIALS[2]) == len(mine)
    assert kept.count("no-such-trial") == 0
    got = kept.of(TRIALS[2])
    assert [r["start"] for r in got] == [r["start"] for r in mine]
    assert [r["latency_ms"] for r in got] == [r["latency_ms"] for r in mine]
    assert [r["outcome"] for r in got] == [r["outcome"] for r in mine]
    assert got[0]["trial_id"] == TRIALS[2] and isinstance(got[0]["latency_ms"], float)


def test_rows_start_from_a_stored_frame_and_go_on():
    rows = _rows(2000)
    kept = Rows(invocations_frame(rows[:1500]))
    kept.extend(rows[1500:])
    assert len(kept) == 2000
    assert kept.count(TRIALS[0]) == sum(r["trial_id"] == TRIALS[0] for r in rows)
    pd.testing.assert_frame_equal(kept.frame(), invocations_frame(rows))


def test_an_empty_rows_gives_an_empty_frame_with_the_schema():
    kept = Rows()
    assert len(kept) == 0
    assert kept.of("t") == []
    frame = kept.frame()
    assert frame.empty and list(frame.columns) == INVOCATION_COLUMNS


def test_rows_extended_from_several_threads_lose_nothing_and_keep_each_batch_in_order():
    kept = Rows()
    threads = 4
    per_thread = 60
    batch = 37

    def feed(t: int) -> None:
        for b in range(per_thread):
            kept.extend(
                [
                    invocation_row(f"t{t}", 10.0, start=b * 1000 + i, client_id=t)
                    for i in range(batch)
                ]
            )
            if b % 10 == 0:
                kept.frame({f"t{t}"})  # reads interleave with writes

    workers = [threading.Thread(target=feed, args=(t,)) for t in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(timeout=60)
    assert not any(w.is_alive() for w in workers)
    assert len(kept) == threads * per_thread * batch
    frame = kept.frame()
    assert len(frame) == len(kept)
    for t in range(threads):
        mine = frame[frame["trial_id"] == f"t{t}"]
        assert kept.count(f"t{t}") == len(mine) == per_thread * batch
        # one thread's rows come out in the order it handed them in
        assert mine["start"].is_monotonic_increasing
        assert (mine["client_id"] == t).all()


@pytest.mark.parametrize("segments", [None, 0.05])
def test_a_result_read_back_from_the_store_equals_the_one_built_in_memory(tmp_path, segments):
    rows = _rows(2 * FOLD_ROWS + 77)
    config = small_config(tmp_path)
    kept = Rows()
    store = RunStore(tmp_path / "run", segments)
    store.write_config(config.to_dict(), run_id="r1")
    for i in range(0, len(rows), 50):  # as the batcher's sink does
        kept.extend(rows[i : i + 50])
        store.append_invocations(rows[i : i + 50])
    reasons = dict.fromkeys(TRIALS, "max_invocations")
    for trial_id, reason in reasons.items():
        store.append_trial({"event": "ended", "trial_id": trial_id, "stop_reason": reason})
    store.close("completed")

    stored = load_run(tmp_path / "run")
    pd.testing.assert_frame_equal(stored.invocations, kept.frame())
    in_memory = BenchmarkResult(config, kept.frame(), run_id="r1", stop_reasons=reasons)
    reloaded = BenchmarkResult.load(tmp_path / "run")
    pd.testing.assert_frame_equal(reloaded.invocations, in_memory.invocations)
    pd.testing.assert_frame_equal(reloaded.summary, in_memory.summary)
