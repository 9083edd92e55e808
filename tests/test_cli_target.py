"""The one rule by which ``sm-bench run`` and ``sm-bench cleanup`` pick their target."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from sm_bench_widgets.cli import build_parser
from sm_bench_widgets.cli.target import target_from_args

LOOPBACK = "http://127.0.0.1:5005"
REMOTE = "https://sagemaker.example.com"
COMMANDS = {
    "run": ["run", "demo-nlp", "payloads.jsonl"],
    "cleanup": ["cleanup", "--dry-run"],
}


@pytest.fixture
def no_credentials(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A shell where boto3 finds no AWS credentials and no endpoint URL."""
    for name in list(os.environ):
        if name.startswith("AWS_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


@pytest.fixture
def credentials(no_credentials: None, monkeypatch: pytest.MonkeyPatch) -> None:
    """A shell with AWS credentials in the environment."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")


def target_for(command: str, *options: str):
    return target_from_args(build_parser().parse_args([*COMMANDS[command], *options]))


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("url", [LOOPBACK, REMOTE])
def test_emulated_flag_says_so_explicitly(credentials, command, url):
    target = target_for(command, "--endpoint-url", url, "--emulated")
    assert target.emulated and target.endpoint_url == url
    assert target.session.get_credentials().access_key == "emulated"


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize(
    "url", [LOOPBACK, "http://localhost:5005", "http://[::1]:5005", "http://127.0.0.2"]
)
def test_loopback_url_without_credentials_is_the_emulator(no_credentials, command, url):
    target = target_for(command, "--endpoint_url", url)
    assert target.emulated and target.endpoint_url == url
    assert target.session.get_credentials().access_key == "emulated"
    assert target.region_name == "us-east-1"


@pytest.mark.parametrize("command", COMMANDS)
def test_loopback_url_from_the_environment_counts_too(no_credentials, monkeypatch, command):
    monkeypatch.setenv("AWS_ENDPOINT_URL", LOOPBACK)
    target = target_for(command, "--region", "eu-west-1")
    assert target.emulated and target.endpoint_url == LOOPBACK
    assert target.region_name == "eu-west-1"


@pytest.mark.parametrize("command", COMMANDS)
def test_loopback_url_with_credentials_is_not_taken_for_the_emulator(credentials, command):
    target = target_for(command, "--endpoint-url", LOOPBACK)
    assert not target.emulated and target.endpoint_url == LOOPBACK
    assert target.session.get_credentials().access_key == "AKIDEXAMPLE"


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("url", [REMOTE, "http://127.example.com", None])
def test_other_urls_are_not_the_emulator(no_credentials, command, url):
    options = ["--endpoint-url", url] if url else []
    target = target_for(command, *options)
    assert not target.emulated and target.endpoint_url == url
