"""Request parsing and answers of the demo profile models.

Demo models really read their input, so a benchmark that sends garbage gets an error, as
it would from a real container. Every row of numbers (text/csv, or application/json
``{"instances": [[...], ...]}``) gets a deterministic score. The text classifier
(``kind="nlp"``) reads text too: text/plain (one text per line) or application/json
``{"inputs": "..." | ["...", ...]}`` (the Hugging Face convention) or ``{"instances":
["...", ...]}``, and answers a sentiment label and its score for each text; rows of numbers
stand for precomputed sentence embeddings there, as the older toolkit's examples send.
"""

from __future__ import annotations

import csv
import json
import math
import re
import zlib
from typing import Any

CSV = "text/csv"
JSON = "application/json"
TEXT = "text/plain"
SUPPORTED = (CSV, JSON)
POSITIVE_WORDS = frozenset(
    re.findall(
        r"\w+",
        "good great love loved excellent gorgeous fast perfect happy recommend works worth "
        "easy best nice amazing reliable exactly solid pleasant decent",
    )
)
NEGATIVE_WORDS = frozenset(
    re.findall(
        r"\w+",
        "bad poor hate broke broken crushed missing slow never refund worst terrible awful "
        "useless disappointed stopped confusing late noisy cheap",
    )
)


class BadRequest(ValueError):
    """The body cannot be read by the model (answered as a 4xx from the container)."""

    def __init__(self, message: str, status_code: int = 400):
        self.status_code = status_code
        super().__init__(message)


def media_type(header: str | None) -> str:
    """The bare media type of a Content-Type/Accept header (``text/csv; x=y`` -> ``text/csv``)."""
    return (header or "").split(";", 1)[0].strip().lower()


def parse_rows(body: bytes, content_type: str | None, model: str = "") -> list[list[float]]:
    """Rows of numbers from a text/csv or application/json ``{"instances": [...]}`` body."""
    kind = media_type(content_type)
    if kind not in SUPPORTED:
        allowed = (
            "text/plain, text/csv or application/json"
            if model == "nlp"
            else ("text/csv or application/json")
        )
        raise BadRequest(f"Unsupported content type {content_type!r}: use {allowed}", 415)
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadRequest(f"body is not UTF-8 text: {exc}") from exc
    rows = csv_rows(text) if kind == CSV else _json_rows(text)
    if not rows:
        raise BadRequest("empty input: send at least one row of numbers")
    return rows


def csv_rows(text: str) -> list[list[float]]:
    """Rows of numbers from CSV text, skipping blank lines; ``BadRequest`` names a bad row."""
    reader = csv.reader(text.splitlines())
    rows = []
    try:
        for cells in reader:
            if not cells or (len(cells) == 1 and not cells[0].strip()):
                continue
            try:
                rows.append([float(cell) for cell in cells])
            except ValueError as exc:
                shown = ",".join(cells)[:80]
                raise BadRequest(f"row {reader.line_num} is not numeric CSV: {shown!r}") from exc
    except csv.Error as exc:
        raise BadRequest(f"row {reader.line_num} is not valid CSV: {exc}") from exc
    return rows


def _json_rows(text: str) -> list[list[float]]:
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise BadRequest(f"body is not valid JSON: {exc}") from exc
    instances = doc.get("instances") if isinstance(doc, dict) else doc
    if not isinstance(instances, list):
        raise BadRequest('JSON body must be {"instances": [[number, ...], ...]}')
    rows = []
    for i, row in enumerate(instances):
        if isinstance(row, int | float) and not isinstance(row, bool):
            row = [row]
        if not isinstance(row, list) or not all(
            isinstance(x, int | float) and not isinstance(x, bool) for x in row
        ):
            raise BadRequest(f"instances[{i}] is not a list of numbers")
        rows.append([float(x) for x in row])
    return rows


