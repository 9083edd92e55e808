"""Bad input is refused before any endpoint exists, through the API and through ``sm-bench run``:
the message names the field and what is allowed, the CLI prints one line and no traceback.

A model whose image cannot be pulled is only found out by AWS: its endpoint fails, and the
endpoint's FailureReason is what the user is shown.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from sm_bench_widgets.api import RunFailed, run_benchmark
from sm_bench_widgets.aws.clients import Target
from sm_bench_widgets.aws.endpoints import find_leftovers
from sm_bench_widgets.config import BenchmarkConfig, ConfigError
from sm_bench_widgets.utils import convert_invoke_args_to_jsonl

CLI = [sys.executable, "-m", "sm_bench_widgets.cli"]
SMALL = {"stability_benchmark_invocations": 5, "concurrency_benchmark_invocations": 5}


@pytest.fixture
def cli_env(emulator) -> dict[str, str]:
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
def payloads(tmp_path: Path) -> Path:
    return convert_invoke_args_to_jsonl([{"Body": "1,2,3,4", "ContentType": "text/csv"}], tmp_path)


def resources(target: Target) -> int:
    """How many endpoints and endpoint configs the account holds."""
    sm = target.client("sagemaker")
    endpoints = sm.list_endpoints(MaxResults=100)["Endpoints"]
    configs = sm.list_endpoint_configs(MaxResults=100)["EndpointConfigs"]
    return len(endpoints) + len(configs)


def sm_bench(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([*CLI, *args], env=env, capture_output=True, text=True, timeout=180)


def assert_one_line(proc: subprocess.CompletedProcess, code: int, *needles: str) -> str:
    err = proc.stderr.strip()
    assert proc.returncode == code, proc.stderr
    assert "Traceback" not in proc.stderr and len(err.splitlines()) == 1, proc.stderr
    for needle in needles:
        assert needle in err, err
    return err


def unwritable_folder(tmp_path: Path) -> Path:
    """A result folder this process cannot write: under a read-only folder, or under a file
    when running as root (root writes through permission bits)."""
    if os.geteuid() == 0:
        blocker = tmp_path / "a-file"
        blocker.write_text("not a folder")
        return blocker / "results"
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(stat.S_IRUSR | stat.S_IXUSR)
    return locked / "results"


def write_binary_jsonl(tmp_path: Path) -> Path:
    path = tmp_path / "binary.jsonl"
    path.write_bytes(b'{"Body": "\x89PNG\r\x1a\x00\xff\xfe", "ContentType": "image/png"}\n')
    return path


# (name, config changes, CLI options, field named, words of what is allowed)
CASES = [
    (
        "switched-off option",
        {"include_concurrency_benchmark": False, "concurrency_benchmark_max_conc": [0]},
        ["--no_include_concurrency_benchmark", "--concurrency_benchmark_max_conc", "0"],
        "concurrency_benchmark_max_conc",
        "from 1 to 200",
    ),
    (
        "provisioned above MaxConcurrency",
        {"concurrency_benchmark_max_conc": [2, 4], "provisioned_concurrency": [8]},
        ["--concurrency_benchmark_max_conc", "2", "4", "--provisioned", "8"],
        "provisioned_concurrency",
        "not above MaxConcurrency",
    ),
    (
        "negative absolute precision",
        {"precision_ms": -1.0},
        ["--precision-ms", "-1"],
        "precision_ms",
        ">= 0",
    ),
]


@pytest.mark.parametrize(("name", "changes", "cli", "field", "allowed"), CASES, ids=lambda v: v)
def test_refused_at_construction_through_the_api(name, changes, cli, field, allowed, payloads):
    with pytest.raises(ConfigError, match=allowed) as info:
        BenchmarkConfig(model_name="demo-nlp", invoke_args_examples_file=str(payloads), **changes)
    assert info.value.field == field


@pytest.mark.parametrize(("name", "changes", "cli", "field", "allowed"), CASES, ids=lambda v: v)
def test_refused_by_the_cli(
    name, changes, cli, field, allowed, payloads, cli_env, emulator_target, tmp_path
):
    before = resources(emulator_target)
    proc = sm_bench(
        "run", "demo-nlp", str(payloads), *cli, "--result_save_path", str(tmp_path), env=cli_env
    )
    assert_one_line(proc, 2, field, allowed)
    assert resources(emulator_target) == before


def _run_inputs(tmp_path: Path, payloads: Path) -> dict[str, tuple[dict, list[str], str, str]]:
    """Inputs only a run can check (the file system): config, CLI, field, allowed."""
    unwritable = str(unwritable_folder(tmp_path))
    binary = str(write_binary_jsonl(tmp_path))
    folder = tmp_path / "payload-folder"
    folder.mkdir()
    return {
        "unwritable result folder": (
            {"invoke_args_examples_file": str(payloads), "result_save_path": unwritable},
            [str(payloads), "--result_save_path", unwritable],
            "result_save_path",
            "a folder this process can create files in",
        ),
        "payload file is a folder": (
            {"invoke_args_examples_file": str(folder)},
            [str(folder)],
            "invoke_args_examples_file",
            "not a folder",
        ),
        "binary body without base64": (
            {"invoke_args_examples_file": binary},
            [binary],
            "binary.jsonl:1",
            '{"base64": "..."}',
        ),
    }


RUN_INPUTS = ["unwritable result folder", "payload file is a folder", "binary body without base64"]


@pytest.mark.parametrize("name", RUN_INPUTS)
def test_refused_before_a_run_through_the_api(name, tmp_path, payloads, emulator_target):
    fields, _cli, field, allowed = _run_inputs(tmp_path, payloads)[name]
    fields = {"result_save_path": str(tmp_path / "out"), **fields}
    config = BenchmarkConfig(model_name="demo-nlp", **SMALL, **fields)
    before = resources(emulator_target)
    with pytest.raises(ConfigError, match=allowed.replace(".", r"\.")) as info:
        run_benchmark(config, emulator_target, progress=False)
    assert info.value.field == field
    assert resources(emulator_target) == before


@pytest.mark.parametrize("name", RUN_INPUTS)
def test_refused_before_a_run_by_the_cli(name, tmp_path, payloads, cli_env, emulator_target):
    _fields, cli, field, allowed = _run_inputs(tmp_path, payloads)[name]
    if "--result_save_path" not in cli:
        cli = [*cli, "--result_save_path", str(tmp_path / "out")]
    before = resources(emulator_target)
    proc = sm_bench("run", "demo-nlp", *cli, env=cli_env)
    assert_one_line(proc, 2, field, allowed)
    assert resources(emulator_target) == before


def no_region_env(tmp_path: Path) -> dict[str, str]:
    """A shell with credentials but no region anywhere, and no way out to the internet."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(
        AWS_ACCESS_KEY_ID="AKIAEXAMPLENOREGION0",
        AWS_SECRET_ACCESS_KEY="not-a-real-secret",
        AWS_CONFIG_FILE=str(tmp_path / "no-config"),
        AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "no-credentials"),
        AWS_EC2_METADATA_DISABLED="true",
        HTTPS_PROXY="http://127.0.0.1:9",  # were a call made, it could not reach AWS
        HTTP_PROXY="http://127.0.0.1:9",
    )
    return env


