"""The aiohttp engine sends what botocore would: the same requests (endpoint resolution,
headers, a valid SigV4 signature from the user's credentials chain), the same outcomes
for each answer of the emulator, and botocore itself sends when the user's settings need it."""

from __future__ import annotations

import asyncio
import json
import stat
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from sm_bench_widgets.aws.clients import Target
from sm_bench_widgets.emulator.faults import Fault
from sm_bench_widgets.engine import async_loads
from sm_bench_widgets.engine.load_process import LoadProcess, engine_for, job_for, run_closed_loop
from sm_bench_widgets.engine.loads import Invoker, TrialLoad
from sm_bench_widgets.engine.openloop import poisson_offsets
from sm_bench_widgets.payloads import PayloadSampler
from tests.conftest import TEST_TIME_SCALE
from tests.emulator.awsutil import clients, deploy
from tests.recording_server import Recorder, serve

EXAMPLES = [{"Body": "1,2,3,4", "ContentType": "text/csv", "CustomAttributes": "k=v"}]


@pytest.fixture
def recorder() -> Iterator[Recorder]:
    server = serve()
    yield server
    server.shutdown()
    server.server_close()


def send(invoker: async_loads.AsyncInvoker, n: int = 1) -> list[dict]:
    """``n`` requests from ``invoker``, one after another, on a loop of their own."""

    async def work(http) -> list[dict]:
        return [await invoker.invoke_async(http) for _ in range(n)]

    return async_loads.run(invoker, 1, work)


def process_profile(tmp_path, monkeypatch, name: str, script: Path, url: str) -> Target:
    """A target whose credentials come only from profile ``name``'s ``credential_process``
    (``script``), a source of the chain that only botocore's chain reads."""
    config = tmp_path / "config"
    config.write_text(
        f"[profile {name}]\nregion = us-east-1\ncredential_process = {sys.executable} {script}\n"
    )
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    for variable in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(variable, raising=False)
    return Target(profile=name, endpoint_url=url, endpoint_explicit=True)


def signature_verifies(
    method: str, url: str, headers: dict[str, str], body: bytes, creds: Credentials
) -> bool:
    """Whether the request's SigV4 signature is the one ``creds`` give (recomputed)."""
    authorization = headers["Authorization"]
    signed = authorization.split("SignedHeaders=")[1].split(",")[0].split(";")
    lower = {k.lower(): v for k, v in headers.items()}
    kept = {name: lower[name] for name in signed if name != "host"}
    request = AWSRequest(method, url, data=body, headers=kept)
    request.context["timestamp"] = lower["x-amz-date"]
    auth = SigV4Auth(creds, "sagemaker", "us-east-1")
    canonical = auth.canonical_request(request)
    expected = auth.signature(auth.string_to_sign(request, canonical), request)
    return authorization.endswith(f"Signature={expected}")


def test_requests_are_signed_with_the_credentials_chain_and_verify(recorder, tmp_path, monkeypatch):
    # a credential_process profile: a source of the chain that only botocore's chain reads
    script = tmp_path / "creds.py"
    script.write_text(
        "import json\nprint(json.dumps({'Version': 1, 'AccessKeyId': 'AKIDCHAIN', "
        "'SecretAccessKey': 'chain-secret', 'SessionToken': 'chain-token', "
        "'Expiration': '2999-01-01T00:00:00Z'}))\n"
    )
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    target = process_profile(tmp_path, monkeypatch, "chain", script, recorder.url)
    sampler = PayloadSampler(EXAMPLES, seed=1)
    invoker = async_loads.AsyncInvoker(target.runtime_client(1), "my-endpoint", sampler, {})
    rows = send(invoker, 3)

    assert [r["outcome"] for r in rows] == ["ok"] * 3
    assert [r["bytes_out"] for r in rows] == [len(b'{"ok": true}')] * 3
    creds = Credentials("AKIDCHAIN", "chain-secret", "chain-token")
    for method, path, headers, body in recorder.requests:
        assert (method, path, body) == ("POST", "/endpoints/my-endpoint/invocations", b"1,2,3,4")
        assert headers["Content-Type"] == "text/csv"
        assert headers["X-Amzn-SageMaker-Custom-Attributes"] == "k=v"
        assert headers["X-Amz-Security-Token"] == "chain-token"
        assert "Credential=AKIDCHAIN/" in headers["Authorization"]
        assert headers["User-Agent"].startswith("Boto3/")
        assert signature_verifies(method, recorder.url + path, headers, body, creds)
    # a fresh invocation id per request, as botocore sends
    ids = {h["amz-sdk-invocation-id"] for _, _, h, _ in recorder.requests}
    assert len(ids) == 3


