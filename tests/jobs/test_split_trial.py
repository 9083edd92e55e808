"""A concurrency trial bigger than one host drives, split over two job hosts on the emulator."""

from __future__ import annotations

import pytest

from sm_bench_widgets.aws.endpoints import find_leftovers
from sm_bench_widgets.config import BenchmarkConfig
from sm_bench_widgets.engine.steps.split import START_LEAD
from sm_bench_widgets.engine.store import load_run
from sm_bench_widgets.jobs.launcher import launch_job
from sm_bench_widgets.jobs.options import JobOptions
from sm_bench_widgets.payloads import write_jsonl
from tests.engine.helpers import CSV_EXAMPLES

ROLE = "arn:aws:iam::123456789012:role/bench"
SPLIT = "concurrency-m2048-c8-n8"


def test_a_trial_of_8_clients_runs_as_4_on_each_of_two_hosts_in_one_window(emulator, tmp_path):
    target = emulator.target()
    config = BenchmarkConfig(
        model_name="demo-nlp",
        invoke_args_examples_file=str(write_jsonl(CSV_EXAMPLES, tmp_path / "payloads.jsonl")),
        memory_sizes=[2048],
        stability_benchmark_invocations=20,
        concurrency_benchmark_max_conc=[8, 2],
        concurrency_num_clients_multiplier=[0.5, 1],  # c8: n4 (its cold probe), then n8
        concurrency_benchmark_invocations=120,
        adaptive=False,
    )
    job = JobOptions(role=ROLE, instance_count=2, clients_per_host=4)
    handle = launch_job(config, target, job, cache_dir=tmp_path / "cache")
    result = handle.wait(timeout=300)
    assert result is not None, f"the job did not end within 300 s: {handle.status()}"
    assert handle.status() == "Completed", handle.failure_reason
    assert result.status == "completed"

    # the trial once in the result: 8 clients, every invocation of its budget once
    rows = result.invocations[result.invocations["trial_id"] == SPLIT]
    assert len(rows) == 120 and set(rows["clients"]) == {8}
    assert sorted(set(rows["client_id"])) == list(range(8))
    assert not rows.duplicated(["client_id", "start", "end"]).any()
    assert result.stop_reasons[SPLIT] == "max_invocations"
    trial = result.concurrency[result.concurrency["trial_id"] == SPLIT]
    assert len(trial) == 1 and int(trial["clients"].iloc[0]) == 8
    assert int(trial["count"].iloc[0]) == 120

    # one endpoint for the trial, deployed by its owner; both hosts drove it in one window
    assert rows["endpoint_name"].nunique() == 1
    hosts = {h: load_run(handle.run_dir / h) for h in ("algo-1", "algo-2")}
    part = {h: run.invocations[run.invocations["trial_id"] == SPLIT] for h, run in hosts.items()}
    assert {h: len(p) for h, p in part.items()} == {"algo-1": 60, "algo-2": 60}
    assert set(part["algo-1"]["client_id"]) == {0, 1, 2, 3}
    assert set(part["algo-2"]["client_id"]) == {4, 5, 6, 7}
    latest_start = max(p["start"].min() for p in part.values())
    earliest_end = min(p["end"].max() for p in part.values())
    overlap = earliest_end - latest_start
    longest = max(p["end"].max() - p["start"].min() for p in part.values())
    windows = {h: (p["start"].min(), p["end"].max()) for h, p in part.items()}
    assert overlap > 0.5 * longest, f"the parts' windows {windows} overlap too little"
    planned = {h: {t["trial_id"] for t in run.trials} for h, run in hosts.items()}
    assert SPLIT in planned["algo-1"] and SPLIT not in planned["algo-2"]
    assert hosts["algo-1"].stop_reasons[SPLIT] == "max_invocations"
    assert SPLIT not in hosts["algo-2"].stop_reasons
    assert hosts["algo-1"].config["host_capacity"] == 4

    # the trials one host drives ran whole on the host owning their endpoint
    for trial_id, clients in [("concurrency-m2048-c8-n4", 4), ("concurrency-m2048-c2-n2", 2)]:
        whole = result.invocations[result.invocations["trial_id"] == trial_id]
        assert len(whole) == 120 and set(whole["clients"]) == {clients}
        assert sum(trial_id in set(run.invocations["trial_id"]) for run in hosts.values()) == 1
    # stability (1) + c8 + c2: three endpoints in the run, none left behind
    assert result.invocations["endpoint_name"].nunique() == 3
    assert find_leftovers(target, run_id=handle.run_id) == []


def test_a_split_trial_first_on_its_endpoint_counts_only_its_load_window(emulator, tmp_path):
    """The owner's cold-start probe and its wait for the other host (and the start lead)
    come before the common start: the trial's duration and throughput leave them out."""
    target = emulator.target()
    config = BenchmarkConfig(
        model_name="demo-nlp",
        invoke_args_examples_file=str(write_jsonl(CSV_EXAMPLES, tmp_path / "payloads.jsonl")),
        memory_sizes=[2048],
        stability_benchmark_invocations=20,
        concurrency_benchmark_max_conc=[8],
        concurrency_num_clients_multiplier=[1],  # c8-n8 alone: it probes the fresh endpoint
        concurrency_benchmark_invocations=160,
        adaptive=False,
    )
    job = JobOptions(role=ROLE, instance_count=2, clients_per_host=4)
    handle = launch_job(config, target, job, cache_dir=tmp_path / "cache")
    result = handle.wait(timeout=300)
    assert result is not None, f"the job did not end within 300 s: {handle.status()}"
    assert handle.status() == "Completed", handle.failure_reason

    rows = result.invocations[result.invocations["trial_id"] == SPLIT]
    probe = rows[rows["phase"] == "cold_start"]
    load = rows[rows["phase"] == "concurrency"]
    assert len(probe) >= 1 and len(load) == 160 - len(probe)
    assert set(load["client_id"]) == set(range(8))
    trial = result.concurrency.set_index("trial_id").loc[SPLIT]
    assert int(trial["count"]) == 160 and int(trial["cold_count"]) >= len(probe)

    # the figures are those of the load's own window, computed from its rows
    window = load["end"].max() - load["start"].min()
    ok = int((load["outcome"] == "ok").sum())
    assert trial["duration_s"] == pytest.approx(window)
    assert trial["throughput_all_rps"] == pytest.approx(ok / window)
    # the steady-state figure leaves out, too, the load's wait on the instances still starting
    assert trial["throughput_rps"] >= trial["throughput_all_rps"]
    # which the probe, the wait for the other host and the start lead precede
    whole = rows["end"].max() - rows["start"].min()
    assert load["start"].min() - probe["end"].max() >= START_LEAD
    assert whole - trial["duration_s"] >= START_LEAD
    # closed-loop clients: throughput at most clients / mean latency, below it by the
    # client's own gaps between requests (on the service clock, so wide on a loaded
    # machine), never by anything like the wait, here many times the whole load's window
    ideal = 8 / (float(load.loc[load["outcome"] == "ok", "latency_ms"].mean()) / 1000.0)
    figures = f"throughput {trial['throughput_all_rps']:.2f}/s, 8 / mean latency {ideal:.2f}/s"
    assert ideal / 20 < trial["throughput_all_rps"] <= ideal * 1.1, figures
    assert find_leftovers(target, run_id=handle.run_id) == []
