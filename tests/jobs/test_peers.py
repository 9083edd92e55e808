"""Hosts of a shared run read each other's stores, here through the emulator's S3."""

from __future__ import annotations

import threading
import uuid
from pathlib import Path

from sm_bench_widgets.engine.store import RunStore
from sm_bench_widgets.jobs.peers import FolderPeers, S3Peers
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


class _FinishesDuringALook(FolderPeers):
    """Peers of a host that ends its part, and then its run, just after a look has asked
    whether it was over and before that look reads its store."""

    def __init__(self, *args, finish):
        super().__init__(*args)
        self.finish = finish

    def _over(self, hosts):
        over = super()._over(hosts)
        if self.finish is not None:
            self.finish()
            self.finish = None
        return over


def _host_store(folder: Path) -> RunStore:
    store = RunStore(folder, segment_seconds=60)
    store.write_config({"model_name": "m"}, run_id="r1", host=folder.name)
    store.append_trial({"event": "planned", "trial_id": "concurrency-m3072-c4-n4"})
    return store


def test_a_host_that_ends_while_its_part_is_read_counts_with_its_part(tmp_path):
    store = _host_store(tmp_path / "algo-1")
    rows = [invocation_row("concurrency-m3072-c4-n4", 10.0 + i, start=1000.0 + i) for i in range(3)]

    def finish() -> None:
        store.append_invocations(rows)
        store.append_trial(
            {
                "event": "part_ended",
                "trial_id": "concurrency-m3072-c4-n4",
                "stop_reason": "max_invocations",
                "invocations": 3,
            }
        )
        store.close("completed")

    peers = _FinishesDuringALook(tmp_path, "algo-2", ["algo-1", "algo-2"], 0.05, finish=finish)
    got = peers.gather_parts("concurrency-m3072-c4-n4", {"algo-1"}, threading.Event())
    assert got is not None
    got_rows, reasons = got
    assert reasons == {"algo-1": "max_invocations"}
    assert len(got_rows) == 3


def test_a_host_that_ended_without_its_part_counts_as_failed(tmp_path):
    _host_store(tmp_path / "algo-1").close("completed")
    peers = FolderPeers(tmp_path, "algo-2", ["algo-1", "algo-2"], 0.05)
    stop = threading.Event()
    timer = threading.Timer(60, stop.set)
    timer.start()
    try:
        got = peers.gather_parts("concurrency-m3072-c4-n4", {"algo-1"}, stop)
    finally:
        timer.cancel()
    assert got == ([], {"algo-1": "failed"})