def test_credentials_that_cannot_be_refreshed_are_rows_as_boto3_gives(
    recorder, tmp_path, monkeypatch
):
    # the first credentials expire within botocore's mandatory refresh window, and every
    # refresh fails: each call fails before it is sent, in either engine
    marker = tmp_path / "given"
    script = tmp_path / "creds.py"
    script.write_text(
        "import json, pathlib, sys, datetime\n"
        f"marker = pathlib.Path({str(marker)!r})\n"
        "if marker.exists():\n    sys.exit('no more credentials')\n"
        "marker.write_text('1')\n"
        "soon = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(minutes=5)\n"
        "print(json.dumps({'Version': 1, 'AccessKeyId': 'AKIDSOON', 'SecretAccessKey': 's', "
        "'SessionToken': 't', 'Expiration': soon.strftime('%Y-%m-%dT%H:%M:%SZ')}))\n"
    )
    target = process_profile(tmp_path, monkeypatch, "soon", script, recorder.url)
    client = target.runtime_client(1)
    plain = Invoker(client, "e", PayloadSampler(EXAMPLES, seed=1), {}).invoke()
    fast = send(async_loads.AsyncInvoker(client, "e", PayloadSampler(EXAMPLES, seed=1), {}), 2)
    assert (plain["outcome"], plain["error_code"]) == ("error", "CredentialRetrievalError")
    assert [(r["outcome"], r["error_code"]) for r in fast] == [
        (plain["outcome"], plain["error_code"])
    ] * 2
    assert recorder.requests == []


def test_a_runtime_only_endpoint_setting_is_honoured(recorder, monkeypatch, tmp_path):
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDENV")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "env-secret")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")  # nothing listens
    monkeypatch.setenv("AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME", recorder.url)
    target = Target.from_environment()
    sampler = PayloadSampler(EXAMPLES, seed=1)
    invoker = async_loads.AsyncInvoker(target.runtime_client(1), "vpc-endpoint", sampler, {})
    assert send(invoker)[0]["outcome"] == "ok"
    assert [path for _, path, _, _ in recorder.requests] == ["/endpoints/vpc-endpoint/invocations"]


def test_an_unreachable_endpoint_is_a_row_named_as_botocore_names_it():
    target = Target.for_emulator("http://127.0.0.1:9")
    sampler = PayloadSampler(EXAMPLES, seed=1)
    invoker = async_loads.AsyncInvoker(target.runtime_client(1), "gone", sampler, {})
    row = send(invoker)[0]
    assert (row["outcome"], row["error_code"]) == ("error", "EndpointConnectionError")


@pytest.fixture(scope="module")
def endpoints(emulator) -> dict[str, str]:
    aws = clients(emulator)
    return {
        "ok": deploy(aws, "demo-nlp", memory=2048),
        "small": deploy(aws, "demo-nlp", memory=1024),  # the model does not fit
        # endpoints of their own for injected faults, so none reaches another test
        "throttled": deploy(aws, "demo-nlp", memory=2048),
        "internal": deploy(aws, "demo-nlp", memory=2048),
    }


def outcomes_both_ways(target: Target, endpoint: str, body: str = "1,2,3,4") -> tuple:
    """(outcome, error_code) of one request sent by boto3 and one sent by the aiohttp engine."""
    examples = [{"Body": body, "ContentType": "text/csv"}]
    client = target.runtime_client(1)
    plain = Invoker(client, endpoint, PayloadSampler(examples, seed=1), {}).invoke()
    fast = send(async_loads.AsyncInvoker(client, endpoint, PayloadSampler(examples, seed=1), {}))
    return (plain["outcome"], plain["error_code"]), (fast[0]["outcome"], fast[0]["error_code"])


@pytest.mark.parametrize(
    "case, expected",
    [
        ("ok", ("ok", "")),
        ("small", ("insufficient_memory", "ModelError")),
        ("unreadable", ("model_error", "ModelError")),
        ("throttled", ("throttled", "ThrottlingException")),
        ("internal", ("error", "InternalFailure")),
        ("missing", ("error", "ValidationError")),
    ],
)
def test_each_answer_of_the_emulator_is_the_outcome_boto3_gives(
    emulator, emulator_target, endpoints, case, expected
):
    endpoint, body = endpoints.get(case, endpoints["ok"]), "1,2,3,4"
    if case == "unreadable":
        body = "not,numbers"
    if case == "missing":
        endpoint = "no-such-endpoint"
    code = {"throttled": "ThrottlingException", "internal": "InternalFailure"}.get(case)
    if code:  # one for each engine's request
        fault = {"operation": "InvokeEndpoint", "code": code, "count": 2, "endpoint": endpoint}
        emulator.faults.add(Fault.parse(fault))
    plain, fast = outcomes_both_ways(emulator_target, endpoint, body)
    assert plain == expected
    assert fast == plain


