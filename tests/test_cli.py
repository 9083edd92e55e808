"""``sm-bench run`` and ``sm-bench demo`` as a user runs them: subprocesses, exit codes, output."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sm_bench_widgets.utils import convert_invoke_args_to_jsonl
from tests.signals import needs_sigint

CLI = [sys.executable, "-m", "sm_bench_widgets.cli"]


@pytest.fixture
def cli_env(emulator) -> dict[str, str]:
    """The environment of a shell pointed at the session emulator."""
    env = dict(os.environ)
    env.update(
        AWS_ENDPOINT_URL=emulator.endpoint_url,
        AWS_ACCESS_KEY_ID="emulated",
        AWS_SECRET_ACCESS_KEY="emulated",
        AWS_DEFAULT_REGION="us-east-1",
    )
    env.pop("AWS_PROFILE", None)
    return env


@pytest.fixture
def payloads(tmp_path: Path) -> str:
    return str(
        convert_invoke_args_to_jsonl(
            [{"Body": "1,2,3,4", "ContentType": "text/csv"}], output_path=str(tmp_path)
        )
    )


def sm_bench(*args: str, env: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([*CLI, *args], env=env, capture_output=True, text=True, timeout=timeout)


def test_run_with_seed_spelled_options_prints_summary_and_recommendation(
    cli_env, payloads, tmp_path
):
    out = tmp_path / "results"
    proc = sm_bench(
        "run",
        "demo-nlp",
        payloads,
        "--memory_sizes",
        "1024",
        "2048",
        "--stability_benchmark_invocations",
        "30",
        "--stability_benchmark_error_thresh",
        "2",
        "--no_include_concurrency_benchmark",
        "--result_save_path",
        str(out),
        "--strategy",
        "cost",
        "--no-progress",
        env=cli_env,
    )
    assert proc.returncode == 0, proc.stderr
    assert "Deploy 2048 MB, max concurrency 1" in proc.stdout
    assert "Rule: cost" in proc.stdout
    assert "EMULATED" in proc.stdout
    assert (out / "benchmarking_report" / "benchmarking_report.html").exists()
    assert (out / "stability_benchmark_raw_results" / "invocation_benchmark_results.csv").exists()
    (run_dir,) = (out / "sm-bench-results").iterdir()
    assert (run_dir / "invocations.jsonl").read_text().count("insufficient_memory") == 2


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (["--memory-sizes", "1000"], "memory_sizes"),
        (["--concurrency-benchmark-max-conc", "0"], "concurrency_benchmark_max_conc"),
        (["--adaptive", "sometimes"], "adaptive"),
        (["--stability_benchmark_invocations", "many"], "--stability_benchmark_invocations"),
    ],
)
def test_a_bad_option_value_exits_with_one_line_naming_it(cli_env, payloads, tmp_path, args, field):
    proc = sm_bench(
        "run", "demo-nlp", payloads, "--result_save_path", str(tmp_path / "r"), *args, env=cli_env
    )
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and field in lines[0], proc.stderr
    assert not (tmp_path / "r").exists()


def test_a_missing_model_exits_non_zero_before_any_endpoint(cli_env, payloads, tmp_path):
    proc = sm_bench(
        "run", "no-such-model", payloads, "--result_save_path", str(tmp_path), env=cli_env
    )
    assert proc.returncode != 0
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "model_name='no-such-model'" in lines[0]


@needs_sigint
def test_ctrl_c_stops_the_run_and_deletes_its_endpoints(cli_env, payloads, tmp_path, emulator):
    proc = subprocess.Popen(
        [
            *CLI,
            "run",
            "demo-nlp",
            payloads,
            "--memory_sizes",
            "2048",
            "3072",
            "--stability_benchmark_invocations",
            "100000",
            "--adaptive",
            "off",
            "--result_save_path",
            str(tmp_path),
            "--no-progress",
        ],
        env=cli_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            files = list(tmp_path.glob("sm-bench-results/*/invocations.jsonl"))
            if files and files[0].stat().st_size > 2000:
                break
            exited = proc.poll()
            if exited is not None or time.monotonic() > deadline:
                proc.kill()
                out, err = proc.communicate(timeout=60)
                state = "still running" if exited is None else f"exited with {exited}"
                pytest.fail(
                    "waited 60 s for sm-bench-results/*/invocations.jsonl to pass 2000 bytes "
                    f"(found {files}); the run is {state}\nstdout: {out}\nstderr: {err}"
                )
            time.sleep(0.1)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 130
    assert "interrupted" in err
    run_id = files[0].parent.name
    from sm_bench_widgets.aws.endpoints import find_leftovers

    assert find_leftovers(emulator.target(), run_id=run_id) == []


def test_demo_runs_on_its_own_emulator_and_writes_the_report(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    proc = sm_bench(
        "demo", "--out", str(tmp_path), "--time-scale", "0.01", "--no-progress", env=env
    )
    assert proc.returncode == 0, proc.stderr
    assert "EMULATED" in proc.stdout
    assert "Deploy " in proc.stdout and "Rule: balanced" in proc.stdout
    assert "1024 MB, max concurrency 1 is too small for the model" in proc.stdout
    report = tmp_path / "benchmark-report.html"
    assert report.exists() and "demo-nlp" in report.read_text()


def test_resume_carries_on_a_stopped_run_to_its_end(cli_env, payloads, tmp_path, emulator):
    from sm_bench_widgets.api import start_benchmark
    from sm_bench_widgets.config import BenchmarkConfig
    from sm_bench_widgets.engine.store import load_run

    config = BenchmarkConfig(
        model_name="demo-nlp",
        invoke_args_examples_file=payloads,
        memory_sizes=[2048],
        stability_benchmark_invocations=150,
        adaptive=False,
        include_concurrency_benchmark=False,
        result_save_path=str(tmp_path),
    )
    handle = start_benchmark(config, emulator.target())
    handle.stop()
    assert handle.wait(60) is not None and handle.status == "stopped"
    proc = sm_bench("resume", str(handle.run_dir), "--no-progress", env=cli_env)
    assert proc.returncode == 0, proc.stderr
    assert "Deploy " in proc.stdout
    stored = load_run(handle.run_dir)
    assert stored.status["status"] == "completed" and len(stored.invocations) == 150
    again = sm_bench("resume", str(handle.run_dir), env=cli_env)
    assert again.returncode == 2 and "a run that did not complete" in again.stderr
