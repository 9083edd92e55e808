"""Export buttons: CSV, Parquet, Excel and the HTML report, written into the result folder."""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

import ipywidgets as w

FORMATS = ("CSV", "Parquet", "Excel", "HTML report")


def result_folder(result: Any) -> Path:
    """Where exports of ``result`` go: its run directory, else a folder named after its run
    in the configured result folder (so exports of two runs never overwrite each other)."""
    if getattr(result, "run_dir", None) is not None:
        return Path(result.run_dir)
    return Path(result.config.result_save_path) / (getattr(result, "run_id", "") or "benchmark")


def export(result: Any, kind: str) -> list[Path]:
    """Write ``result`` as ``kind`` (one of ``FORMATS``) into its folder; the files written."""
    folder = result_folder(result)
    name = getattr(result, "run_id", "") or "benchmark"
    if kind == "CSV":
        return list(result.to_csv(folder / "csv").values())
    if kind == "Parquet":
        return list(result.to_parquet(folder / "parquet").values())
    if kind == "Excel":
        return [Path(result.to_excel(folder / f"{name}.xlsx"))]
    if kind == "HTML report":
        return [Path(result.to_html(folder / f"{name}-report.html"))]
    raise ValueError(f"kind={kind!r} is not allowed: one of {', '.join(FORMATS)}")


class ExportButtons:
    """One button per format; the paths written are listed below them."""

    def __init__(self) -> None:
        self.result: Any = None
        self.buttons = {kind: w.Button(description=kind, icon="download") for kind in FORMATS}
        self.paths = w.HTML()
        self.written: dict[str, list[Path]] = {}
        for kind, button in self.buttons.items():
            button.on_click(lambda _b, kind=kind: self.export(kind))
        self.widget = w.VBox(
            [w.HBox([w.HTML("<b>Export</b>&nbsp;"), *self.buttons.values()]), self.paths],
            layout=w.Layout(display="none"),
        )

    def bind(self, result: Any) -> None:
        """Export ``result`` from now on and show the buttons."""
        self.result = result
        self.written = {}
        self.paths.value = ""
        self.widget.layout.display = ""

    def hide(self) -> None:
        """Hide the buttons (a new run starts)."""
        self.result = None
        self.widget.layout.display = "none"

    def export(self, kind: str) -> list[Path]:
        """Write the bound result as ``kind``; errors are shown, not raised."""
        try:
            paths = export(self.result, kind)
        except Exception as exc:  # e.g. a missing optional package: say so next to the buttons
            self.paths.value = (
                f"<span style='color:#b00020'>{html.escape(kind)} export failed: "
                f"{html.escape(str(exc))}</span>"
            )
            return []
        self.written[kind] = paths
        items = "".join(
            f"<li><b>{html.escape(k)}</b>: "
            + ", ".join(f"<code>{html.escape(str(p))}</code>" for p in v)
            + "</li>"
            for k, v in self.written.items()
        )
        self.paths.value = f"<ul class='smb-exports'>{items}</ul>"
        return paths