@pytest.mark.parametrize("engine", [Invoker, async_loads.AsyncInvoker])
def test_emulated_rows_are_on_the_service_clock_in_either_engine(
    emulator_target, endpoints, engine
):
    told: list = []  # what each answer of the emulator said of its clock
    sampler = PayloadSampler(EXAMPLES, seed=1)
    invoker = engine(
        emulator_target.runtime_client(1), endpoints["ok"], sampler, {}, on_emulated=told.append
    )
    wall = time.time()
    rows = [invoker.invoke() for _ in range(5)] if engine is Invoker else send(invoker, 5)
    assert len(told) == 5
    for row, clock in zip(rows, told, strict=True):
        assert row["outcome"] == "ok"
        # the emulator's own account of the request, not the wall time (at time scale
        # 0.01 a wall round trip of a few ms is hundreds of ms on the service's clock)
        assert clock.service_ms is not None and row["latency_ms"] == clock.service_ms
        assert row["end"] - row["start"] == pytest.approx(row["latency_ms"] / 1000.0)
        assert row["start"] >= clock.service_time(wall) - 1.0
        assert row["overhead_ms"] is not None


def test_botocore_sends_when_the_user_set_retries_or_a_proxy(monkeypatch, tmp_path):
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    target = Target.for_emulator("http://127.0.0.1:9")
    assert engine_for(target.runtime_client(1)) == ("aiohttp", "")
    assert engine_for(target.runtime_client(1), "boto3") == ("boto3", "asked for")
    with pytest.raises(ValueError, match="engine='curl': one of aiohttp, boto3"):
        engine_for(target.runtime_client(1), "curl")

    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "4")
    retrying = Target.for_emulator("http://127.0.0.1:9")
    assert engine_for(retrying.runtime_client(1)) == ("boto3", "retries are configured")
    monkeypatch.delenv("AWS_MAX_ATTEMPTS")

    monkeypatch.setenv("HTTP_PROXY", "http://proxy.invalid:3128")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    proxied = Target.for_emulator("http://10.1.2.3:8080")
    assert engine_for(proxied.runtime_client(1)) == ("boto3", "a proxy is configured")
    monkeypatch.setenv("NO_PROXY", "10.1.2.3")
    bypassed = Target.for_emulator("http://10.1.2.3:8080")
    assert engine_for(bypassed.runtime_client(1)) == ("aiohttp", "")


def test_the_run_worker_sends_with_aiohttp_and_with_boto3_when_retries_are_set(
    emulator, endpoints, monkeypatch
):
    def engine_used() -> tuple[str, list[dict]]:
        target = emulator.target()
        sampler = PayloadSampler(EXAMPLES, seed=1)
        invoker = Invoker(target.runtime_client(4), endpoints["ok"], sampler, {"trial_id": "t"})
        worker = LoadProcess(target)
        try:
            load = worker.load(job_for(invoker, 4))
            rows: list[dict] = []
            run_closed_loop(load, TrialLoad(40, threading.Event()), rows.append)
        finally:
            worker.close()
        return load.engine, rows

    engine, rows = engine_used()
    assert engine == "aiohttp"
    assert len(rows) == 40 and {r["outcome"] for r in rows} == {"ok"}
    assert {r["client_id"] for r in rows} == {0, 1, 2, 3}

    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "2")  # the worker inherits the environment
    engine, rows = engine_used()
    assert engine == "boto3"
    assert len(rows) == 40 and {r["outcome"] for r in rows} == {"ok"}


