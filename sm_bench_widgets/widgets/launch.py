"""How a run is launched: in a background thread of this kernel, or as a Processing job."""

from __future__ import annotations

from collections.abc import Callable

import ipywidgets as w

THREAD = "Background thread"
PROCESSING_JOB = "Processing job"


class LaunchChoice:
    """The launch choice: a thread of this kernel, or a SageMaker Processing job."""

    def __init__(self) -> None:
        self.choice = w.ToggleButtons(
            options=[THREAD, PROCESSING_JOB],
            value=THREAD,
            tooltips=[
                "Runs in this kernel; other cells keep working while it goes on",
                "Runs as a SageMaker Processing job: it goes on without this kernel",
            ],
        )
        self.widget = w.HBox([w.HTML("<b>Launch in</b>&nbsp;"), self.choice])
        self.widget.add_class("smb-launch")

    @property
    def value(self) -> str:
        """The chosen launch mode."""
        return self.choice.value

    @value.setter
    def value(self, mode: str) -> None:
        self.choice.value = mode

    @property
    def job(self) -> bool:
        """Whether a Processing job is chosen."""
        return self.choice.value == PROCESSING_JOB

    def on_change(self, callback: Callable[[], None]) -> None:
        """Call ``callback()`` when the choice changes."""
        self.choice.observe(lambda _c: callback(), names="value")

    def set_disabled(self, disabled: bool) -> None:
        """Lock or unlock the choice."""
        self.choice.disabled = disabled
