"""Payload examples: file formats, binary bodies, limits and weighted drawing."""

from __future__ import annotations

import json
import pickle
from collections import Counter

import pytest

from sm_bench_widgets.config import ConfigError
from sm_bench_widgets.limits import MAX_PAYLOAD_BYTES
from sm_bench_widgets.payloads import (
    PayloadSampler,
    allowed_keys,
    body_size,
    check_examples,
    load_examples,
    write_jsonl,
    write_pickle,
)

SEED_FILE_LINES = [
    '{"Body": "{\\"inputs\\": \\"the leads keep the film grounded.\\"}", '
    '"ContentType": "application/json"}',
    '{"Body": "{\\"inputs\\": \\"Not the best movie\\"}", "ContentType": "application/json"}',
]
BINARY = bytes(range(256)) * 4


def test_seed_format_jsonl_is_read_as_is(tmp_path):
    path = tmp_path / "invoke_args_examples.jsonl"
    path.write_text("\n".join(SEED_FILE_LINES) + "\n\n")
    examples = load_examples(path)
    assert len(examples) == 2
    assert examples[0]["ContentType"] == "application/json"
    assert json.loads(examples[1]["Body"]) == {"inputs": "Not the best movie"}


def test_jsonl_round_trip_keeps_binary_bodies(tmp_path):
    examples = [{"Body": BINARY, "ContentType": "image/png"}, {"Body": "1,2", "Accept": "text/csv"}]
    path = write_jsonl(examples, tmp_path / "ex.jsonl")
    first = json.loads(path.read_text().splitlines()[0])
    assert set(first["Body"]) == {"base64"}
    assert load_examples(path) == examples
    assert isinstance(load_examples(path)[0]["Body"], bytes)


def test_pickle_round_trip(tmp_path):
    examples = [{"Body": BINARY, "ContentType": "application/x-image"}]
    path = write_pickle(examples, tmp_path / "ex.pkl")
    assert load_examples(path, allow_pickle=True) == examples


def test_pickle_is_refused_unless_allowed_and_is_not_run(tmp_path):
    marker = tmp_path / "ran"
    path = tmp_path / "evil.pkl"
    path.write_bytes(pickle.dumps(_WritesAFile(str(marker))))
    with pytest.raises(ConfigError, match=r"invoke_args_examples_file=.*allow_pickle=True"):
        load_examples(path)
    assert not marker.exists()  # refused before unpickling: no code ran


class _WritesAFile:
    """A pickle that creates a file when loaded, as a hostile one could run anything."""

    def __init__(self, path: str):
        self.path = path

    def __reduce__(self):
        return (open, (self.path, "w"))


def test_pickle_of_wrong_type_is_refused(tmp_path):
    path = tmp_path / "bad.pkl"
    path.write_bytes(pickle.dumps({"Body": "x"}))
    with pytest.raises(ConfigError, match="list of dicts"):
        load_examples(path, allow_pickle=True)


def test_body_over_4mb_names_the_field_and_limit():
    examples = [
        {"Body": "a"},
        {"Body": "b"},
        {"Body": "c"},
        {"Body": b"x" * (MAX_PAYLOAD_BYTES + 1)},
    ]
    with pytest.raises(ConfigError) as info:
        check_examples(examples)
    assert info.value.field == "invoke_args_examples[3].Body"
    assert "4 MB" in str(info.value) and str(MAX_PAYLOAD_BYTES + 1) in str(info.value)
    check_examples([{"Body": b"x" * MAX_PAYLOAD_BYTES}])


def test_body_size_counts_utf8_bytes():
    assert body_size({"Body": "é"}) == 2
    assert body_size({"Body": b"abc"}) == 3


def test_unknown_key_lists_allowed_keys():
    with pytest.raises(ConfigError) as info:
        check_examples([{"Body": "1", "ContentTyp": "text/csv"}])
    assert info.value.field == "invoke_args_examples[0].ContentTyp"
    assert "ContentType" in str(info.value) and "CustomAttributes" in str(info.value)
    assert "EndpointName" not in allowed_keys()


