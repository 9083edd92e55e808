"""Seed-compatible entry point: ``run_serverless_benchmarks`` with the seed's parameters.

A thin layer over ``run_benchmark``: the seed's arguments (same names, same defaults) and
any ``BenchmarkConfig`` option as a keyword build the config; the run goes to AWS as
boto3 finds it (``AWS_ENDPOINT_URL`` included) unless ``target=`` says otherwise.

Written under ``result_save_path``, where the seed wrote its files:
- ``sm-bench-results/<run_id>/``: the run directory (config, every invocation, CloudWatch,
  status; ``BenchmarkResult.load`` reads it back);
- ``stability_benchmark_raw_results/`` and ``concurrency_benchmark_raw_results/``:
  ``invocation_benchmark_results.csv`` (one row per invocation) and
  ``endpoint_metrics.csv`` (CloudWatch) of each phase;
- ``benchmarking_report/benchmarking_report.html``: the standalone report.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from sm_bench_widgets.api import run_benchmark
from sm_bench_widgets.config import BenchmarkConfig
from sm_bench_widgets.limits import MEMORY_SIZES
from sm_bench_widgets.result import BenchmarkResult

log = logging.getLogger(__name__)

REPORT_DIR = "benchmarking_report"
REPORT_FILE = "benchmarking_report.html"
RAW_DIRS = {
    "stability": "stability_benchmark_raw_results",
    "concurrency": "concurrency_benchmark_raw_results",
}


def run_serverless_benchmarks(
    model_name: str,
    invoke_args_examples_file: str | Path,
    cold_start_delay: int = 0,
    memory_sizes: list[int] = list(MEMORY_SIZES),  # noqa: B006, B008 - seed API
    stability_benchmark_invocations: int = 1000,
    stability_benchmark_error_thresh: int = 3,
    include_concurrency_benchmark: bool = True,
    concurrency_benchmark_max_conc: list[int] = [2, 4, 8],  # noqa: B006 - seed API
    concurrency_benchmark_invocations: int = 1000,
    concurrency_num_clients_multiplier: list[float] = [1, 1.5, 1.75, 2],  # noqa: B006
    result_save_path: str = ".",
    **options: Any,
) -> BenchmarkResult:
    """Benchmark ``model_name`` on serverless endpoints and return the result.

    Stability benchmark: one endpoint per memory size (MaxConcurrency 1), invoked
    sequentially; a configuration stops after ``stability_benchmark_error_thresh``
    errors. Concurrency benchmark (``include_concurrency_benchmark``): at the recommended
    memory size, each of ``concurrency_benchmark_max_conc`` under
    ``ceil(max_conc * multiplier)`` concurrent clients. Every endpoint is deleted when
    its trials end, also on error. ``options`` are further ``BenchmarkConfig`` fields
    (e.g. ``strategy="cost"``, ``adaptive=False``) plus ``target=`` (a ``Target``) and
    ``progress=`` (tqdm bars, default True).
    """
    target = options.pop("target", None)
    progress = options.pop("progress", True)
    config = BenchmarkConfig.from_dict(
        {
            "model_name": model_name,
            "invoke_args_examples_file": str(invoke_args_examples_file),
            "cold_start_delay": cold_start_delay,
            "memory_sizes": list(memory_sizes),
            "stability_benchmark_invocations": stability_benchmark_invocations,
            "stability_benchmark_error_thresh": stability_benchmark_error_thresh,
            "include_concurrency_benchmark": include_concurrency_benchmark,
            "concurrency_benchmark_max_conc": list(concurrency_benchmark_max_conc),
            "concurrency_benchmark_invocations": concurrency_benchmark_invocations,
            "concurrency_num_clients_multiplier": list(concurrency_num_clients_multiplier),
            "result_save_path": str(result_save_path),
            **options,
        }
    )
    result = run_benchmark(config, target, progress=progress)
    write_seed_outputs(result, result_save_path)
    return result


def write_seed_outputs(result: BenchmarkResult, result_save_path: str | Path) -> list[Path]:
    """Write raw CSVs per phase and the HTML report where the seed wrote them."""
    base = Path(result_save_path)
    written = []
    inv = result.invocations
    cw = result.cloudwatch
    for phase, dirname in RAW_DIRS.items():
        trials = set(inv.loc[inv["phase"] == phase, "trial_id"])
        if not trials:
            continue
        rows = inv[inv["trial_id"].isin(trials)]
        folder = base / dirname
        folder.mkdir(parents=True, exist_ok=True)
        rows.to_csv(folder / "invocation_benchmark_results.csv", index=False)
        names = set(rows["endpoint_name"])
        cw[cw["endpoint_name"].isin(names)].to_csv(folder / "endpoint_metrics.csv", index=False)
        written += [folder / "invocation_benchmark_results.csv", folder / "endpoint_metrics.csv"]
    report = base / REPORT_DIR / REPORT_FILE
    report.parent.mkdir(parents=True, exist_ok=True)
    try:
        written.append(result.to_html(report))
    except Exception:
        log.exception(
            "could not write the report %s; the results are in %s", report, result.run_dir
        )
    return written