def test_no_region_is_refused_through_the_api(tmp_path, payloads, monkeypatch):
    for key, value in no_region_env(tmp_path).items():
        monkeypatch.setenv(key, value)
    for key in ("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_ENDPOINT_URL", "AWS_PROFILE"):
        monkeypatch.delenv(key, raising=False)
    config = BenchmarkConfig(
        model_name="demo-nlp",
        invoke_args_examples_file=str(payloads),
        result_save_path=str(tmp_path),
        **SMALL,
    )
    with pytest.raises(ConfigError, match="AWS_REGION") as info:
        run_benchmark(config, progress=False)
    assert info.value.field == "region"


def test_no_region_is_refused_by_the_cli(tmp_path, payloads):
    proc = sm_bench(
        "run", "demo-nlp", str(payloads), "--result_save_path", str(tmp_path),
        env=no_region_env(tmp_path),
    )  # fmt: skip
    assert_one_line(proc, 2, "region", "--region", "AWS_REGION")


# -- a model whose image the execution role cannot pull --------------------------------
PULL_FAILURE = (
    "The role 'arn:aws:iam::123456789012:role/bench' does not have BatchGetImage "
    "permission for the image: '123456789012.dkr.ecr.us-east-1.amazonaws.com/private:1'."
)
UNPULLABLE_MODEL = "private-image-model"


