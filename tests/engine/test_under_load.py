"""Under load: MaxConcurrency 200 with 400 clients against an emulator in its own process.

Every invocation the client sent is accounted for, in the run store and in the result
(sent = ok + throttled + model errors + other errors), and the run leaves no thread or
process behind: each process it started (its load worker) has ended, and the emulator,
stopped as Ctrl-C stops it, ends on its own with its children (its CloudWatch process).
"Sent" is counted independently of the engine, where the requests arrive: the emulator's
fault registry counts every request a fault matches, and a fault that lets the first 10^9
through never fails one. Memory over 100,000 invocations is a
benchmark (benchmarks/under_load_memory.py), too slow for a test.
"""

from __future__ import annotations

import json
import os
import threading
import urllib.request
from pathlib import Path

import psutil
import pytest

import sm_bench_widgets
from sm_bench_widgets.api import start_benchmark
from sm_bench_widgets.aws.clients import Target
from sm_bench_widgets.aws.endpoints import find_leftovers
from sm_bench_widgets.config import BenchmarkConfig
from sm_bench_widgets.emulator.process import served
from sm_bench_widgets.engine.store import load_run
from sm_bench_widgets.schema import OUTCOMES
from tests.engine.helpers import CSV_EXAMPLES
from tests.waiting import wait_until

MAX_CONCURRENCY = 200
CLIENTS = 400


@pytest.fixture
def emulator_process(monkeypatch):
    root = str(Path(sm_bench_widgets.__file__).resolve().parents[1])
    # the emulator process imports this checkout, wherever the package is installed
    monkeypatch.setenv(
        "PYTHONPATH", os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")]))
    )
    # quota room for the stability endpoint beside MaxConcurrency 200; at half speed a
    # request lasts long enough on the service for 400 clients to overlap past 200
    with served("--account-max-concurrency", "1000", time_scale=0.5, seed=7) as emu:
        yield emu


def faults(url: str, fault: dict | None = None) -> dict:
    """POST ``fault`` to the emulator's fault registry (GET without one); its answer."""
    data = None if fault is None else json.dumps(fault).encode()
    request = urllib.request.Request(f"{url}/_sm_bench/faults", data=data)
    with urllib.request.urlopen(request, timeout=30) as answer:
        return json.load(answer)


def running(processes: list[psutil.Process]) -> list[int]:
    """The pids of ``processes`` still running (a zombie not yet reaped counts)."""
    return [p.pid for p in processes if p.is_running()]


def test_400_clients_at_max_concurrency_200_account_for_every_invocation(
    emulator_process, tmp_path
):
    me = psutil.Process()
    threads_before = {t.ident for t in threading.enumerate()}
    children_before = {p.pid for p in me.children(recursive=True)}

    target = Target.for_emulator(emulator_process.url)
    counter = {"operation": "InvokeEndpoint", "code": "ThrottlingException", "skip": 10**9}
    faults(emulator_process.url, counter)
    config = BenchmarkConfig(
        model_name="demo-nlp",
        invoke_args_examples=CSV_EXAMPLES,
        memory_sizes=[2048],
        stability_benchmark_invocations=30,
        concurrency_benchmark_max_conc=[MAX_CONCURRENCY],
        concurrency_num_clients_multiplier=[CLIENTS / MAX_CONCURRENCY],
        concurrency_benchmark_invocations=10_000,
        adaptive=False,
        fetch_cloudwatch=False,
        result_save_path=str(tmp_path),
    )
    # the emulator and its children (CloudWatch) are not the run's: they end with it, below
    emulator = psutil.Process(emulator_process.process.pid)
    emulator_tree = {emulator.pid, *(p.pid for p in emulator.children(recursive=True))}
    handle = start_benchmark(config, target)
    run_processes: dict[int, psutil.Process] = {}
    while not handle.done:  # the run's processes (its load worker) as it goes
        handle.wait(0.5)
        for p in me.children(recursive=True):
            if p.pid not in children_before | emulator_tree:
                run_processes.setdefault(p.pid, p)
    result = handle.result
    assert result.status == "completed", result.errors
    assert run_processes, "the run started no load worker"
    (sent,) = [f["seen"] for f in faults(emulator_process.url)["faults"]]

    inv = result.invocations
    load = inv[inv["clients"] == CLIENTS]
    assert load["client_id"].nunique() == CLIENTS  # all 400 clients sent
    # more clients than MaxConcurrency: some are throttled, and those count as sent too
    assert (load["outcome"] == "throttled").any()
    assert set(inv["outcome"]) <= set(OUTCOMES)
    # the result: every request sent is one row, and one outcome
    assert sent == len(inv)
    counts = inv["outcome"].value_counts()
    assert sent == sum(int(counts.get(o, 0)) for o in OUTCOMES)
    summary = result.summary
    parts = [
        "ok_count",
        "throttle_count",
        "insufficient_memory_count",
        "model_error_count",
        "other_error_count",
    ]
    assert (summary[parts].sum(axis=1) == summary["count"]).all()
    assert int(summary["count"].sum()) == sent
    # the run store: as many rows, and the status file's count agrees
    stored = load_run(result.run_dir)
    assert len(stored.invocations) == sent
    assert stored.status["invocations"] == sent

    # nothing left behind: endpoints, threads, processes
    assert find_leftovers(target, run_id=result.run_id) == []
    wait_until(
        lambda: {t.ident for t in threading.enumerate() if t.is_alive()} <= threads_before,
        timeout=60,
        message="threads of the run are still alive after it ended",
    )
    assert {p.pid for p in me.children(recursive=True)} <= children_before
    assert running(list(run_processes.values())) == [], "the run left processes behind"

    # the emulator, stopped as Ctrl-C would, ends on its own and takes its children with it
    emulator_children = emulator.children(recursive=True)
    assert emulator_children, "the emulator runs its CloudWatch process"
    assert emulator_process.stop() == 0
    assert running(emulator_children) == [], "the emulator left processes behind"
