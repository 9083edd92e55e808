"""Memory, payload and time limits over HTTP, and compute that scales with memory."""

from __future__ import annotations

import statistics

import pytest
from botocore.exceptions import ClientError

from sm_bench_widgets.emulator import ModelProfile
from tests.emulator.awsutil import deploy, error_code, invoke

FOUR_MB = 4 * 1024 * 1024


def model_ms(resp: dict) -> float:
    return int(resp["ResponseMetadata"]["HTTPHeaders"]["x-sm-bench-model-latency-us"]) / 1000


def test_model_that_does_not_fit_fails_with_insufficient_memory(aws):
    name = deploy(aws, "demo-nlp", memory=1024, max_concurrency=1)
    with pytest.raises(ClientError) as err:
        invoke(aws, name)
    assert error_code(err.value) == "ModelError"
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 424
    assert "insufficient memory" in err.value.response["Error"]["Message"].lower()
    assert "MemorySizeInMB=1024" in err.value.response["OriginalMessage"]
    assert err.value.response["LogStreamArn"].endswith(f"/aws/sagemaker/Endpoints/{name}")

    bigger = deploy(aws, "demo-nlp", memory=2048, max_concurrency=1)
    assert invoke(aws, bigger)["Body"]


def test_request_over_4_mb_is_a_validation_error(aws):
    name = deploy(aws, "demo-tabular")
    row = b",".join([b"1"] * 64) + b"\n"  # 128 bytes in, 9 bytes out per row
    body = row * (FOUR_MB // len(row) + 1)
    with pytest.raises(ClientError) as err:
        invoke(aws, name, body)
    assert error_code(err.value) == "ValidationError"
    assert "4 MB" in err.value.response["Error"]["Message"]
    just_under = row * (FOUR_MB // len(row))
    assert len(just_under) <= FOUR_MB
    ok = invoke(aws, name, just_under)
    assert ok["Body"].count(b"\n") == len(just_under) // len(row)


def test_response_over_4_mb_is_a_validation_error(aws, emulator):
    emulator.register_profile_model(
        "test-rows", ModelProfile(base_ms_at_1vcpu=1, sigma=0, footprint_mb=100)
    )
    name = deploy(aws, "test-rows")
    rows = 600_000  # 1.2 MB of "1\n" in, 600k lines of "0.xxxxxx\n" (5.4 MB) out
    with pytest.raises(ClientError) as err:
        invoke(aws, name, b"1\n" * rows)
    assert error_code(err.value) == "ValidationError"
    assert "Response payload" in err.value.response["Error"]["Message"]


def test_model_slower_than_60_s_times_out_as_aws(aws, emulator):
    emulator.register_profile_model(
        "test-61s", ModelProfile(base_ms_at_1vcpu=61_000, sigma=0, cold_start_ms=0)
    )
    name = deploy(aws, "test-61s", memory=2048)
    with pytest.raises(ClientError) as err:
        invoke(aws, name)
    assert error_code(err.value) == "ModelError"
    assert err.value.response["OriginalStatusCode"] == 0
    assert "timed out" in err.value.response["Error"]["Message"]


def test_compute_scales_with_memory_up_to_what_the_model_uses(aws):
    def median_ms(model: str, memory: int) -> float:
        name = deploy(aws, model, memory=memory, max_concurrency=1)
        return statistics.median(model_ms(invoke(aws, name)) for _ in range(7))

    nlp = {m: median_ms("demo-nlp", m) for m in (2048, 4096, 6144)}
    # multi-threaded: faster with more memory (vCPUs), gaining less each step
    assert nlp[2048] > nlp[4096] > nlp[6144]
    assert nlp[2048] - nlp[4096] > nlp[4096] - nlp[6144]
    assert 200 < nlp[2048] < 450
    tab = {m: median_ms("demo-tabular", m) for m in (1024, 2048, 6144)}
    # single-threaded: below one vCPU it slows down, above it stops gaining
    assert tab[1024] > 1.4 * tab[2048]
    assert abs(tab[2048] - tab[6144]) < 0.25 * tab[2048]
