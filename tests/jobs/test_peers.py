"""Hosts of a shared run read each other's stores, here through the emulator's S3."""

from __future__ import annotations

import threading
import uuid
from pathlib import Path

from sm_bench_widgets.engine.store import RunStore
from sm_bench_widgets.jobs.peers import S3Peers
from tests.rows import invocation_row


def _upload(s3, bucket: str, prefix: str, folder: Path) -> None:
    for path in folder.rglob("*"):
        if path.is_file():
            s3.upload_file(str(path), bucket, f"{prefix}{path.relative_to(folder)}")


def test_s3_peers_wait_for_the_trials_of_other_hosts_and_return_their_rows(
    emulator_target, tmp_path
):
    s3 = emulator_target.client("s3")
    bucket = f"peers-{uuid.uuid4().hex[:8]}"
    s3.create_bucket(Bucket=bucket)
    results = f"s3://{bucket}/job/results"
    prefix = "job/results/sm-bench-results/r1/"

    store = RunStore(tmp_path / "algo-2", segment_seconds=60)
    store.write_config({"model_name": "m"}, run_id="r1", host="algo-2")
    store.append_trial({"event": "planned", "trial_id": "stability-m3072"})
    rows = [invocation_row("stability-m3072", 10.0 + i, start=1000.0 + i) for i in range(3)]
    store.append_invocations(rows[:2])
    _upload(s3, bucket, prefix + "algo-2/", tmp_path / "algo-2")

    peers = S3Peers(
        emulator_target, results, "r1", "algo-1", ["algo-1", "algo-2"], tmp_path / "mirror", 0.05
    )

    def gather_stopped_after(seconds: float):
        stop = threading.Event()
        timer = threading.Timer(seconds, stop.set)
        timer.start()
        try:
            return peers.gather({"stability-m3072"}, stop)
        finally:
            timer.cancel()

    # the trial has not ended and its host still runs: gathering waits, a stop ends it
    assert gather_stopped_after(0.5) is None
    # ended with 3 invocations, of which S3 holds 2 so far: still waiting for the third
    ended = {"event": "ended", "trial_id": "stability-m3072", "stop_reason": "errors"}
    store.append_trial({**ended, "invocations": 3})
    _upload(s3, bucket, prefix + "algo-2/", tmp_path / "algo-2")
    assert gather_stopped_after(0.5) is None

    store.append_invocations(rows[2:])
    _upload(s3, bucket, prefix + "algo-2/", tmp_path / "algo-2")
    got = gather_stopped_after(30)
    assert got is not None
    got_rows, reasons = got
    assert [r["latency_ms"] for r in got_rows] == [10.0, 11.0, 12.0]
    assert reasons == {"stability-m3072": "errors"}
    store.close("completed")
