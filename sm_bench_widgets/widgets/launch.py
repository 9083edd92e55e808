"""How a run is launched: in a background thread of this kernel, or (later) a Processing job."""

from __future__ import annotations

import ipywidgets as w

THREAD = "Background thread"
PROCESSING_JOB = "Processing job"
JOB_TOOLTIP = "Comes with the Processing-job support"


class LaunchChoice:
    """The launch choice; only the background thread is available for now."""

    def __init__(self) -> None:
        self.thread = w.ToggleButtons(
            options=[THREAD],
            value=THREAD,
            tooltips=["Runs in this kernel; other cells keep working while it goes on"],
        )
        self.job = w.Button(
            description=PROCESSING_JOB, disabled=True, tooltip=JOB_TOOLTIP, icon="cloud"
        )
        self.widget = w.HBox([w.HTML("<b>Launch in</b>&nbsp;"), self.thread, self.job])

    @property
    def value(self) -> str:
        """The chosen launch mode."""
        return self.thread.value

    def set_disabled(self, disabled: bool) -> None:
        """Lock or unlock the choice."""
        self.thread.disabled = disabled
