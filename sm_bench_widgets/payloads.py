"""Invoke-argument examples: load, check and draw the payloads a benchmark sends.

An example is a dict of ``InvokeEndpoint`` arguments without ``EndpointName`` (the runner
sets it), e.g. ``{"Body": "1,2,3", "ContentType": "text/csv"}``. Files are JSON Lines, one
example per line, the format of the ``sm-serverless-benchmarking`` toolkit; a binary body
is written as ``{"Body": {"base64": "..."}}`` and read back as ``bytes``. Pickle files are
read too, but only when the caller allows it explicitly (see ``load_examples``).
"""

from __future__ import annotations

import base64
import binascii
import bisect
import functools
import itertools
import json
import pickle
import random
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sm_bench_widgets.config import ConfigError
from sm_bench_widgets.limits import MAX_PAYLOAD_BYTES

EXAMPLES_FIELD = "invoke_args_examples"
FILE_FIELD = "invoke_args_examples_file"
WEIGHTS_FIELD = "payload_weights"
BASE64_KEY = "base64"


@functools.lru_cache(maxsize=1)
def invoke_arg_shapes() -> dict[str, Any]:
    """The ``InvokeEndpoint`` input members botocore knows, minus ``EndpointName``."""
    import botocore.session

    model = botocore.session.get_session().get_service_model("sagemaker-runtime")
    members = model.operation_model("InvokeEndpoint").input_shape.members
    return {name: shape for name, shape in members.items() if name != "EndpointName"}


def allowed_keys() -> list[str]:
    """Keys an example may carry: the ``InvokeEndpoint`` arguments except ``EndpointName``."""
    return list(invoke_arg_shapes())


def body_size(example: dict[str, Any]) -> int:
    """Size in bytes of an example's ``Body`` as sent on the wire (UTF-8 for text)."""
    body = example.get("Body", b"")
    if isinstance(body, str):
        return len(body.encode("utf-8"))
    if isinstance(body, bytes | bytearray | memoryview):
        return len(body)
    raise TypeError(f"Body must be str or bytes, not {type(body).__name__}")


def check_examples(examples: Any, field: str = EXAMPLES_FIELD) -> None:
    """Raise ``ConfigError`` naming the first bad example field, before any AWS call."""
    if not isinstance(examples, list | tuple) or not examples:
        raise ConfigError(
            field,
            _short(examples),
            "a non-empty list of InvokeEndpoint argument dicts, each with a Body",
        )
    shapes = invoke_arg_shapes()
    for i, example in enumerate(examples):
        where = f"{field}[{i}]"
        if not isinstance(example, dict):
            raise ConfigError(
                where,
                _short(example),
                "a dict of InvokeEndpoint arguments, e.g. "
                "{'Body': '1,2,3', 'ContentType': 'text/csv'}",
            )
        if "Body" not in example:
            raise ConfigError(where, _short(example), "a dict with a 'Body' key")
        for key, value in example.items():
            if key == "EndpointName":
                raise ConfigError(
                    f"{where}.{key}",
                    value,
                    "no EndpointName: the benchmark sets it for each endpoint",
                )
            if key not in shapes:
                raise ConfigError(
                    f"{where}.{key}", _short(value), f"a key from {', '.join(allowed_keys())}"
                )
            if key == "Body":
                _check_body(f"{where}.Body", value)
            else:
                _check_string(f"{where}.{key}", value, shapes[key].metadata)


def _check_body(where: str, body: Any) -> None:
    if not isinstance(body, str | bytes | bytearray):
        raise ConfigError(
            where,
            _short(body),
            "str or bytes (in JSON Lines: a string, or {'base64': '...'} for binary data)",
        )
    size = body_size({"Body": body})
    if size > MAX_PAYLOAD_BYTES:
        raise ConfigError(
            where,
            f"<{size} bytes>",
            f"a body of at most 4 MB ({MAX_PAYLOAD_BYTES} bytes), the serverless "
            f"payload limit; this one is {size} bytes",
        )


def _check_string(where: str, value: Any, metadata: dict[str, Any]) -> None:
    limit = metadata.get("max")
    if not isinstance(value, str):
        raise ConfigError(where, _short(value), "a string")
    if limit is not None and len(value) > limit:
        raise ConfigError(where, _short(value), f"a string of at most {limit} characters")
    if metadata.get("min") and len(value) < metadata["min"]:
        raise ConfigError(where, value, f"a string of at least {metadata['min']} characters")


def _short(value: Any, limit: int = 80) -> Any:
    text = repr(value)
    return value if len(text) <= limit else text[: limit - 3] + "..."


# -- files ---------------------------------------------------------------------------------
def load_examples(path: str | Path, allow_pickle: bool = False) -> list[dict[str, Any]]:
    """Read and check examples from JSON Lines, or from a ``.pkl`` file if ``allow_pickle``.

    Any suffix other than ``.pkl`` is read as JSON Lines (as the seed toolkit did).
    Unpickling runs code chosen by whoever wrote the file, so a ``.pkl`` file is refused
    unless ``allow_pickle=True`` (CLI ``--allow-pickle``): pass it only for a file you
    created or trust. Prefer JSON Lines with ``{"base64": ...}`` bodies for binary data.
    """
    p = Path(path)
    if p.is_dir():
        raise ConfigError(
            FILE_FIELD, str(path), "a JSON Lines file, not a folder (e.g. folder/examples.jsonl)"
        )
    if not p.is_file():
        raise ConfigError(FILE_FIELD, str(path), "an existing JSON Lines (.jsonl) file")
    if p.suffix == ".pkl" and not allow_pickle:
        raise ConfigError(
            FILE_FIELD,
            str(path),
            "a JSON Lines file; a pickle file runs code when read, so it is read only with "
            "allow_pickle=True (CLI --allow-pickle) and only if you trust who wrote it. "
            "convert_invoke_args_to_jsonl writes a safe JSON Lines file, binary bodies "
            "as base64",
        )
    try:
        examples = _read_pickle(p) if p.suffix == ".pkl" else _read_jsonl(p)
    except OSError as exc:
        raise ConfigError(
            FILE_FIELD, str(path), f"a readable file ({exc.strerror or exc})"
        ) from None
    check_examples(examples)
    return examples


