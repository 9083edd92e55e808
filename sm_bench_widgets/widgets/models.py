"""The model picker: the account's SageMaker models newest first, searchable, free text too."""

from __future__ import annotations

import html
from collections.abc import Callable
from datetime import UTC, datetime

import ipywidgets as w

from sm_bench_widgets.aws.clients import Target
from sm_bench_widgets.widgets.fields import flag_markup


def list_model_names(target: Target, limit: int = 1000) -> list[str]:
    """Model names at ``target``, newest first (``ListModels`` by CreationTime, paginated).

    The pages are asked for newest first and sorted again here, for services that ignore
    the sort order (the emulator's control plane does); models created in the same instant
    come in name order from the end, so the first pick does not change between runs.
    """
    paginator = target.client("sagemaker").get_paginator("list_models")
    pages = paginator.paginate(
        SortBy="CreationTime",
        SortOrder="Descending",
        PaginationConfig={"MaxItems": limit, "PageSize": 100},
    )
    models = [m for page in pages for m in page.get("Models", [])]
    oldest = datetime.min.replace(tzinfo=UTC)
    models.sort(key=lambda m: (m.get("CreationTime") or oldest, m["ModelName"]), reverse=True)
    return [m["ModelName"] for m in models]


class ModelPicker:
    """A combobox of model names (typing any name works) with a refresh button."""

    def __init__(self, value: str = ""):
        self.combo = w.Combobox(
            value=value,
            options=[],
            ensure_option=False,
            placeholder="type or pick a SageMaker model name",
            layout=w.Layout(width="420px"),
        )
        self.refresh_button = w.Button(
            icon="refresh", tooltip="Reload the model list", layout=w.Layout(width="40px")
        )
        self.status = w.HTML()
        self.flag_html = w.HTML()
        self._target_fn: Callable[[], Target] | None = None
        self.refresh_button.on_click(lambda _b: self.refresh())
        self.widget = w.VBox(
            [w.HBox([self.combo, self.refresh_button, self.status]), self.flag_html]
        )

    @property
    def value(self) -> str:
        """The model name typed or picked."""
        return self.combo.value.strip()

    def bind(self, target_fn: Callable[[], Target]) -> None:
        """Use ``target_fn()`` to find the account whose models are listed."""
        self._target_fn = target_fn

    def refresh(self) -> list[str]:
        """Reload the list from the account; errors are shown, not raised."""
        if self._target_fn is None:
            return []
        try:
            names = list_model_names(self._target_fn())
        except Exception as exc:  # shown next to the picker; free text still works
            self.status.value = (
                f"<span style='color:#b00020'>could not list models: {html.escape(str(exc))}</span>"
            )
            return []
        self.combo.options = names
        if not self.combo.value and names:
            self.combo.value = names[0]
        self.status.value = f"<span style='color:#555'>{len(names)} model(s), newest first</span>"
        return names

    def flag(self, message: str | None) -> None:
        """Show ``message`` under the picker (or clear it)."""
        self.flag_html.value = flag_markup(message)

    def on_change(self, callback: Callable[[], None]) -> None:
        """Call ``callback()`` when the name changes."""
        self.combo.observe(lambda _change: callback(), names="value")

    def set_disabled(self, disabled: bool) -> None:
        """Lock or unlock the inputs."""
        self.combo.disabled = disabled
        self.refresh_button.disabled = disabled
