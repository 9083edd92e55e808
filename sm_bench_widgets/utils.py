"""Seed-compatible helpers to write and read invoke-argument example files.

Same names, parameters and file names as ``sm_serverless_benchmarking.utils``; the files
are checked on the way out and binary bodies survive JSON Lines as ``{"base64": ...}``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sm_bench_widgets.payloads import load_examples, write_jsonl, write_pickle

JSONL_FILE_NAME = "invoke_args_examples.jsonl"
PKL_FILE_NAME = "invoke_args_examples.pkl"


def convert_invoke_args_to_jsonl(
    invoke_args_examples: list[dict[str, Any]], output_path: str = "."
) -> Path:
    """Write the examples to ``output_path/invoke_args_examples.jsonl`` and return that path.

    Each example is a dict of InvokeEndpoint arguments; ``bytes`` bodies are stored as
    ``{"Body": {"base64": ...}}`` and come back as ``bytes`` when read.
    """
    return write_jsonl(invoke_args_examples, _output_dir(output_path) / JSONL_FILE_NAME)


def convert_invoke_args_to_pkl(
    invoke_args_examples: list[dict[str, Any]], output_path: str = "."
) -> Path:
    """Write the examples to ``output_path/invoke_args_examples.pkl`` and return that path.

    Kept for the seed toolkit's users: reading the file back needs ``allow_pickle=True``
    (a pickle runs code when read). ``convert_invoke_args_to_jsonl`` is the safe format,
    binary bodies included.
    """
    return write_pickle(invoke_args_examples, _output_dir(output_path) / PKL_FILE_NAME)


def read_example_args_file(
    example_args_file: str | Path, allow_pickle: bool = False
) -> list[dict[str, Any]]:
    """Read examples from JSON Lines or, with ``allow_pickle=True``, a ``.pkl`` file.

    Reading a pickle runs code chosen by its author, so it is refused unless allowed:
    allow it only for ``.pkl`` files you wrote or trust.
    """
    return load_examples(example_args_file, allow_pickle)


def _output_dir(output_path: str | Path) -> Path:
    path = Path(output_path)
    path.mkdir(parents=True, exist_ok=True)
    return path
