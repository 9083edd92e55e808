"""Where clients send their calls, with real botocore against local HTTP servers."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from sm_bench_widgets.aws.clients import Target
from sm_bench_widgets.cli import build_parser
from sm_bench_widgets.cli.target import target_from_args
from tests.recording_server import Recorder, serve


@pytest.fixture
def shell(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """A shell with dummy credentials, no endpoint settings; returns the config file path."""
    for name in list(os.environ):
        if name.startswith("AWS_"):
            monkeypatch.delenv(name)
    config = tmp_path / "config"
    config.write_text("[default]\nregion = us-east-1\n")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")
    return config


@pytest.fixture
def runtime() -> Iterator[Recorder]:
    server = serve()
    yield server
    server.shutdown()


@pytest.fixture
def elsewhere() -> Iterator[Recorder]:
    server = serve()
    yield server
    server.shutdown()


def invoke(target: Target) -> None:
    target.runtime_client(1).invoke_endpoint(EndpointName="ep", Body=b"{}")["Body"].read()


def test_service_variable_points_the_runtime_alone_elsewhere(
    shell, monkeypatch, runtime, elsewhere
):
    monkeypatch.setenv("AWS_ENDPOINT_URL", elsewhere.url)
    monkeypatch.setenv("AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME", runtime.url)
    target = Target.from_environment()
    invoke(target)
    assert runtime.paths == ["/endpoints/ep/invocations"] and elsewhere.paths == []
    assert target.endpoint_for("sagemaker") == elsewhere.url
    assert target.endpoint_url == elsewhere.url  # what the target tells, for labels


def test_config_file_services_section_is_honoured(shell, monkeypatch, runtime):
    shell.write_text(
        "[default]\nregion = us-east-1\nservices = local\n\n"
        f"[services local]\nsagemaker_runtime =\n  endpoint_url = {runtime.url}\n"
    )
    target = Target.from_environment()
    invoke(target)
    assert runtime.paths == ["/endpoints/ep/invocations"]
    assert target.endpoint_for("sagemaker") == "https://api.sagemaker.us-east-1.amazonaws.com"


def test_an_explicit_url_wins_for_every_service(shell, monkeypatch, runtime, elsewhere):
    monkeypatch.setenv("AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME", elsewhere.url)
    for target in (Target(endpoint_url=runtime.url), Target.for_emulator(runtime.url)):
        invoke(target)
        assert target.endpoint_for("sagemaker") == runtime.url
    assert len(runtime.paths) == 2 and elsewhere.paths == []


def test_cli_target_leaves_an_environment_url_to_botocore(shell, monkeypatch, runtime, elsewhere):
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_ENDPOINT_URL", elsewhere.url)
    monkeypatch.setenv("AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME", runtime.url)
    args = build_parser().parse_args(["cleanup", "--dry-run"])
    target = target_from_args(args)
    assert target.emulated  # loopback, no credentials: the one-target rule still holds
    invoke(target)
    assert runtime.paths == ["/endpoints/ep/invocations"]
    assert target.endpoint_for("sagemaker") == elsewhere.url
    given = target_from_args(
        build_parser().parse_args(["cleanup", "--endpoint-url", elsewhere.url])
    )
    invoke(given)
    assert len(elsewhere.paths) == 1


def test_runtime_pool_holds_every_client_in_flight(shell):
    clients = 80
    server = serve(hold=clients)
    try:
        target = Target.for_emulator(server.url)
        assert target.runtime_client(clients).meta.config.max_pool_connections >= clients
        assert target.runtime_client(8) is target.runtime_client(clients)  # big enough

        def wave() -> None:
            threads = [threading.Thread(target=invoke_many, args=(target,)) for _ in range(clients)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()

        def invoke_many(t: Target) -> None:
            t.runtime_client(clients).invoke_endpoint(EndpointName="ep", Body=b"{}")["Body"].read()

        wave()
        wave()
        assert len(server.paths) == 2 * clients
        # the second wave reused the first wave's connections: none was opened twice
        assert len(server.connections) == clients
    finally:
        server.shutdown()


def test_throttles_are_not_retried_by_default(shell):
    server = serve(throttle=True)
    try:
        with pytest.raises(ClientError, match="ThrottlingException"):
            invoke(Target.for_emulator(server.url))
        assert len(server.paths) == 1
    finally:
        server.shutdown()


def test_the_users_retry_settings_are_kept(shell, monkeypatch):
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "3")
    server = serve(throttle=True)
    try:
        with pytest.raises(ClientError, match="ThrottlingException"):
            invoke(Target.for_emulator(server.url))
        assert len(server.paths) == 3
    finally:
        server.shutdown()
