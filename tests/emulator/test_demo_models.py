"""The demo models really read their input and answer in kind: rows of numbers as text/csv
or application/json, and text for the text classifier (demo-nlp)."""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError

from sm_bench_widgets.emulator import demo_examples
from tests.emulator.awsutil import deploy, error_code, invoke

ROWS = [[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3], [5.9, 3.0, 4.2, 1.5]]
CSV_BODY = "".join(",".join(map(str, r)) + "\n" for r in ROWS).encode()
JSON_BODY = json.dumps({"instances": ROWS}).encode()


@pytest.fixture(scope="module")
def endpoints(emulator):
    from tests.emulator.awsutil import clients

    aws = clients(emulator)
    names = {m: deploy(aws, m, memory=2048) for m in ("demo-tabular", "demo-nlp", "demo-mlp")}
    return aws, names


@pytest.mark.parametrize("model", ["demo-tabular", "demo-nlp", "demo-mlp"])
def test_csv_in_csv_out_one_score_per_row(endpoints, model):
    aws, names = endpoints
    resp = invoke(aws, names[model], CSV_BODY, "text/csv")
    assert resp["ContentType"] == "text/csv"
    scores = [float(x) for x in resp["Body"].decode().split()]
    assert len(scores) == len(ROWS)
    assert len(set(scores)) == len(ROWS)  # different rows, different answers
    assert invoke(aws, names[model], CSV_BODY, "text/csv")["Body"] == resp["Body"]


@pytest.mark.parametrize("model", ["demo-tabular", "demo-nlp", "demo-mlp"])
def test_json_in_json_out_matches_csv(endpoints, model):
    aws, names = endpoints
    resp = invoke(aws, names[model], JSON_BODY, "application/json")
    assert resp["ContentType"] == "application/json"
    predictions = json.loads(resp["Body"])["predictions"]
    csv_scores = [float(x) for x in invoke(aws, names[model], CSV_BODY)["Body"].split()]
    assert predictions == pytest.approx(csv_scores, abs=1e-6)


def test_profile_models_differ_and_honour_accept(endpoints):
    aws, names = endpoints
    tab = invoke(aws, names["demo-tabular"], CSV_BODY)["Body"]
    nlp = invoke(aws, names["demo-nlp"], CSV_BODY)["Body"]
    assert tab != nlp
    as_json = invoke(aws, names["demo-tabular"], CSV_BODY, Accept="application/json")
    assert as_json["ContentType"] == "application/json"
    assert json.loads(as_json["Body"])["predictions"] == pytest.approx(
        [float(x) for x in tab.split()], abs=1e-6
    )


@pytest.mark.parametrize(
    ("body", "content_type", "status"),
    [
        (b"1,2,3,4", "application/x-npy", 415),
        (b"1,two,3,4", "text/csv", 400),
        (b'{"rows": [[1, 2]]}', "application/json", 400),
        (b"", "text/csv", 400),
    ],
)
def test_unreadable_input_is_a_model_error_with_the_container_status(
    endpoints, body, content_type, status
):
    aws, names = endpoints
    with pytest.raises(ClientError) as err:
        invoke(aws, names["demo-tabular"], body, content_type)
    assert error_code(err.value) == "ModelError"
    assert err.value.response["OriginalStatusCode"] == status
    assert f"({status}) from primary" in err.value.response["Error"]["Message"]


@pytest.mark.parametrize("model", ["demo-tabular", "demo-nlp", "demo-mlp"])
def test_each_demo_model_answers_its_own_sample_payloads(endpoints, model):
    aws, names = endpoints
    for example in demo_examples(model):
        resp = invoke(
            aws,
            names[model],
            example["Body"].encode(),
            example["ContentType"],
            Accept=example["Accept"],
        )
        assert resp["ContentType"] == example["Accept"]


def test_the_text_classifier_reads_text_and_answers_a_label_per_text(endpoints):
    aws, names = endpoints
    texts = ["I love it, works great and the battery is excellent.", "Broken, slow and useless."]
    resp = invoke(
        aws, names["demo-nlp"], json.dumps({"inputs": texts}).encode(), "application/json"
    )
    predictions = json.loads(resp["Body"])["predictions"]
    assert [p["label"] for p in predictions] == ["positive", "negative"]
    assert all(0.5 <= p["score"] <= 1 for p in predictions)
    lines = invoke(
        aws, names["demo-nlp"], "\n".join(texts).encode(), "text/plain", Accept="text/csv"
    )
    assert lines["ContentType"] == "text/csv"
    assert [row.split(",")[0] for row in lines["Body"].decode().split()] == ["positive", "negative"]
    as_instances = json.dumps({"instances": texts}).encode()
    assert invoke(aws, names["demo-nlp"], as_instances, "application/json")["Body"] == resp["Body"]


@pytest.mark.parametrize(
    ("body", "content_type", "status"),
    [
        (b'{"inputs": ""}', "application/json", 400),
        (b'{"inputs": [1, 2]}', "application/json", 400),
        (b"\n\n", "text/plain", 400),
        (b"some text", "image/png", 415),
    ],
)
def test_the_text_classifier_refuses_what_is_not_text(endpoints, body, content_type, status):
    aws, names = endpoints
    with pytest.raises(ClientError) as err:
        invoke(aws, names["demo-nlp"], body, content_type)
    assert error_code(err.value) == "ModelError"
    assert err.value.response["OriginalStatusCode"] == status


def test_only_the_text_classifier_reads_plain_text(endpoints):
    aws, names = endpoints
    with pytest.raises(ClientError) as err:
        invoke(aws, names["demo-tabular"], b"some text", "text/plain")
    assert err.value.response["OriginalStatusCode"] == 415