def test_the_open_loop_runs_on_the_loop_and_keeps_its_times(emulator_target, endpoints):
    client = emulator_target.runtime_client(8)
    invoker = async_loads.AsyncInvoker(
        client, endpoints["ok"], PayloadSampler(EXAMPLES, seed=1), {}
    )
    rows: list[dict] = []
    # service-clock seconds, waited at the emulator's time scale: 25 ms apart in wall time
    offsets = list(poisson_offsets(0.4, 50, seed=3))
    stats = async_loads.open_loop(
        invoker, offsets, TrialLoad(40, threading.Event()), rows.append, time_scale=TEST_TIME_SCALE
    )
    assert stats.sent == 40 and len(rows) == 40  # the budget ends it
    assert {r["phase"] for r in rows} == {"open_loop"}
    assert stats.answered == sum(r["outcome"] == "ok" for r in rows)
    # each request went out at its arrival time, as late as the dispatcher says at most
    starts = {r["client_id"]: r["start"] for r in rows}
    slack = (stats.max_late_ms + 25.0) / 1000.0 / TEST_TIME_SCALE  # wall ms, on a busy host
    for i in range(1, 40):
        assert abs((starts[i] - starts[0]) - (offsets[i] - offsets[0])) <= slack


def test_prepare_sends_nothing(recorder):
    target = Target.for_emulator(recorder.url)
    prepared = async_loads.prepare(target.runtime_client(1), "e", EXAMPLES * 3)
    assert len(prepared) == 3 and recorder.requests == []
    assert prepared[0].url == f"{recorder.url}/endpoints/e/invocations"
    assert json.dumps(prepared[0].headers)  # plain strings, ready for aiohttp


def test_ssl_follows_the_clients_verify_setting(monkeypatch, tmp_path):
    ca = Path(tmp_path / "ca.pem")
    monkeypatch.setenv("AWS_CA_BUNDLE", str(ca))
    target = Target(region="us-east-1", endpoint_url="https://127.0.0.1:9")
    with pytest.raises(FileNotFoundError):  # the user's bundle is the one loaded
        async_loads.ssl_context(target.runtime_client(1))
    monkeypatch.delenv("AWS_CA_BUNDLE")
    target = Target(region="us-east-1", endpoint_url="https://127.0.0.1:9")
    assert async_loads.ssl_context(target.runtime_client(1)) is not False


def test_it_runs_where_this_thread_already_runs_a_loop(recorder):
    # a notebook's kernel, or a browser driver's, runs a loop in the calling thread
    target = Target.for_emulator(recorder.url)
    sampler = PayloadSampler(EXAMPLES, seed=1)
    invoker = async_loads.AsyncInvoker(target.runtime_client(1), "e", sampler, {})

    async def inside_a_loop() -> list[dict]:
        return send(invoker, 2)

    # the outer loop on a thread of its own: this test's thread may run one already
    with ThreadPoolExecutor(1) as pool:
        rows = pool.submit(asyncio.run, inside_a_loop()).result()
    assert [r["outcome"] for r in rows] == ["ok", "ok"]
    assert len(recorder.requests) == 2


def test_the_next_request_is_signed_while_the_last_is_in_flight_and_is_what_goes_out(recorder):
    target = Target.for_emulator(recorder.url)
    sampler = PayloadSampler(EXAMPLES, seed=1)
    invoker = async_loads.AsyncInvoker(target.runtime_client(1), "e", sampler, {})
    ahead = async_loads.SignAhead(invoker)

    async def work(http) -> tuple:
        await invoker.invoke_async(http, ahead=ahead)  # a first round trip to go by
        recorder.release.clear()
        in_flight = asyncio.create_task(invoker.invoke_async(http, ahead=ahead))
        deadline = time.monotonic() + 30
        while ahead.request is None and time.monotonic() < deadline:
            await asyncio.sleep(0.005)
        signed_meanwhile = ahead.request
        recorder.release.set()
        await in_flight
        await invoker.invoke_async(http, ahead=ahead)
        return signed_meanwhile

    signed = async_loads.run(invoker, 1, work)
    assert signed is not None, "nothing was signed while the request was in flight"
    assert len(recorder.requests) == 3
    third = recorder.requests[2][2]
    assert third["amz-sdk-invocation-id"] == signed.headers["amz-sdk-invocation-id"]
    assert third["Authorization"] == signed.headers["Authorization"]
    creds = Credentials("emulated", "emulated")
    method, path, headers, body = recorder.requests[2]
    assert signature_verifies(method, recorder.url + path, headers, body, creds)


def test_a_request_signed_ahead_too_long_ago_is_signed_again(recorder):
    target = Target.for_emulator(recorder.url)
    sampler = PayloadSampler(EXAMPLES, seed=1)
    invoker = async_loads.AsyncInvoker(target.runtime_client(1), "e", sampler, {})
    ahead = async_loads.SignAhead(invoker)
    stale = invoker.next_signed()
    ahead.request = replace(stale, at=stale.at - async_loads.SignAhead.MAX_AGE_S - 1)
    assert ahead.take() is None
    ahead.request = stale
    assert ahead.take() is stale
