"""Where the payload examples come from: JSON Lines pasted in, a file path or an upload.

The editor comes first and is the one place to look: a demo model's own samples are
filled in there (``fill``), and a user's model starts with it empty and a line saying what
to paste. Shows how many examples there are, their sizes and content types, and refuses
bodies over the 4 MB serverless limit (the checks of ``sm_bench_widgets.payloads``).
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

MODES = ("Inline", "File", "Upload")
MODE_LABELS = {"Inline": "Paste JSON Lines", "File": "File path", "Upload": "Upload a file"}
FORMAT_EXAMPLE = '{"Body": "1,2,3,4", "ContentType": "text/csv"}'
INLINE_PLACEHOLDER = (
    "Paste your model's payload examples here, one InvokeEndpoint request per line "
    "(format below), or pick a file with the buttons above."
)
FORMAT_HINT = (
    "<span class='smb-payload-format' style='color:#555'>One JSON object per line with the "
    f"request's Body and ContentType, e.g. <code>{html.escape(FORMAT_EXAMPLE)}</code>; "
    'binary bodies as <code>{"Body": {"base64": "..."}, ...}</code>.</span>'
)


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
        self.mode = w.ToggleButtons(
            options=[(MODE_LABELS[m], m) for m in MODES], value="File" if file else "Inline"
        )
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
        self.format_hint = w.HTML(FORMAT_HINT)
        self.note = w.HTML()
        self.summary = w.HTML()
        self.max_body_bytes = 0
        self.flag_html = w.HTML()
        self.missing = False
        self.filled_for: str | None = None  # the demo model whose samples fill the editor
        self._filled_text: str | None = None
        self._inputs = w.Box()
        self._cache: tuple[Any, list[dict[str, Any]]] | None = None
        self.mode.observe(self._show_mode, names="value")
        self._show_mode()
        self.widget = w.VBox(
            [self.mode, self._inputs, self.note, self.format_hint, self.summary, self.flag_html]
        )
        self.widget.add_class("smb-payloads")

    def _show_mode(self, _change: Any = None) -> None:
        child = {"File": self.path, "Upload": self.upload, "Inline": self.inline}[self.mode.value]
        self._inputs.children = [child]
        self.format_hint.layout.display = "" if self.mode.value == "Inline" else "none"

    @property
    def empty(self) -> bool:
        """Whether the chosen source holds nothing yet (no text, path or upload)."""
        if self.mode.value == "Inline":
            return not self.inline.value.strip()
        if self.mode.value == "File":
            return not self.path.value.strip()
        return not self.upload.value

    @property
    def untouched(self) -> bool:
        """Whether the user has given no payloads of their own (empty, or samples filled in)."""
        filled = self.mode.value == "Inline" and self.inline.value == self._filled_text
        return self.empty or filled

    def fill(self, examples: list[dict[str, Any]] | None, model: str | None = None) -> None:
        """Put a demo model's sample ``examples`` in the editor (None: take back samples
        filled in earlier); only while the user has given nothing of their own."""
        if not self.untouched:
            return
        if examples is None:
            if self._filled_text is not None and self.inline.value == self._filled_text:
                self.inline.value = ""
            self._filled_text = self.filled_for = None
            self.note.value = ""
            return
        text = examples_to_jsonl(examples)
        self._filled_text, self.filled_for = text, model
        self.mode.value = "Inline"
        self.inline.value = text
        self.note.value = (
            f"<span class='smb-payload-note' style='color:#555'>The sample payloads of "
            f"<b>{html.escape(model or 'the demo model')}</b>, filled in: run them as they "
            "are, or edit or replace them.</span>"
        )

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
                EXAMPLES_FIELD, "", "at least one JSON object per line, e.g. " + FORMAT_EXAMPLE
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
        """Update the summary and flag; the problem, or None when the payloads are fine.

        Nothing given yet is not flagged as an error: ``missing`` says so, and the panel's
        status line asks for payloads.
        """
        self.missing = self.empty
        if self._filled_text is not None and self.inline.value != self._filled_text:
            self.note.value = ""  # edited: no longer the samples as filled in
        try:
            examples = self.examples()
        except ConfigError as exc:
            self.summary.value = ""
            self.flag(None if self.missing else str(exc))
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
        """Show ``message`` under the payload inputs (or clear it); never for payloads not
        given yet, which are asked for, not flagged."""
        self.flag_html.value = "" if self.missing else flag_markup(message)

    def on_change(self, callback: Callable[[], None]) -> None:
        """Call ``callback()`` when the source or its content changes."""
        for widget in (self.mode, self.path, self.upload, self.inline):
            widget.observe(lambda _change: callback(), names="value")

    def set_disabled(self, disabled: bool) -> None:
        """Lock or unlock the inputs."""
        for widget in (self.mode, self.path, self.upload, self.inline):
            widget.disabled = disabled
