"""Progress of a run: one tqdm bar per phase in an Output widget, a status line, errors.

Bars are the notebook flavour of ``tqdm.auto`` (widgets), created without displaying them
and appended to the Output widget, so they can be made and moved from the refresher
thread. Errors are listed in the panel, never lost in a thread.
"""

from __future__ import annotations

import html
from typing import Any

import ipywidgets as w
from tqdm.notebook import tqdm as notebook_tqdm

from sm_bench_widgets import api

PHASE_TITLES = {
    "cold_start": "Cold starts",
    "stability": "Stability",
    "concurrency": "Concurrency",
}


class ProgressView:
    """Phase bars, the status line and the error list of one run."""

    def __init__(self) -> None:
        self.output = w.Output()
        self.status = w.HTML("<span class='smb-status'>Ready.</span>")
        self.errors_html = w.HTML()
        self.errors: list[str] = []
        self.bars: dict[str, Any] = {}
        self.counts: dict[str, int] = {}
        self.trials_done = 0
        self.trials_planned = 0
        self.current = ""
        self.widget = w.VBox([self.status, self.output, self.errors_html])

    def reset(self) -> None:
        """Clear bars, status and errors for a new run."""
        self.close_bars()
        self.output.outputs = ()
        self.bars, self.counts, self.errors = {}, {}, []
        self.trials_done = self.trials_planned = 0
        self.current = ""
        self.errors_html.value = ""

    def set_status(self, text: str) -> None:
        """Replace the status line."""
        self.status.value = f"<span class='smb-status'>{html.escape(text)}</span>"

    def add_error(self, message: str) -> None:
        """List one more error under the bars."""
        self.errors.append(message)
        items = "".join(f"<li>{html.escape(m)}</li>" for m in self.errors[-20:])
        self.errors_html.value = (
            f"<div class='smb-errors' style='color:#b00020'><b>Errors</b><ul>{items}</ul></div>"
        )

    def _bar(self, phase: str, total: int | None = None) -> Any:
        bar = self.bars.get(phase)
        if bar is None:
            bar = notebook_tqdm(
                total=total,
                desc=PHASE_TITLES.get(phase, phase),
                unit="inv",
                display=False,
                leave=True,
            )
            self._append(bar.container)
            self.bars[phase] = bar
            self.counts[phase] = 0
        return bar

    def _append(self, widget: w.Widget) -> None:
        """Add a widget to the Output (what ``append_display_data`` does, without IPython)."""
        bundle = widget._repr_mimebundle_()
        self.output.outputs += ({"output_type": "display_data", "data": bundle, "metadata": {}},)

    def apply(self, event: Any) -> None:
        """Move bars and status for one runner event."""
        if isinstance(event, api.RunStarted):
            self.trials_planned = len(event.trials)
            where = "the local emulator (emulated results)" if event.emulated else "AWS"
            self.set_status(f"Run {event.run_id} started on {where}.")
        elif isinstance(event, api.PhaseStarted):
            for phase in list(self.bars):
                if phase != event.phase:
                    self._finish(phase)
            self.current = event.phase
            bar = self._bar(event.phase, event.max_invocations)
            _set_total(bar, max(event.max_invocations, self.counts[event.phase]))
            self.trials_planned = max(self.trials_planned, self.trials_done + event.trials)
        elif isinstance(event, api.TrialStarted):
            self.set_status(
                f"{PHASE_TITLES.get(event.phase, event.phase)}: {event.memory_size} MB, "
                f"max concurrency {event.max_concurrency}, {event.clients} client(s) "
                f"on {event.endpoint_name} ({self.trials_done} of "
                f"{max(self.trials_planned, self.trials_done + 1)} trials done)"
            )
        elif isinstance(event, api.InvocationBatch):
            # cold-start probes belong to their trial: count them in the running phase
            phase = self.current or (event.rows[0].get("phase", "") if event.rows else "")
            n = len(event.rows)
            if phase and n:
                bar = self._bar(phase)
                self.counts[phase] += n
                if bar.total is not None and self.counts[phase] > bar.total:
                    _set_total(bar, self.counts[phase])
                bar.update(n)
        elif isinstance(event, api.TrialEnded):
            self.trials_done += 1
        elif isinstance(event, api.RunError):
            where = f" [{event.trial_id}]" if event.trial_id else ""
            self.add_error(("Fatal: " if event.fatal else "") + event.message + where)
        elif isinstance(event, api.RunEnded):
            self.close_bars()
            self.set_status(f"Run {event.status}. Results in {event.run_dir}")

    def _finish(self, phase: str) -> None:
        bar = self.bars.get(phase)
        if bar is not None and not bar.disable:
            _set_total(bar, self.counts.get(phase, 0))
            bar.close()

    def close_bars(self) -> None:
        """Finish every bar at the count reached (adaptive stopping ends below the total)."""
        for phase in list(self.bars):
            self._finish(phase)


def _set_total(bar: Any, total: int) -> None:
    """Change a notebook bar's total and its drawn maximum (tqdm moves only the text)."""
    bar.total = total
    bar.container.children[1].max = max(total, 1)
    bar.refresh()
