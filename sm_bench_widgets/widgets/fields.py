"""One form field: an input widget, how its value maps to a config value, and its flag.

Each field shows its problem right next to it (``flag``), so invalid combinations are
visible where they are.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from typing import Any

import ipywidgets as w
import traitlets

from sm_bench_widgets.config import MEMORY_SIZES, ConfigError

LABEL_WIDTH = "210px"


def flag_markup(message: str | None) -> str:
    """The HTML of a problem shown next to an input ('' for none)."""
    if not message:
        return ""
    return f"<span class='smb-flag' style='color:#b00020'>&#9888; {html.escape(message)}</span>"


class Field:
    """A labelled input whose value parses into one ``BenchmarkConfig`` field."""

    def __init__(
        self,
        name: str,
        label: str,
        widget: w.DOMWidget,
        parse: Callable[[Any], Any] = lambda v: v,
        show: Callable[[Any], Any] = lambda v: v,
        help_text: str = "",
    ):
        self.name = name
        self.widget = widget
        self._parse = parse
        self._show = show
        self.flag_html = w.HTML(layout=w.Layout(margin="0 0 0 8px"))
        label_widget = w.HTML(
            f"<span title='{html.escape(help_text or name)}'>{html.escape(label)}</span>",
            layout=w.Layout(width=LABEL_WIDTH),
        )
        self.box = w.HBox([label_widget, widget, self.flag_html])

    def get(self) -> Any:
        """The config value, or raise ``ConfigError`` naming this field when it cannot parse."""
        return self._parse(self.widget.value)

    def set(self, value: Any) -> None:
        """Show a config value in the widget."""
        self.widget.value = self._show(value)

    def flag(self, message: str | None) -> None:
        """Show ``message`` next to the field (or clear it)."""
        self.flag_html.value = flag_markup(message)

    @property
    def flagged(self) -> str:
        """The text currently flagged ('' when none)."""
        return self.flag_html.value

    def observe(self, callback: Callable[[Any], None]) -> None:
        """Call ``callback`` when the input changes."""
        self.widget.observe(callback, names="value")


class MemoryPicker(w.HBox):
    """Several memory sizes chosen by toggling one button per allowed size."""

    value = traitlets.List(traitlets.Int())

    def __init__(self, value: list[int]):
        self.buttons = {
            m: w.ToggleButton(
                value=m in value,
                description=f"{m // 1024} GB",
                tooltip=f"{m} MB",
                layout=w.Layout(width="62px"),
            )
            for m in MEMORY_SIZES
        }
        super().__init__(list(self.buttons.values()), value=sorted(value))
        for b in self.buttons.values():
            b.observe(self._toggled, names="value")

    def _toggled(self, _change: Any) -> None:
        self.value = [m for m, b in self.buttons.items() if b.value]

    @traitlets.observe("value")
    def _value_set(self, change: Any) -> None:
        for m, b in self.buttons.items():
            b.value = m in change["new"]


def parse_numbers(name: str, kind: type) -> Callable[[str], list[Any]]:
    """A parser of comma- or space-separated numbers for field ``name``."""

    def parse(text: str) -> list[Any]:
        items = [t for t in re.split(r"[,\s]+", text.strip()) if t]
        try:
            return [_number(t, kind) for t in items]
        except ValueError:
            what = "whole numbers" if kind is int else "numbers"
            raise ConfigError(name, text, f"{what} separated by commas, e.g. 2, 4, 8") from None

    return parse


def _number(text: str, kind: type) -> Any:
    value = float(text)
    if kind is int:
        if value != int(value):
            raise ValueError(text)
        return int(value)
    return int(value) if value == int(value) and "." not in text else value


def show_numbers(values: list[Any] | None) -> str:
    """Numbers as the comma-separated text the list fields use."""
    return ", ".join(f"{v:g}" if isinstance(v, float) else str(v) for v in values or [])


def parse_optional(name: str, kind: type) -> Callable[[str], Any]:
    """A parser of an optional number for field ``name``: blank means none."""

    def parse(text: str) -> Any:
        text = text.strip()
        if not text:
            return None
        try:
            return _number(text, kind)
        except ValueError:
            raise ConfigError(name, text, "a number, or blank for none") from None

    return parse


def show_optional(value: Any) -> str:
    """An optional number as text ('' for none)."""
    return "" if value is None else f"{value:g}" if isinstance(value, float) else str(value)