def score_row(row: list[float], kind: str) -> float:
    """A deterministic score in (0, 1) for one row: a fixed linear model and a sigmoid."""
    salt = 0.7 if kind == "nlp" else 0.3
    z = sum(math.sin(i + 1 + salt) * x for i, x in enumerate(row)) / math.sqrt(len(row))
    return 1.0 / (1.0 + math.exp(-max(min(z, 50.0), -50.0)))


def answer_type(content_type: str | None, accept: str | None) -> str:
    """The response type: ``Accept`` if it names a supported type, else the request's type."""
    wanted = media_type(accept)
    return wanted if wanted in SUPPORTED else media_type(content_type)


def format_scores(scores: list[float], kind: str) -> bytes:
    """Scores as text/csv (one per line) or application/json ``{"predictions": [...]}``."""
    if kind == CSV:
        return "".join(f"{s:.6f}\n" for s in scores).encode()
    return json.dumps({"predictions": [round(s, 6) for s in scores]}).encode()


def parse_texts(body: bytes, content_type: str | None) -> list[str] | None:
    """The texts of a text request (text/plain lines, JSON ``inputs`` or string
    ``instances``); None when the body holds rows of numbers instead."""
    kind = media_type(content_type)
    if kind not in (TEXT, JSON):
        return None
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadRequest(f"body is not UTF-8 text: {exc}") from exc
    if kind == TEXT:
        texts = [line.strip() for line in text.splitlines() if line.strip()]
        if not texts:
            raise BadRequest("empty input: send at least one line of text")
        return texts
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise BadRequest(f"body is not valid JSON: {exc}") from exc
    if isinstance(doc, dict) and "inputs" in doc:
        return _strings(doc["inputs"], "inputs")
    instances = doc.get("instances") if isinstance(doc, dict) else doc
    if isinstance(instances, list) and instances and all(isinstance(x, str) for x in instances):
        return _strings(instances, "instances")
    return None


def _strings(value: Any, name: str) -> list[str]:
    texts = [value] if isinstance(value, str) else value
    if not isinstance(texts, list) or not texts or not all(isinstance(t, str) for t in texts):
        raise BadRequest(f'"{name}" must be a text or a non-empty list of texts')
    if not all(t.strip() for t in texts):
        raise BadRequest(f'"{name}" holds an empty text')
    return texts


def classify_text(text: str) -> tuple[str, float]:
    """A deterministic sentiment (label, its probability) for ``text``: a small word list
    and a fixed per-text offset, so equal texts get equal answers."""
    words = re.findall(r"[a-z']+", text.lower())
    votes = sum(w in POSITIVE_WORDS for w in words) - sum(w in NEGATIVE_WORDS for w in words)
    offset = (zlib.crc32(text.encode()) % 1000) / 1000.0 - 0.5
    p_positive = 1.0 / (1.0 + math.exp(-(1.6 * votes + offset)))
    if p_positive >= 0.5:
        return "positive", p_positive
    return "negative", 1.0 - p_positive


def format_labels(labels: list[tuple[str, float]], kind: str) -> bytes:
    """Labels as text/csv (``label,score`` per line) or application/json
    ``{"predictions": [{"label": ..., "score": ...}, ...]}``."""
    if kind == CSV:
        return "".join(f"{label},{score:.6f}\n" for label, score in labels).encode()
    predictions = [{"label": label, "score": round(score, 6)} for label, score in labels]
    return json.dumps({"predictions": predictions}).encode()


def predict(
    body: bytes, content_type: str | None, accept: str | None, kind: str
) -> tuple[bytes, str, int]:
    """Run a demo model on ``body``: (response body, response content type, row count)."""
    texts = parse_texts(body, content_type) if kind == "nlp" else None
    if texts is not None:
        wanted = media_type(accept)
        out_type = wanted if wanted in SUPPORTED else JSON
        return format_labels([classify_text(t) for t in texts], out_type), out_type, len(texts)
    rows = parse_rows(body, content_type, kind)
    out_type = answer_type(content_type, accept)
    return format_scores([score_row(r, kind) for r in rows], out_type), out_type, len(rows)
