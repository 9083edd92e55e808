"""Payload sources: a file path, an upload, inline JSON Lines; the 4 MB limit refused."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from sm_bench_widgets.limits import MAX_PAYLOAD_BYTES
from sm_bench_widgets.payloads import write_jsonl
from sm_bench_widgets.widgets.payload_source import parse_jsonl_text, summarize_examples

EXAMPLES = [
    {"Body": "1,2,3,4", "ContentType": "text/csv"},
    {"Body": '{"instances": [[1, 2, 3, 4]]}', "ContentType": "application/json"},
    {"Body": b"\x00\x01binary", "ContentType": "application/octet-stream"},
]


def _upload(name: str, data: bytes) -> tuple[dict, ...]:
    return (
        {
            "name": name,
            "type": "application/jsonl",
            "size": len(data),
            "content": memoryview(data),
            "last_modified": datetime.now(UTC),
        },
    )


def test_file_path_source(make_panel, tmp_path):
    path = write_jsonl(EXAMPLES, tmp_path / "examples.jsonl")
    panel = make_panel(invoke_args_examples=None, invoke_args_examples_file=str(path))
    assert panel.payloads.mode.value == "File"
    summary = panel.payloads.summary.value
    assert "3 example(s)" in summary and "text/csv x1" in summary
    assert "application/octet-stream x1" in summary
    config = panel.config
    assert config.invoke_args_examples_file == str(path)
    assert config.invoke_args_examples is None
    panel.payloads.path.value = str(tmp_path / "missing.jsonl")
    assert "invoke_args_examples_file" in panel.payloads.flag_html.value
    assert panel.run_button.disabled


def test_inline_source_round_trips_binary_bodies(make_panel):
    panel = make_panel(invoke_args_examples=EXAMPLES)
    assert panel.payloads.mode.value == "Inline"
    assert panel.config.invoke_args_examples == EXAMPLES  # bytes survive via base64
    panel.payloads.inline.value = '{"Body": "1,2"}\nnot json'
    assert "inline:2" in panel.payloads.flag_html.value
    assert panel.run_button.disabled
    panel.payloads.inline.value = '{"Body": "9,9,9,9", "ContentType": "text/csv"}'
    assert not panel.run_button.disabled
    assert panel.config.invoke_args_examples == [{"Body": "9,9,9,9", "ContentType": "text/csv"}]


def test_upload_source(make_panel):
    panel = make_panel()
    panel.payloads.mode.value = "Upload"
    assert panel.run_button.disabled  # nothing uploaded yet
    text = "\n".join(json.dumps(e) for e in EXAMPLES[:2]).encode()
    panel.payloads.upload.value = _upload("mine.jsonl", text)
    assert "2 example(s)" in panel.payloads.summary.value
    assert not panel.run_button.disabled
    assert panel.config.invoke_args_examples == EXAMPLES[:2]
    panel.payloads.upload.value = _upload("mine.pkl", b"\x80\x04")
    assert "pickle files only by path" in panel.payloads.flag_html.value
    assert panel.run_button.disabled


def test_bodies_over_4_mb_are_refused_from_every_source(make_panel, tmp_path):
    big = {"Body": "x" * (MAX_PAYLOAD_BYTES + 1), "ContentType": "text/csv"}
    panel = make_panel()
    panel.payloads.inline.value = json.dumps(big)
    assert "4 MB" in panel.payloads.flag_html.value
    assert panel.run_button.disabled
    panel.payloads.mode.value = "Upload"
    panel.payloads.upload.value = _upload("big.jsonl", json.dumps(big).encode())
    assert "4 MB" in panel.payloads.flag_html.value
    path = tmp_path / "big.jsonl"
    path.write_text(json.dumps(big) + "\n")
    panel.payloads.mode.value = "File"
    panel.payloads.path.value = str(path)
    assert "4 MB" in panel.payloads.flag_html.value
    assert panel.run_button.disabled
    exactly = {"Body": "x" * MAX_PAYLOAD_BYTES}
    assert (
        summarize_examples(parse_jsonl_text(json.dumps(exactly)))["max_bytes"] == MAX_PAYLOAD_BYTES
    )