@pytest.fixture
def unpullable(fresh_emulator):
    """An emulator of its own (so its account holds only what this test leaves) with a model
    whose endpoints fail as AWS fails them when the image cannot be pulled."""
    fresh_emulator.target().client("sagemaker").create_model(
        ModelName=UNPULLABLE_MODEL,
        PrimaryContainer={"Image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/private:1"},
        ExecutionRoleArn="arn:aws:iam::123456789012:role/bench",
    )
    fault = {
        "operation": "CreateEndpoint",
        "code": "EndpointFailed",
        "message": PULL_FAILURE,
        "count": None,
        "endpoint": UNPULLABLE_MODEL,
    }
    _faults(fresh_emulator.endpoint_url, "POST", fault)
    return fresh_emulator


def _faults(url: str, method: str, body: dict | None = None) -> None:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(f"{url}/_sm_bench/faults", data=data, method=method)
    with urllib.request.urlopen(request, timeout=10) as answer:
        assert answer.status == 200


def test_unpullable_image_is_reported_with_the_failure_reason_through_the_api(
    unpullable, payloads, tmp_path
):
    target = unpullable.target()
    config = BenchmarkConfig(
        model_name=UNPULLABLE_MODEL,
        invoke_args_examples_file=str(payloads),
        memory_sizes=[2048],
        include_concurrency_benchmark=False,
        result_save_path=str(tmp_path),
        **SMALL,
    )
    with pytest.raises(RunFailed) as info:
        run_benchmark(config, target, progress=False)
    assert "is Failed: " + PULL_FAILURE in str(info.value)
    assert find_leftovers(target) == []


def test_unpullable_image_is_reported_with_the_failure_reason_by_the_cli(
    unpullable, cli_env, payloads, tmp_path
):
    env = {**cli_env, "AWS_ENDPOINT_URL": unpullable.endpoint_url}
    proc = sm_bench(
        "run", UNPULLABLE_MODEL, str(payloads), "--memory_sizes", "2048",
        "--no_include_concurrency_benchmark", "--result_save_path", str(tmp_path),
        "--no-progress", env=env,
    )  # fmt: skip
    # the run's messages as they happened, then the one-line error: never a traceback
    assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stderr
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("sm-bench run: error: ") and "is Failed: " + PULL_FAILURE in last
    assert find_leftovers(unpullable.target()) == []


# -- pickle payload files: the older toolkit's path, only when allowed ------------------
def test_a_pickle_file_runs_the_seed_way_only_when_allowed(emulator_env, tmp_path):
    from sm_bench_widgets import benchmark
    from sm_bench_widgets.utils import convert_invoke_args_to_pkl

    examples = [{"Body": "1,2,3,4", "ContentType": "text/csv"}]
    pkl = convert_invoke_args_to_pkl(examples, output_path=str(tmp_path))
    options = dict(
        memory_sizes=[2048],
        include_concurrency_benchmark=False,
        stability_benchmark_invocations=20,
        result_save_path=str(tmp_path),
        progress=False,
    )
    with pytest.raises(ConfigError, match="allow_pickle=True") as info:
        benchmark.run_serverless_benchmarks("demo-nlp", pkl, **options)
    assert info.value.field == "invoke_args_examples_file"
    result = benchmark.run_serverless_benchmarks("demo-nlp", pkl, allow_pickle=True, **options)
    assert result.status == "completed" and set(result.invocations["outcome"]) == {"ok"}


def test_the_cli_reads_a_pickle_file_only_with_allow_pickle(cli_env, emulator_target, tmp_path):
    from sm_bench_widgets.utils import convert_invoke_args_to_pkl

    pkl = str(convert_invoke_args_to_pkl([{"Body": "1,2,3,4"}], output_path=str(tmp_path)))
    args = ["run", "demo-nlp", pkl, "--memory_sizes", "2048", "--no-progress"]
    args += ["--no_include_concurrency_benchmark", "--stability_benchmark_invocations", "20"]
    args += ["--result_save_path", str(tmp_path)]
    before = resources(emulator_target)
    assert_one_line(sm_bench(*args, env=cli_env), 2, "--allow-pickle", "invoke_args_examples_file")
    assert resources(emulator_target) == before
    proc = sm_bench(*args, "--allow-pickle", env=cli_env)
    assert proc.returncode == 0, proc.stderr
    assert "Recommend" in proc.stdout or "recommend" in proc.stdout.lower()
