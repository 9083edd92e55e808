"""Request parsing and answers of the demo profile models (text/csv and application/json).

Demo models really read their input: every row of numbers gets a deterministic score, so a
benchmark that sends garbage gets an error, as it would from a real container.
"""

from __future__ import annotations

import csv
import json
import math

CSV = "text/csv"
JSON = "application/json"
SUPPORTED = (CSV, JSON)


class BadRequest(ValueError):
    """The body cannot be read by the model (answered as a 4xx from the container)."""

    def __init__(self, message: str, status_code: int = 400):
        self.status_code = status_code
        super().__init__(message)


def media_type(header: str | None) -> str:
    """The bare media type of a Content-Type/Accept header (``text/csv; x=y`` -> ``text/csv``)."""
    return (header or "").split(";", 1)[0].strip().lower()


def parse_rows(body: bytes, content_type: str | None) -> list[list[float]]:
    """Rows of numbers from a text/csv or application/json ``{"instances": [...]}`` body."""
    kind = media_type(content_type)
    if kind not in SUPPORTED:
        raise BadRequest(
            f"Unsupported content type {content_type!r}: use text/csv or application/json", 415
        )
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


def predict(
    body: bytes, content_type: str | None, accept: str | None, kind: str
) -> tuple[bytes, str, int]:
    """Run a demo model on ``body``: (response body, response content type, row count)."""
    rows = parse_rows(body, content_type)
    out_type = answer_type(content_type, accept)
    return format_scores([score_row(r, kind) for r in rows], out_type), out_type, len(rows)
