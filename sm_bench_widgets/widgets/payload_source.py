"""Where the payload examples come from: a file path, an uploaded file or inline JSON Lines.

Shows how many examples there are, their sizes and content types, and refuses bodies over
the 4 MB serverless limit (the checks of ``sm_bench_widgets.payloads``).
"""

from __future__ import annotations

import html
import json
import statistics
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import ipywidgets as w

from sm_bench_widgets.config import ConfigError
from sm_bench_widgets.payloads import (
    EXAMPLES_FIELD,
    FILE_FIELD,
    body_size,
    check_examples,
    decode_example,
    encode_example,
    load_examples,
)
from sm_bench_widgets.widgets.fields import flag_markup

MODES = ("File", "Upload", "Inline")
INLINE_PLACEHOLDER = '{"Body": "1,2,3,4", "ContentType": "text/csv"}'


def parse_jsonl_text(text: str, source: str = "inline") -> list[dict[str, Any]]:
    """Examples from JSON Lines text (``{"base64": ...}`` bodies become bytes), checked."""
    examples: list[dict[str, Any]] = []
    for lineno, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ConfigError(
                f"{source}:{lineno}", line.strip()[:60], f"one JSON object per line ({exc.msg})"
            ) from None
        if not isinstance(obj, dict):
            raise ConfigError(f"{source}:{lineno}", obj, "one JSON object per line")
        examples.append(decode_example(obj, f"{EXAMPLES_FIELD}[{len(examples)}]"))
    check_examples(examples)
    return examples


def examples_to_jsonl(examples: list[dict[str, Any]]) -> str:
    """Examples as JSON Lines text for the inline editor."""
    return "\n".join(json.dumps(encode_example(e)) for e in examples)


def summarize_examples(examples: list[dict[str, Any]]) -> dict[str, Any]:
    """Count, body sizes (min, median, max, total bytes) and content types of ``examples``."""
    sizes = [body_size(e) for e in examples]
    types = Counter(str(e.get("ContentType", "(none)")) for e in examples)
    return {
        "count": len(examples),
        "min_bytes": min(sizes),
        "median_bytes": int(statistics.median(sizes)),
        "max_bytes": max(sizes),
        "total_bytes": sum(sizes),
        "content_types": dict(types),
    }


def summary_html(summary: dict[str, Any]) -> str:
    """The summary as one line of HTML."""
    types = ", ".join(f"{html.escape(t)} x{n}" for t, n in summary["content_types"].items())
    return (
        f"<span class='smb-payload-summary'>{summary['count']} example(s); body "
        f"{_bytes(summary['min_bytes'])} to {_bytes(summary['max_bytes'])} "
        f"(median {_bytes(summary['median_bytes'])}); {types}</span>"
    )


def _bytes(n: int) -> str:
    for unit, size in (("MB", 1024**2), ("KB", 1024)):
        if n >= size:
            return f"{n / size:.1f} {unit}"
    return f"{n} B"


def upload_text(value: Any) -> tuple[str, str]:
    """The (file name, text) of the first file in a ``FileUpload`` value."""
    items = list(value or ())
    if not items:
        raise ConfigError(FILE_FIELD, None, "a JSON Lines file uploaded with the button")
    item = items[0]
    name = str(item.get("name", "upload"))
    if name.endswith(".pkl"):
        raise ConfigError(
            FILE_FIELD, name, "a JSON Lines upload; pickle files only by path (they run code)"
        )
    content = bytes(item["content"])
    try:
        return name, content.decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigError(FILE_FIELD, name, "UTF-8 JSON Lines text") from None


class PayloadSource:
    """The payload inputs; ``config_values()`` gives the config fields they stand for."""

    def __init__(self, file: str | None = None, examples: list[dict[str, Any]] | None = None):
        self.mode = w.ToggleButtons(options=list(MODES), value="Inline" if examples else "File")
        self.path = w.Text(
            value=file or "", placeholder="examples.jsonl or .pkl", layout=w.Layout(width="420px")
        )
        self.upload = w.FileUpload(accept=".jsonl,.json,.txt", multiple=False)
        self.inline = w.Textarea(
            value=examples_to_jsonl(examples) if examples else "",
            placeholder=INLINE_PLACEHOLDER,
            rows=5,
            layout=w.Layout(width="620px"),
        )
        self.summary = w.HTML()
        self.max_body_bytes = 0
        self.flag_html = w.HTML()
        self._inputs = w.Box()
        self._cache: tuple[Any, list[dict[str, Any]]] | None = None
        self.mode.observe(self._show_mode, names="value")
        self._show_mode()
        self.widget = w.VBox([self.mode, self._inputs, self.summary, self.flag_html])

    def _show_mode(self, _change: Any = None) -> None:
        child = {"File": self.path, "Upload": self.upload, "Inline": self.inline}[self.mode.value]
        self._inputs.children = [child]

    def examples(self) -> list[dict[str, Any]]:
        """The checked examples from the chosen source; ``ConfigError`` when unusable."""
        mode = self.mode.value
        if mode == "File":
            path = self.path.value.strip()
            if not path:
                raise ConfigError(FILE_FIELD, path, "a JSON Lines or pickle file path")
            p = Path(path).expanduser()
            stat = p.stat() if p.is_file() else None
            key = (mode, str(p), stat.st_mtime_ns if stat else None, stat.st_size if stat else 0)
            return self._cached(key, lambda: load_examples(p))
        if mode == "Upload":
            name, text = upload_text(self.upload.value)
            return self._cached((mode, name, text), lambda: parse_jsonl_text(text, name))
        text = self.inline.value
        if not text.strip():
            raise ConfigError(
                EXAMPLES_FIELD, "", "at least one JSON object per line, e.g. " + INLINE_PLACEHOLDER
            )
        return self._cached((mode, text), lambda: parse_jsonl_text(text))

    def _cached(self, key: Any, load: Callable[[], list[dict[str, Any]]]) -> list[dict[str, Any]]:
        if self._cache is None or self._cache[0] != key:
            self._cache = (key, load())
        return self._cache[1]

    def config_values(self) -> dict[str, Any]:
        """The config fields for the chosen source (a file path, or the examples inline)."""
        examples = self.examples()
        if self.mode.value == "File":
            return {
                FILE_FIELD: str(Path(self.path.value.strip()).expanduser()),
                EXAMPLES_FIELD: None,
            }
        return {FILE_FIELD: None, EXAMPLES_FIELD: examples}

    def refresh(self) -> ConfigError | None:
        """Update the summary and flag; the problem, or None when the payloads are fine."""
        try:
            examples = self.examples()
        except ConfigError as exc:
            self.summary.value = ""
            self.flag(str(exc))
            return exc
        except OSError as exc:
            self.summary.value = ""
            self.flag(str(exc))
            return ConfigError(FILE_FIELD, self.path.value, f"a readable file ({exc})")
        summary = summarize_examples(examples)
        self.max_body_bytes = summary["max_bytes"]
        self.summary.value = summary_html(summary)
        self.flag(None)
        return None

    def flag(self, message: str | None) -> None:
        """Show ``message`` under the payload inputs (or clear it)."""
        self.flag_html.value = flag_markup(message)

    def on_change(self, callback: Callable[[], None]) -> None:
        """Call ``callback()`` when the source or its content changes."""
        for widget in (self.mode, self.path, self.upload, self.inline):
            widget.observe(lambda _change: callback(), names="value")

    def set_disabled(self, disabled: bool) -> None:
        """Lock or unlock the inputs."""
        for widget in (self.mode, self.path, self.upload, self.inline):
            widget.disabled = disabled
