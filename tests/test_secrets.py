"""Credentials never show up in what the tool writes, prints, logs or raises.

Canary credentials are set in the environment, runs go to the emulator with them (through
the API and the CLI, one of them failing), and every file written, every line printed or
logged and every exception's text is searched for the canary values.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import subprocess
import sys
import traceback
import urllib.request
from pathlib import Path

import pytest

from sm_bench_widgets.api import RunFailed, run_benchmark
from sm_bench_widgets.aws.clients import Target
from sm_bench_widgets.config import BenchmarkConfig, ConfigError
from sm_bench_widgets.result import BenchmarkResult
from sm_bench_widgets.utils import convert_invoke_args_to_jsonl

CANARY = {
    "AWS_ACCESS_KEY_ID": "AKIACANARY7X2Q9ZWNMB",
    "AWS_SECRET_ACCESS_KEY": "canarySecret/9f8e7d6c5b4a39281706f5e4d3c2b1a0CANARY",
    "AWS_SESSION_TOKEN": "canaryToken+IQoJb3JpZ2luX2VjECANARYTOKENxyz0123456789==",
}
SMALL = dict(
    memory_sizes=[2048],
    stability_benchmark_invocations=20,
    concurrency_benchmark_max_conc=[2],
    concurrency_benchmark_invocations=20,
)


def leaks(text: str) -> list[str]:
    """The canary names whose value (or a telling part of it) appears in ``text``."""
    found = []
    for name, value in CANARY.items():
        if value in text or value[4:20] in text:
            found.append(name)
    return found


def files_with_canary(*folders: Path) -> dict[str, list[str]]:
    hits = {}
    for folder in folders:
        for path in folder.rglob("*"):
            if path.is_file():
                text = path.read_bytes().decode("utf-8", errors="replace")
                if found := leaks(text):
                    hits[str(path)] = found
    return hits


@pytest.fixture
def canary_env(emulator, monkeypatch) -> dict[str, str]:
    """The emulator reached through the environment, with canary credentials."""
    for key, value in CANARY.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("AWS_ENDPOINT_URL", emulator.endpoint_url)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    return dict(os.environ)


@pytest.fixture
def all_logs():
    """Every record of the tool's loggers (DEBUG up) and of any other (INFO up), as text."""
    records: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if record.name.startswith("sm_bench_widgets") or record.levelno >= logging.INFO:
                records.append(self.format(record))
                if record.exc_info:
                    records.append("".join(traceback.format_exception(*record.exc_info)))

    handler = Keep(level=logging.DEBUG)
    root, tool = logging.getLogger(), logging.getLogger("sm_bench_widgets")
    levels = root.level, tool.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    tool.setLevel(logging.DEBUG)
    yield records
    root.removeHandler(handler)
    root.setLevel(levels[0])
    tool.setLevel(levels[1])


def test_no_credential_in_results_run_directory_report_logs_or_errors(
    canary_env, all_logs, emulator, tmp_path, capsys
):
    target = Target.from_environment()
    creds = target.session.get_credentials().get_frozen_credentials()
    assert creds.access_key == CANARY["AWS_ACCESS_KEY_ID"]  # the runs really sign with them
    assert creds.token == CANARY["AWS_SESSION_TOKEN"]

    payloads = convert_invoke_args_to_jsonl(
        [{"Body": "1,2,3,4", "ContentType": "text/csv"}], tmp_path / "in"
    )
    out = tmp_path / "out"
    config = BenchmarkConfig(
        model_name="demo-nlp",
        invoke_args_examples_file=str(payloads),
        result_save_path=str(out),
        provisioned_concurrency=[1],
        **SMALL,
    )
    result = run_benchmark(config, target, progress=True)
    assert result.status == "completed"
    from sm_bench_widgets.benchmark import write_seed_outputs

    write_seed_outputs(result, out)
    result.save(out / "saved")
    result.to_excel(out / "result.xlsx")
    texts = [
        repr(result),
        result.summary_text(),
        json.dumps(result.meta(), default=str),
        repr(target),
        repr(config),
        config.to_json(),
    ]
    loaded = BenchmarkResult.load(result.run_dir)
    texts.append(loaded.summary_text())

    # errors: a bad option, and a run that fails on AWS's side
    errors: list[BaseException] = []
    try:
        config.replace(memory_sizes=[999])
    except ConfigError as exc:
        errors.append(exc)
    with _failing_endpoints(emulator.endpoint_url):
        try:
            run_benchmark(config.replace(result_save_path=str(tmp_path / "failed")), target, False)
        except RunFailed as exc:
            errors.append(exc)
    assert len(errors) == 2
    texts += ["".join(traceback.format_exception(e)) for e in errors]

    captured = capsys.readouterr()
    texts += [captured.out, captured.err, *all_logs]
    assert [leaks(t) for t in texts if leaks(t)] == []
    assert files_with_canary(out, tmp_path / "failed") == {}


def test_no_credential_in_what_the_cli_prints_or_writes(canary_env, tmp_path):
    payloads = convert_invoke_args_to_jsonl(
        [{"Body": "1,2,3,4", "ContentType": "text/csv"}], tmp_path / "in"
    )
    env = canary_env
    runs = [
        ["run", "demo-nlp", str(payloads), "--result_save_path", str(tmp_path / "cli")]
        + ["--memory_sizes", "2048", "--concurrency_benchmark_max_conc", "2"]
        + ["--stability_benchmark_invocations", "20", "--concurrency_benchmark_invocations", "20"],
        ["run", "no-such-model", str(payloads), "--result_save_path", str(tmp_path / "cli")],
        ["cleanup", "--dry-run"],
        ["iam-policy"],
    ]
    codes = []
    for args in runs:
        proc = subprocess.run(
            [sys.executable, "-m", "sm_bench_widgets.cli", *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert leaks(proc.stdout + proc.stderr) == [], args
        codes.append(proc.returncode)
    assert codes == [0, 2, 0, 0]
    assert files_with_canary(tmp_path / "cli") == {}
    assert any((tmp_path / "cli").rglob("*.jsonl"))  # the run did write its store


@contextlib.contextmanager
def _failing_endpoints(url: str):
    fault = {"operation": "CreateEndpoint", "code": "EndpointFailed", "count": None}
    request = urllib.request.Request(
        f"{url}/_sm_bench/faults", data=json.dumps(fault).encode(), method="POST"
    )
    urllib.request.urlopen(request, timeout=10).close()
    try:
        yield
    finally:
        delete = urllib.request.Request(f"{url}/_sm_bench/faults", method="DELETE")
        urllib.request.urlopen(delete, timeout=10).close()
