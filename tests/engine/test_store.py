"""The run store: written as the run goes, readable after a crash."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from sm_bench_widgets.api import start_benchmark
from sm_bench_widgets.aws.endpoints import delete_endpoint, find_leftover_resources
from sm_bench_widgets.engine.store import RunStore, StreamTail, load_run
from sm_bench_widgets.result import BenchmarkResult
from sm_bench_widgets.schema import INVOCATION_COLUMNS
from tests.waiting import wait_until

from .helpers import KILLABLE_RUN, endpoint_names, small_config


def _lines(path) -> int:
    return len(path.read_text().splitlines()) if path.exists() else 0


def test_invocations_reach_disk_while_the_run_goes_on(emulator_target, tmp_path):
    config = small_config(tmp_path, adaptive=False, stability_benchmark_invocations=100_000)
    handle = start_benchmark(config, emulator_target)
    try:
        path = handle.run_dir / "invocations.jsonl"
        wait_until(lambda: _lines(path) >= 60, 60, "the run did not write 60 invocations to disk")
        assert handle.status == "running"
        on_disk = load_run(handle.run_dir)
        assert len(on_disk.invocations) >= 60
        # the schema's columns first, then what a row tells besides (the client's overhead)
        assert list(on_disk.invocations.columns[: len(INVOCATION_COLUMNS)]) == INVOCATION_COLUMNS
        assert on_disk.status["status"] == "running"
        assert on_disk.config["model_name"] == "demo-nlp"
        assert on_disk.config["run_id"] == handle.run_id
    finally:
        handle.stop()
        handle.wait(30)
    stored = load_run(handle.run_dir)
    assert len(stored.invocations) == len(handle.result.invocations)
    assert stored.status["status"] == "stopped"
    assert stored.stop_reasons == {"stability-m2048": "stopped"}
    assert (handle.run_dir / "cloudwatch.csv").exists()


def test_a_torn_last_line_is_skipped(tmp_path):
    store = RunStore(tmp_path / "run")
    store.write_config({"model_name": "m"}, run_id="r1")
    rows = [
        {
            "run_id": "r1",
            "trial_id": "t",
            "phase": "stability",
            "outcome": "ok",
            "latency_ms": 10.0 + i,
            "cold": i == 0,
        }
        for i in range(3)
    ]
    store.append_invocations(rows)
    with open(tmp_path / "run" / "invocations.jsonl", "a") as f:
        f.write('{"run_id": "r1", "trial_id": "t", "lat')  # the process died mid-write
    run = load_run(tmp_path / "run")
    assert run.invocations["latency_ms"].tolist() == [10.0, 11.0, 12.0]
    assert run.invocations["cold"].tolist() == [True, False, False]
    assert run.status["status"] == "running"


def test_a_killed_run_leaves_a_readable_directory_and_tagged_endpoints(fresh_emulator, tmp_path):
    target = fresh_emulator.target()
    proc = subprocess.Popen(
        [sys.executable, "-c", KILLABLE_RUN, fresh_emulator.endpoint_url, str(tmp_path), "100000"]
    )
    try:
        wait_until(
            lambda: any(
                _lines(d / "invocations.jsonl") >= 50
                for d in (tmp_path / "sm-bench-results").glob("*")
            ),
            60,
            "the run to kill did not write 50 invocations",
        )
    finally:
        proc.kill()  # SIGKILL: no cleanup code runs
        proc.wait(10)
    (run_dir,) = (tmp_path / "sm-bench-results").glob("*")
    run = load_run(run_dir)
    assert len(run.invocations) >= 50
    assert set(run.invocations["outcome"]) == {"ok"}
    assert run.status["status"] == "running"  # it never got to say otherwise
    result = BenchmarkResult.load(run_dir)
    assert len(result.invocations) == len(run.invocations)
    assert result.stability.iloc[0]["count"] == len(run.invocations)
    # the endpoint it left carries the run's tag, so cleanup can find it
    left = find_leftover_resources(target, run_id=run.run_id)
    assert {r.kind for r in left} == {"endpoint", "endpoint-config"}
    for name in {r.name for r in left}:
        delete_endpoint(target, name)
    assert endpoint_names(target) == []
    assert json.loads((run_dir / "config.json").read_text())["emulated"] is True


def test_segments_close_on_time_and_read_back_like_one_file(tmp_path):
    from tests.waiting import wait_until

    store = RunStore(tmp_path / "run", segment_seconds=0.2)
    rows = [{"run_id": "r", "trial_id": "t", "latency_ms": float(i)} for i in range(4)]
    store.append_invocations(rows[:2])
    store.append_trial({"event": "planned", "trial_id": "t"})
    first = tmp_path / "run" / "invocations" / "part-00001.jsonl"
    # a segment is final once closed (within segment_seconds): later rows go to the next
    wait_until(lambda: not _open_in_this_process(first), 30, f"{first} was not closed")
    store.append_invocations(rows[2:])
    assert len(first.read_text().splitlines()) == 2
    assert (tmp_path / "run" / "invocations" / "part-00002.jsonl").exists()
    store.close("stopped")
    run = load_run(tmp_path / "run")
    assert run.invocations["latency_ms"].tolist() == [0.0, 1.0, 2.0, 3.0]
    assert run.trials == [{"trial_id": "t"}]
    assert not (tmp_path / "run" / "invocations.jsonl").exists()
    # carried on later (a resumed job): numbering goes on, both read back in order
    again = RunStore(tmp_path / "run", segment_seconds=0.2)
    again.append_invocations([{**rows[0], "latency_ms": 9.0}])
    again.close("completed")
    assert (tmp_path / "run" / "invocations" / "part-00003.jsonl").exists()
    assert load_run(tmp_path / "run").invocations["latency_ms"].tolist()[-1] == 9.0


def _open_in_this_process(path) -> bool:
    fds = Path("/proc/self/fd")
    return any(os.path.realpath(fd) == str(path.resolve()) for fd in fds.iterdir())


def test_appending_after_a_torn_line_keeps_every_later_row(tmp_path):
    first = RunStore(tmp_path / "run")
    first.append_invocations([{"run_id": "r", "trial_id": "t", "latency_ms": 1.0}])
    first.close("failed")
    with open(tmp_path / "run" / "invocations.jsonl", "a") as f:
        f.write('{"run_id": "r", "trial_id": "t", "lat')  # the process died mid-write
    again = RunStore(tmp_path / "run")  # a resumed run appends to the same file
    again.append_invocations([{"run_id": "r", "trial_id": "t", "latency_ms": 2.0}])
    again.close("completed")
    assert load_run(tmp_path / "run").invocations["latency_ms"].tolist() == [1.0, 2.0]


def test_a_stream_tail_reads_only_what_was_appended_since_its_last_read(tmp_path):
    store = RunStore(tmp_path, segment_seconds=60)
    tail = StreamTail(tmp_path, "invocations")
    assert tail.read() == []
    store.append_invocations([{"trial_id": "t", "n": 0}, {"trial_id": "t", "n": 1}])
    assert [r["n"] for r in tail.read()] == [0, 1]
    assert tail.read() == []
    # a line caught half written waits for its newline; a new segment is read after
    (part,) = (tmp_path / "invocations").glob("part-*.jsonl")
    with open(part, "a") as f:
        f.write('{"trial_id": "t", "n": 2')
    assert tail.read() == []
    with open(part, "a") as f:
        f.write("}\n")
    store.close("completed")
    store = RunStore(tmp_path, segment_seconds=60)  # carried on: a new segment
    store.append_invocations([{"trial_id": "t", "n": 3}])
    assert [r["n"] for r in tail.read()] == [2, 3]
    # read on from where it stopped, a few thousand records at a time
    store.append_invocations([{"trial_id": "t", "n": n} for n in range(4, 10_004)])
    assert [len(b) for b in tail.batches(size=4096)] == [4096, 4096, 1808]
    assert [r["n"] for r in tail.read()] == []
    store.close("completed")
