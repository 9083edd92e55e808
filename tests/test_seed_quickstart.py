"""The seed toolkit's README Quick Start, with only the package name changed, runs as written.

The model name placeholder becomes an emulator demo model and, to keep the test short,
the invocation counts are passed as keyword options; the emulator is reached through
``AWS_ENDPOINT_URL`` alone, as a user of the seed would point boto3 at it.
"""

from __future__ import annotations

import textwrap

import pandas as pd

from sm_bench_widgets.aws.clients import Target
from sm_bench_widgets.aws.endpoints import find_leftovers
from sm_bench_widgets.result import BenchmarkResult

QUICK_START = textwrap.dedent("""
    from sm_bench_widgets import benchmark
    from sm_bench_widgets.utils import convert_invoke_args_to_jsonl

    model_name = "demo-nlp"

    example_invoke_args = [
                   {'Body': '1,2,3,4,5', "ContentType": "text/csv"},
                   {'Body': '6,7,8,9,10', "ContentType": "text/csv"}
                  ]

    example_args_file = convert_invoke_args_to_jsonl(example_invoke_args,
                                                     output_path=".")

    r = benchmark.run_serverless_benchmarks(model_name, example_args_file,
                                            stability_benchmark_invocations=40,
                                            concurrency_benchmark_invocations=20)
""")


def test_seed_quick_start_runs_against_the_emulator(emulator_env, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    exec(compile(QUICK_START, "quick_start", "exec"), namespace)
    r = namespace["r"]

    assert isinstance(r, BenchmarkResult) and r.status == "completed"
    assert r.emulated  # recognised from the emulator's answers, not from the URL
    inv = r.invocations
    assert sorted(set(inv["memory_size"])) == [1024, 2048, 3072, 4096, 5120, 6144]
    assert set(inv.loc[inv["memory_size"] == 1024, "outcome"]) == {"insufficient_memory"}
    # seed defaults: max concurrency 2, 4, 8 with multipliers 1, 1.5, 1.75, 2
    conc = r.concurrency
    assert sorted(set(conc["max_concurrency"])) == [2, 4, 8]
    assert set(conc["clients"]) == {2, 3, 4, 6, 7, 8, 12, 14, 16}
    assert len(set(conc["memory_size"])) == 1
    rec = r.recommendation
    assert rec is not None and rec.memory_size != 1024
    assert rec.memory_size == conc["memory_size"].iloc[0]

    # written where the seed wrote its files, plus the run directory
    assert (tmp_path / "invoke_args_examples.jsonl").exists()
    raw = pd.read_csv(
        tmp_path / "stability_benchmark_raw_results" / "invocation_benchmark_results.csv"
    )
    assert len(raw) == (inv["phase"] != "concurrency").sum() - _concurrency_probes(inv)
    assert (
        tmp_path / "concurrency_benchmark_raw_results" / "invocation_benchmark_results.csv"
    ).exists()
    report = tmp_path / "benchmarking_report" / "benchmarking_report.html"
    assert "demo-nlp" in report.read_text()
    assert BenchmarkResult.load(r.run_dir).recommendation.memory_size == rec.memory_size
    assert r.run_dir.parent == tmp_path / "sm-bench-results"
    assert find_leftovers(Target.from_environment(), run_id=r.run_id) == []


def _concurrency_probes(inv: pd.DataFrame) -> int:
    probes = inv[inv["phase"] == "cold_start"]
    return int(probes["trial_id"].str.startswith("concurrency").sum())
