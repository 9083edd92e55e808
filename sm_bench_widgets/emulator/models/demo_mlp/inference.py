"""demo-mlp: a SageMaker inference script serving a small numpy MLP (4 features -> 1 value).

Follows the SageMaker inference-toolkit convention (model_fn, input_fn, predict_fn,
output_fn), so it runs in a SageMaker framework container or the local emulator; it reads
CSV with the emulator's own parser, so a container needs ``sm_bench_widgets`` installed.
Requests: ``text/csv`` (one row of 4 numbers per line) or ``application/json``
(``{"instances": [[x0, x1, x2, x3], ...]}``). Responses: CSV (one prediction per line) or
JSON (``{"predictions": [...]}``), in the request's type unless Accept asks otherwise.
"""

from __future__ import annotations

import json
import os

import numpy as np

from sm_bench_widgets.emulator.demo_io import csv_rows

N_FEATURES = 4
CSV = "text/csv"
JSON = "application/json"


class InferenceError(ValueError):
    """A request the model cannot serve; ``status_code`` is the HTTP status to answer with."""

    status_code = 400


class UnsupportedMediaType(InferenceError):
    """A content type or Accept this script does not speak."""

    status_code = 415


def _media_type(header: str) -> str:
    """The bare media type of a Content-Type/Accept header, lower case."""
    return header.split(";", 1)[0].strip().lower()


def model_fn(model_dir: str) -> dict[str, np.ndarray]:
    """Load the weights shipped next to this script."""
    with np.load(os.path.join(model_dir, "weights.npz")) as data:
        return {name: data[name] for name in data.files}


def _rows_from_json(text: str) -> list:
    try:
        payload = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InferenceError(f"request body is not valid JSON: {exc}") from exc
    if isinstance(payload, dict):
        if "instances" not in payload:
            raise InferenceError('JSON body must be {"instances": [[4 numbers], ...]}')
        payload = payload["instances"]
    if not isinstance(payload, list):
        raise InferenceError('"instances" must be a list of rows of 4 numbers')
    return payload


def _as_matrix(rows: list) -> np.ndarray:
    if not rows:
        raise InferenceError(f"no rows in the request; send rows of {N_FEATURES} numbers")
    for number, row in enumerate(rows, start=1):
        if not isinstance(row, list | tuple) or len(row) != N_FEATURES:
            got = len(row) if isinstance(row, list | tuple) else type(row).__name__
            raise InferenceError(
                f"expected {N_FEATURES} features per row, got {got} in row {number}"
            )
    try:
        matrix = np.asarray(rows, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InferenceError(f"rows must hold {N_FEATURES} numbers each") from exc
    if not np.all(np.isfinite(matrix)):
        raise InferenceError("features must be finite numbers")
    return matrix


def input_fn(request_body: str | bytes, request_content_type: str) -> np.ndarray:
    """Parse CSV or JSON rows into an (n, 4) float matrix."""
    media = _media_type(request_content_type or "")
    if isinstance(request_body, bytes | bytearray):
        request_body = bytes(request_body).decode("utf-8")
    if media == CSV:
        return _as_matrix(csv_rows(request_body))
    if media == JSON:
        return _as_matrix(_rows_from_json(request_body))
    raise UnsupportedMediaType(
        f"content type {request_content_type!r} is not supported; use {CSV} or {JSON}"
    )


def predict_fn(input_data: np.ndarray, model: dict[str, np.ndarray]) -> np.ndarray:
    """Forward pass: standardize, two tanh layers, linear output, unstandardize."""
    z = (input_data - model["x_mean"]) / model["x_std"]
    h1 = np.tanh(z @ model["w1"] + model["b1"])
    h2 = np.tanh(h1 @ model["w2"] + model["b2"])
    out = (h2 @ model["w3"] + model["b3"])[:, 0]
    return out * model["y_std"] + model["y_mean"]


def output_fn(prediction: np.ndarray, accept: str) -> tuple[str, str]:
    """Serialize predictions as CSV lines or a JSON object, with the content type used."""
    media = _media_type(accept or "")
    values = [float(v) for v in np.asarray(prediction).ravel()]
    if media == CSV:
        return "".join(f"{v!r}\n" for v in values), CSV
    if media == JSON:
        return json.dumps({"predictions": values}), JSON
    raise UnsupportedMediaType(f"accept {accept!r} is not supported; use {CSV} or {JSON}")