def _read_pickle(path: Path) -> list[dict[str, Any]]:
    with path.open("rb") as f:
        try:
            data = pickle.load(f)
        except Exception as exc:
            raise ConfigError(
                FILE_FIELD, str(path), f"a pickle of a list of dicts (could not unpickle: {exc})"
            ) from exc
    if not isinstance(data, list):
        raise ConfigError(
            FILE_FIELD, str(path), f"a pickle of a list of dicts, not of {type(data).__name__}"
        )
    return data


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    examples: list[dict[str, Any]] = []
    with path.open("rb") as f:
        for lineno, raw in enumerate(f, start=1):
            where = f"{path.name}:{lineno}"
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError:
                raise ConfigError(
                    where,
                    f"<{len(raw)} bytes, not UTF-8 text>",
                    'one JSON object per line, in UTF-8; give a binary body as {"Body": '
                    '{"base64": "..."}} (convert_invoke_args_to_jsonl writes it so)',
                ) from None
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                raise ConfigError(
                    where, _short(line.strip()), f"one JSON object per line ({exc.msg})"
                ) from exc
            if not isinstance(obj, dict):
                raise ConfigError(where, _short(obj), "one JSON object per line")
            examples.append(decode_example(obj, f"{EXAMPLES_FIELD}[{len(examples)}]"))
    return examples


def decode_example(obj: dict[str, Any], where: str = EXAMPLES_FIELD) -> dict[str, Any]:
    """A JSON-decoded example with a ``{"base64": ...}`` body turned into bytes."""
    body = obj.get("Body")
    if not isinstance(body, dict):
        return obj
    if set(body) != {BASE64_KEY} or not isinstance(body[BASE64_KEY], str):
        raise ConfigError(
            f"{where}.Body", _short(body), "a string, or {'base64': '...'} for binary data"
        )
    try:
        raw = base64.b64decode(body[BASE64_KEY], validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ConfigError(
            f"{where}.Body.base64", _short(body[BASE64_KEY]), "valid base64 text"
        ) from exc
    return {**obj, "Body": raw}


def encode_example(example: dict[str, Any]) -> dict[str, Any]:
    """A JSON-serialisable example: bytes bodies become ``{"base64": ...}``."""
    body = example.get("Body")
    if isinstance(body, bytes | bytearray | memoryview):
        return {**example, "Body": {BASE64_KEY: base64.b64encode(bytes(body)).decode("ascii")}}
    return dict(example)


def write_jsonl(examples: Sequence[dict[str, Any]], path: str | Path) -> Path:
    """Write checked examples as JSON Lines (binary bodies as base64) and return the path."""
    check_examples(list(examples))
    p = Path(path)
    with p.open("w", encoding="utf-8") as f:
        for example in examples:
            f.write(json.dumps(encode_example(example)) + "\n")
    return p


def write_pickle(examples: Sequence[dict[str, Any]], path: str | Path) -> Path:
    """Write checked examples as a pickle of a list of dicts and return the path."""
    check_examples(list(examples))
    p = Path(path)
    with p.open("wb") as f:
        pickle.dump(list(examples), f)
    return p


# -- sampling ------------------------------------------------------------------------------
class PayloadSampler:
    """Draws examples at random, weighted, from a seeded generator; safe across threads."""

    def __init__(
        self,
        examples: Sequence[dict[str, Any]],
        weights: Sequence[float] | None = None,
        seed: int | None = None,
    ):
        check_examples(list(examples))
        self.examples = list(examples)
        if weights is None:
            weights = [1.0] * len(self.examples)
        _check_weights(weights, len(self.examples))
        self.weights = [float(w) for w in weights]
        self.sizes = [body_size(e) for e in self.examples]  # bytes_in, once, not per call
        self._cumulative = list(itertools.accumulate(self.weights))
        self._rng = random.Random(seed)
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self.examples)

    def draw(self) -> tuple[int, dict[str, Any]]:
        """The index of a drawn example and a fresh copy of its invoke arguments."""
        with self._lock:
            x = self._rng.random() * self._cumulative[-1]
        index = bisect.bisect_right(self._cumulative, x)
        index = min(index, len(self.examples) - 1)
        while self.weights[index] == 0:  # x landed on the edge of a zero-width slot
            index -= 1
        return index, dict(self.examples[index])


def _check_weights(weights: Any, count: int) -> None:
    what = f"a list of {count} non-negative numbers, one per example, not all 0"
    if not isinstance(weights, list | tuple) or len(weights) != count:
        raise ConfigError(WEIGHTS_FIELD, _short(weights), what)
    for w in weights:
        if not isinstance(w, int | float) or isinstance(w, bool) or not w >= 0:
            raise ConfigError(WEIGHTS_FIELD, _short(weights), what)
    if sum(weights) <= 0:
        raise ConfigError(WEIGHTS_FIELD, _short(weights), what)