def test_endpoint_name_is_refused():
    with pytest.raises(ConfigError, match="sets it"):
        check_examples([{"Body": "1", "EndpointName": "x"}])


@pytest.mark.parametrize(
    ("examples", "field"),
    [
        ([], "invoke_args_examples"),
        ([{"ContentType": "text/csv"}], "invoke_args_examples[0]"),
        (["1,2,3"], "invoke_args_examples[0]"),
        ([{"Body": 5}], "invoke_args_examples[0].Body"),
        ([{"Body": "1", "ContentType": 3}], "invoke_args_examples[0].ContentType"),
        (
            [{"Body": "1", "CustomAttributes": "x" * 2000}],
            "invoke_args_examples[0].CustomAttributes",
        ),
    ],
)
def test_bad_shapes_name_the_field(examples, field):
    with pytest.raises(ConfigError) as info:
        check_examples(examples)
    assert info.value.field == field


def test_bad_json_line_names_file_and_line(tmp_path):
    path = tmp_path / "ex.jsonl"
    path.write_text('{"Body": "1"}\n{"Body": oops}\n')
    with pytest.raises(ConfigError) as info:
        load_examples(path)
    assert info.value.field == "ex.jsonl:2"


def test_bad_base64_and_unknown_body_object(tmp_path):
    path = tmp_path / "ex.jsonl"
    path.write_text('{"Body": {"base64": "***"}}\n')
    with pytest.raises(ConfigError, match="base64"):
        load_examples(path)
    path.write_text('{"Body": {"inputs": "x"}}\n')
    with pytest.raises(ConfigError) as info:
        load_examples(path)
    assert info.value.field == "invoke_args_examples[0].Body"


def test_missing_file():
    with pytest.raises(ConfigError) as info:
        load_examples("/nonexistent/examples.jsonl")
    assert info.value.field == "invoke_args_examples_file"


def test_sampler_follows_weights_and_seed():
    examples = [{"Body": "a"}, {"Body": "b"}, {"Body": "c"}]
    sampler = PayloadSampler(examples, weights=[1, 0, 3], seed=7)
    draws = [sampler.draw() for _ in range(4000)]
    counts = Counter(i for i, _ in draws)
    assert counts[1] == 0
    assert 0.2 < counts[0] / 4000 < 0.3
    assert all(kwargs == examples[i] for i, kwargs in draws)
    again = PayloadSampler(examples, weights=[1, 0, 3], seed=7)
    assert [again.draw()[0] for _ in range(50)] == [i for i, _ in draws[:50]]


def test_sampler_knows_each_body_size_on_the_wire():
    sampler = PayloadSampler([{"Body": "é,1"}, {"Body": b"\x00\x01"}], seed=1)
    assert sampler.sizes == [4, 2]


def test_sampler_returns_copies():
    sampler = PayloadSampler([{"Body": "a"}], seed=1)
    _, kwargs = sampler.draw()
    kwargs["EndpointName"] = "e"
    assert "EndpointName" not in sampler.draw()[1]


@pytest.mark.parametrize("weights", [[1, 2], [1, 2, -1], [0, 0, 0], [1, "x", 2]])
def test_sampler_refuses_bad_weights(weights):
    with pytest.raises(ConfigError) as info:
        PayloadSampler([{"Body": "a"}, {"Body": "b"}, {"Body": "c"}], weights=weights)
    assert info.value.field == "payload_weights"
    assert "3 non-negative numbers" in str(info.value)


def test_a_folder_as_payload_file_is_named_as_such(tmp_path):
    with pytest.raises(ConfigError, match="not a folder") as info:
        load_examples(tmp_path)
    assert info.value.field == "invoke_args_examples_file"


def test_raw_binary_body_in_jsonl_asks_for_base64(tmp_path):
    path = tmp_path / "ex.jsonl"
    path.write_bytes(b'{"Body": "1"}\n{"Body": "\x89PNG\xff\xfe\x00"}\n')
    with pytest.raises(ConfigError, match=r'\{"base64": "\.\.\."\}') as info:
        load_examples(path)
    assert info.value.field == "ex.jsonl:2"
