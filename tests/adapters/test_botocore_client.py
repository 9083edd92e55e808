"""The botocore internals the aiohttp load engine relies on are still there."""

from __future__ import annotations

import botocore

from sm_bench_widgets.adapters import botocore_client
from sm_bench_widgets.aws.clients import Target


def test_botocore_still_has_the_internals_the_adapter_uses():
    client = Target.for_emulator("http://127.0.0.1:9").runtime_client(1)
    problems = botocore_client.compatibility_problems(client)
    assert not problems, (
        "sm_bench_widgets/adapters/botocore_client.py relies on private botocore client "
        f"names that botocore {botocore.__version__} changed:\n  "
        + "\n  ".join(problems)
        + "\nPin boto3/botocore below this version in pyproject.toml, or update the adapter."
    )


def test_it_reads_what_the_client_resolved(monkeypatch):
    monkeypatch.setenv("AWS_CA_BUNDLE", "/nowhere/ca.pem")
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.invalid:3128")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    client = Target(region="us-east-1", endpoint_url="https://runtime.example").runtime_client(1)
    assert botocore_client.tls_verify(client) == "/nowhere/ca.pem"
    assert botocore_client.proxy(client) == "http://proxy.invalid:3128"
