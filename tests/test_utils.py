"""Seed-compatible example file helpers."""

from __future__ import annotations

import pytest

from sm_bench_widgets.config import ConfigError
from sm_bench_widgets.utils import (
    convert_invoke_args_to_jsonl,
    convert_invoke_args_to_pkl,
    read_example_args_file,
)

EXAMPLES = [
    {"Body": "1,2,3,4,5", "ContentType": "text/csv"},
    {"Body": "6,7,8,9,10", "ContentType": "text/csv"},
]


def test_jsonl_file_name_and_round_trip(tmp_path):
    path = convert_invoke_args_to_jsonl(EXAMPLES, output_path=str(tmp_path))
    assert path == tmp_path / "invoke_args_examples.jsonl"
    assert read_example_args_file(path) == EXAMPLES
    assert read_example_args_file(str(path)) == EXAMPLES


def test_default_output_path_is_cwd(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = convert_invoke_args_to_jsonl(EXAMPLES)
    assert path.resolve() == (tmp_path / "invoke_args_examples.jsonl").resolve()


def test_pkl_round_trip_with_binary(tmp_path):
    examples = [{"Body": b"\x89PNG\r\n\x1a\n\x00", "ContentType": "image/png"}]
    path = convert_invoke_args_to_pkl(examples, output_path=str(tmp_path / "new"))
    assert path.name == "invoke_args_examples.pkl"
    assert read_example_args_file(path, allow_pickle=True) == examples
    with pytest.raises(ConfigError, match="allow_pickle"):
        read_example_args_file(path)


def test_binary_body_survives_jsonl(tmp_path):
    examples = [{"Body": b"\x00\xff\x10", "ContentType": "application/octet-stream"}]
    assert read_example_args_file(convert_invoke_args_to_jsonl(examples, tmp_path)) == examples


def test_bad_examples_are_refused_before_writing(tmp_path):
    with pytest.raises(ConfigError) as info:
        convert_invoke_args_to_jsonl([{"Body": "1"}, {"body": "2"}], output_path=str(tmp_path))
    assert info.value.field == "invoke_args_examples[1]"
    assert not (tmp_path / "invoke_args_examples.jsonl").exists()
